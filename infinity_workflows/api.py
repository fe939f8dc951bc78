"""One function per endpoint of the Infinity REST API, over a :class:`Transport`.

Each takes a :class:`~infinity_workflows.transport.Transport` (timeouts, retries, the token
kept out of URLs and messages) and returns the parsed JSON, or raises the
:class:`~infinity_workflows.errors.APIError` subclass for the status. Result URLs are signed
and need no token: :func:`download_result` fetches them through the transport's second
session, which never sends an ``Authorization`` header. infinity-core's names for the same
endpoints (raw responses) are here too, from :mod:`.core_api`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

from .core_api import *  # noqa: F403 - infinity-core's names, part of this module's surface
from .core_api import __all__ as _core_names
from .transport import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TokenAuth,
    Transport,
    batch_body,
    error_for,
    unreachable,
)
from .transport import iso as _iso
from .transport import segment as _segment

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "TokenAuth",
    "Transport",
    "cancel_batch",
    "cancel_job",
    "download_result",
    "estimate_batch",
    "get_api_schema",
    "get_batch",
    "get_batch_summary",
    "get_generator",
    "get_job_counts",
    "get_job_preview",
    "get_job_run",
    "list_batches",
    "list_generators",
    "list_job_previews",
    "list_job_runs",
    "submit_batch",
    *_core_names,
]


# -- endpoints ------------------------------------------------------------------------------

def list_generators(t: Transport) -> list[dict[str, Any]]:
    """GET api/jobs/: ``[{name, version, description, options}]``."""
    return t.request("GET", "api/jobs/")


def get_generator(t: Transport, name: str) -> dict[str, Any]:
    """GET api/jobs/{name}/: the generator with its ``params``."""
    return t.request("GET", f"api/jobs/{_segment(name)}/")


def submit_batch(t: Transport, *, name: str, generator: str,
                 job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                 idempotency_key: str) -> dict[str, Any]:
    """POST api/batch/. The same ``idempotency_key`` always yields the same one batch."""
    return t.request("POST", "api/batch/",
                     json=batch_body(name, generator, job_params, is_preview),
                     headers={"Idempotency-Key": idempotency_key})


def estimate_batch(t: Transport, *, generator: str, job_params: Sequence[Mapping[str, Any]],
                   is_preview: bool, name: str = "estimate") -> list[int]:
    """POST api/batch/estimate/: frames each job will render."""
    return t.request("POST", "api/batch/estimate/",
                     json=batch_body(name, generator, job_params, is_preview))


def list_batches(t: Transport, start_time: datetime, end_time: datetime
                 ) -> list[dict[str, Any]]:
    """GET api/batch/: ``[{id, name, created, num_jobs}]`` created in the window."""
    return t.request("GET", "api/batch/",
                     params={"start_time": _iso(start_time), "end_time": _iso(end_time)})


def get_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/."""
    return t.request("GET", f"api/batch/{_segment(batch_id)}/")


def get_batch_summary(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/summary/: status and a fresh signed ``result_url`` per job."""
    return t.request("GET", f"api/batch/{_segment(batch_id)}/summary/")


def cancel_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """POST api/batch/{id}/cancel/: ``{id, cancelled}``; a finished batch cancels 0 jobs."""
    return t.request("POST", f"api/batch/{_segment(batch_id)}/cancel/")


def cancel_job(t: Transport, job_id: str, is_preview: bool = False) -> dict[str, Any]:
    """POST api/job_runs/{id}/cancel/ (or api/job_previews/...): ``{id, cancelled}``."""
    kind = "job_previews" if is_preview else "job_runs"
    return t.request("POST", f"api/{kind}/{_segment(job_id)}/cancel/")


def list_job_runs(t: Transport, limit: int | None = None,
                   offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_runs/: this token's video jobs, oldest first; ``limit``/``offset`` page."""
    return t.request("GET", "api/job_runs/", params={"limit": limit, "offset": offset or None})


def get_job_run(t: Transport, job_id: str) -> dict[str, Any]:
    return t.request("GET", f"api/job_runs/{_segment(job_id)}/")


def list_job_previews(t: Transport, limit: int | None = None,
                       offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_previews/: this token's preview jobs, oldest first; ``limit``/``offset`` page."""
    return t.request("GET", "api/job_previews/", params={"limit": limit, "offset": offset or None})


def get_job_preview(t: Transport, job_id: str) -> dict[str, Any]:
    return t.request("GET", f"api/job_previews/{_segment(job_id)}/")


def get_job_counts(t: Transport, start_time: datetime, end_time: datetime) -> dict[str, Any]:
    """GET api/job_runs/counts/: samples rendered per generator in the window."""
    return t.request("GET", "api/job_runs/counts/",
                     params={"start_time": _iso(start_time), "end_time": _iso(end_time)})


def get_api_schema(t: Transport) -> dict[str, Any]:
    """GET api/schema/: the server's OpenAPI document."""
    return t.request("GET", "api/schema/")


def download_result(t: Transport, url: str, out: BinaryIO, *,
                    chunk_size: int = 1 << 20) -> int:
    """Stream the signed ``url`` into ``out`` without sending the token; returns bytes written.

    Raises the typed API error for an error status (an expired or tampered link is refused
    by the server) and :class:`ServerUnreachable` when the host does not answer.
    """
    host = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    path = urlsplit(url).path  # the signature lives in the query string: keep it out of messages
    try:
        with t.download_http.get(url, stream=True, timeout=t.timeout,
                                 headers={"Accept": "application/zip"}) as response:
            if not response.ok:
                raise error_for("GET", path, response)
            written = 0
            for chunk in response.iter_content(chunk_size=chunk_size):
                out.write(chunk)
                written += len(chunk)
            return written
    except requests.RequestException as exc:
        raise unreachable(host, exc, t.timeout) from None
