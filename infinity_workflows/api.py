"""One function per endpoint of the Infinity REST API, over a :class:`Transport`.

The endpoints themselves (method, path, what comes back) are the table in
:mod:`.endpoints`; each function here is a thin, typed call of one row. Each takes a
:class:`~infinity_workflows.transport.Transport` (timeouts, retries, the token kept out of
URLs and messages; :func:`open_transport` opens one from a server and a token) and returns
the parsed JSON, or raises the :class:`~infinity_workflows.errors.APIError` subclass for the
status. Result URLs are signed and need no token: :func:`download_result` fetches them
through the transport's second session, which never sends an ``Authorization`` header.
infinity-core's names for the same endpoints (raw responses) are here too, from
:mod:`.compat.core_api`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

from . import endpoints as ep
from .compat.core_api import *  # noqa: F403 - infinity-core's names, part of this surface
from .compat.core_api import __all__ as _core_names
from .cut_off import CutOff
from .errors import JobTimeout, ProtocolError
from .transport import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TokenAuth,
    Transport,
    batch_body,
    error_for,
    open_transport,
    unreachable,
)
from .transport import iso as _iso

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "ResultTooLarge",
    "TokenAuth",
    "Transport",
    "cancel_batch",
    "cancel_job",
    "delete_batch",
    "download_result",
    "estimate_batch",
    "get_api_schema",
    "get_batch",
    "get_batch_summary",
    "get_generator",
    "get_job_counts",
    "get_job_preview",
    "get_job_run",
    "get_storage",
    "list_batches",
    "list_generators",
    "list_job_previews",
    "list_job_runs",
    "open_transport",
    "submit_batch",
    *_core_names,
]


# -- endpoints: each a row of the table in endpoints.py ------------------------------------

def list_generators(t: Transport) -> list[dict[str, Any]]:
    """GET api/jobs/: ``[{name, version, description, options}]``."""
    return ep.LIST_GENERATORS.request(t)


def get_generator(t: Transport, name: str) -> dict[str, Any]:
    """GET api/jobs/{name}/: the generator with its ``params``."""
    return ep.GET_GENERATOR.request(t, name)


def submit_batch(t: Transport, *, name: str, generator: str,
                 job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                 idempotency_key: str) -> dict[str, Any]:
    """POST api/batch/. The same ``idempotency_key`` always yields the same one batch."""
    return ep.SUBMIT_BATCH.request(t, json=batch_body(name, generator, job_params, is_preview),
                                   headers={"Idempotency-Key": idempotency_key})


def estimate_batch(t: Transport, *, generator: str, job_params: Sequence[Mapping[str, Any]],
                   is_preview: bool, name: str = "estimate") -> list[int]:
    """POST api/batch/estimate/: frames each job will render."""
    return ep.ESTIMATE_BATCH.request(t, json=batch_body(name, generator, job_params,
                                                        is_preview))


def list_batches(t: Transport, start_time: datetime, end_time: datetime
                 ) -> list[dict[str, Any]]:
    """GET api/batch/: ``[{id, name, created, num_jobs}]`` created in the window."""
    return ep.LIST_BATCHES.request(t, params=_window(start_time, end_time))


def get_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/."""
    return ep.GET_BATCH.request(t, batch_id)


def get_batch_summary(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/summary/: status and a fresh signed ``result_url`` per job."""
    return ep.GET_BATCH_SUMMARY.request(t, batch_id)


def cancel_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """POST api/batch/{id}/cancel/: ``{id, cancelled}``; a finished batch cancels 0 jobs."""
    return ep.CANCEL_BATCH.request(t, batch_id)


def delete_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """DELETE api/batch/{id}/: ``{id, cancelled, removed, freed_bytes}``; the batch is then
    gone (a second delete is a NotFound)."""
    return ep.DELETE_BATCH.request(t, batch_id)


def get_storage(t: Transport) -> dict[str, Any]:
    """GET api/storage/: ``{batches: [{id, name, created, num_jobs, results, bytes}],
    total_bytes}`` of this token's results on the server, newest batch first."""
    return ep.GET_STORAGE.request(t)


def cancel_job(t: Transport, job_id: str, is_preview: bool = False) -> dict[str, Any]:
    """POST api/job_runs/{id}/cancel/ (or api/job_previews/...): ``{id, cancelled}``."""
    return (ep.CANCEL_JOB_PREVIEW if is_preview else ep.CANCEL_JOB_RUN).request(t, job_id)


def list_job_runs(t: Transport, limit: int | None = None,
                  offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_runs/: this token's video jobs, oldest first; ``limit``/``offset`` page."""
    return ep.LIST_JOB_RUNS.request(t, params=_page(limit, offset))


def get_job_run(t: Transport, job_id: str) -> dict[str, Any]:
    """GET api/job_runs/{id}/: one video job."""
    return ep.GET_JOB_RUN.request(t, job_id)


def list_job_previews(t: Transport, limit: int | None = None,
                      offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_previews/: this token's preview jobs, oldest first; ``limit``/``offset``
    page."""
    return ep.LIST_JOB_PREVIEWS.request(t, params=_page(limit, offset))


def get_job_preview(t: Transport, job_id: str) -> dict[str, Any]:
    """GET api/job_previews/{id}/: one preview job."""
    return ep.GET_JOB_PREVIEW.request(t, job_id)


def get_job_counts(t: Transport, start_time: datetime, end_time: datetime) -> dict[str, Any]:
    """GET api/job_runs/counts/: samples rendered per generator in the window."""
    return ep.GET_JOB_COUNTS.request(t, params=_window(start_time, end_time))


def get_api_schema(t: Transport) -> dict[str, Any]:
    """GET api/schema/: the server's OpenAPI document."""
    return ep.GET_API_SCHEMA.request(t)


def _window(start_time: datetime, end_time: datetime) -> dict[str, str]:
    return {"start_time": _iso(start_time), "end_time": _iso(end_time)}


def _page(limit: int | None, offset: int) -> dict[str, int | None]:
    return {"limit": limit, "offset": offset or None}


def download_result(t: Transport, url: str, out: BinaryIO, *, chunk_size: int = 1 << 20,
                    max_bytes: int | None = None, deadline: float | None = None) -> int:
    """Stream the signed ``url`` (a summary's ``result_url``, :data:`.endpoints.GET_RESULT`)
    into ``out`` without sending the token; returns bytes written.

    A hostile server cannot make it write or wait without end: past ``max_bytes`` (a
    ``Content-Length`` over it is refused before the body is read) it stops with
    :class:`ResultTooLarge` (a :class:`ProtocolError`), having written at most
    ``max_bytes``; at ``deadline`` (:func:`time.monotonic`) it stops with
    :class:`JobTimeout` however slowly the bytes arrive
    (:class:`~infinity_workflows.cut_off.CutOff`). An archive is never compressed again
    for the wire, so an answer with a ``Content-Encoding`` (a way to smuggle a decompression
    bomb past ``max_bytes``) is a ProtocolError too. Raises the typed API error for an error
    status (an expired or tampered link is refused by the server) and
    :class:`ServerUnreachable` when the host does not answer.
    """
    host = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    path = urlsplit(url).path  # the signature lives in the query string: keep it out of messages
    written = 0
    with CutOff(deadline) as cut_off:
        try:
            with t.download_http.get(url, stream=True, timeout=t.timeout,
                                     headers={"Accept": "application/zip",
                                              "Accept-Encoding": "identity"}) as response:
                if not response.ok:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise JobTimeout(f"GET {path}: answered {response.status_code} when "
                                         "its time had run out")  # after Retry-After waits
                    raise error_for("GET", path, response)
                _check_result_headers(response, path, max_bytes)
                for chunk in response.iter_content(chunk_size=chunk_size):
                    if max_bytes is not None and written + len(chunk) > max_bytes:
                        raise ResultTooLarge(path, f"the archive went on past {max_bytes:,} "
                                             "bytes")
                    out.write(chunk)
                    written += len(chunk)
        except requests.RequestException as exc:
            if not cut_off.fired:
                raise unreachable(host, exc, t.timeout) from None
    if cut_off.fired:  # a cut connection may also look like a normal end of the body
        raise JobTimeout(f"GET {path}: the result was still arriving when its time ran out "
                         f"({written:,} bytes received)")
    return written


def _check_result_headers(response: requests.Response, path: str,
                          max_bytes: int | None) -> None:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProtocolError(f"GET {path}: the result came compressed for the wire "
                            f"(Content-Encoding: {encoding[:40]}), which an archive never is")
    declared = response.headers.get("Content-Length", "").strip()
    if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ResultTooLarge(path, f"the archive is {int(declared):,} bytes (its "
                             "Content-Length)")


class ResultTooLarge(ProtocolError):
    """A result bigger than :func:`download_result` was told to accept; ``found`` says
    what was seen."""

    def __init__(self, path: str, found: str) -> None:
        super().__init__(f"GET {path}: {found}")
        self.found = found
