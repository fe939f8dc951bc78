"""infinity-core's module-level API functions, as thin calls over :class:`Transport`.

Scripts and notebooks written for Infinity's toolkit call these by name (e.g. the demo's
``get_usage_datetime_range(token=, server=, start_time=, end_time=)`` and
``.json()`` on what it returns). Each keeps infinity-core's name, keywords and result: the
raw :class:`requests.Response`, whatever its status, for the caller to ``raise_for_status()``
or ``.json()``. Underneath they share our transport: the token is resolved as everywhere
else (argument, ``INFINITY_API_TOKEN``, credentials file) and sent only in the
``Authorization`` header, every call has a timeout and retries, no answer raises
:class:`~infinity_workflows.errors.ServerUnreachable`. :mod:`infinity_workflows.api`
re-exports them, so ``from infinity_workflows.api import get_usage_datetime_range`` works.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests

from . import transport
from .credentials import LOCAL_SERVER as DEFAULT_SERVER
from .credentials import normalise_server, resolve_token
from .errors import ValidationError

__all__ = [
    "estimate_batch_samples",
    "get_all_generator_data",
    "get_all_preview_job_data",
    "get_all_standard_job_data",
    "get_batch_data",
    "get_batch_list",
    "get_batch_summary_data",
    "get_single_generator_data",
    "get_single_preview_job_data",
    "get_single_standard_job_data",
    "get_usage_datetime_range",
    "get_usage_last_n_days",
    "post_batch",
]


def _send(token: str | None, server: str, method: str, path: str, **kwargs: Any
          ) -> requests.Response:
    server = normalise_server(server)
    with transport.Transport(server, resolve_token(token, server)) as t:
        response = t.send(method, path, **kwargs)
        response.content  # noqa: B018 - read the body before the session closes
        return response


def _window(start_time: datetime | None, end_time: datetime | None) -> dict[str, str]:
    """Query parameters for a time window; naive times are local time, as infinity-core
    reads them."""
    if start_time is not None and end_time is not None and end_time < start_time:
        raise ValidationError(f"end time ({end_time}) is before start time ({start_time})")
    return {key: (moment if moment.tzinfo else moment.astimezone()).isoformat()
            for key, moment in (("start_time", start_time), ("end_time", end_time))
            if moment is not None}


def get_usage_datetime_range(token: str | None = None, start_time: datetime | None = None,
                             end_time: datetime | None = None,
                             server: str = DEFAULT_SERVER) -> requests.Response:
    """GET api/job_runs/counts/: samples rendered per generator in the window."""
    return _send(token, server, "GET", "api/job_runs/counts/",
                 params=_window(start_time, end_time))


def get_usage_last_n_days(token: str | None = None, n_days: int = 30,
                          server: str = DEFAULT_SERVER) -> requests.Response:
    end = datetime.now().astimezone()
    return get_usage_datetime_range(token, end - timedelta(days=n_days), end, server)


def get_batch_list(token: str | None = None, start_time: datetime | None = None,
                   end_time: datetime | None = None,
                   server: str = DEFAULT_SERVER) -> requests.Response:
    """GET api/batch/: the token's batches created in the window."""
    return _send(token, server, "GET", "api/batch/", params=_window(start_time, end_time))


def get_batch_data(token: str | None, batch_id: str, server: str = DEFAULT_SERVER
                   ) -> requests.Response:
    return _send(token, server, "GET", f"api/batch/{transport.segment(batch_id)}/")


def get_batch_summary_data(token: str | None, batch_id: str, server: str = DEFAULT_SERVER
                           ) -> requests.Response:
    return _send(token, server, "GET", f"api/batch/{transport.segment(batch_id)}/summary/")


def get_all_generator_data(token: str | None = None, server: str = DEFAULT_SERVER
                           ) -> requests.Response:
    return _send(token, server, "GET", "api/jobs/")


def get_single_generator_data(token: str | None, generator_name: str,
                              server: str = DEFAULT_SERVER) -> requests.Response:
    return _send(token, server, "GET", f"api/jobs/{transport.segment(generator_name)}/")


def get_all_preview_job_data(token: str | None = None, server: str = DEFAULT_SERVER
                             ) -> requests.Response:
    return _send(token, server, "GET", "api/job_previews/")


def get_single_preview_job_data(token: str | None, preview_id: str,
                                server: str = DEFAULT_SERVER) -> requests.Response:
    return _send(token, server, "GET", f"api/job_previews/{transport.segment(preview_id)}/")


def get_all_standard_job_data(token: str | None = None, server: str = DEFAULT_SERVER
                              ) -> requests.Response:
    return _send(token, server, "GET", "api/job_runs/")


def get_single_standard_job_data(token: str | None, standard_job_id: str,
                                 server: str = DEFAULT_SERVER) -> requests.Response:
    return _send(token, server, "GET", f"api/job_runs/{transport.segment(standard_job_id)}/")


def _batch_request(generator: str, name: str, job_params: Sequence[Mapping[str, Any]],
                   is_preview: bool) -> dict[str, Any]:
    if not isinstance(job_params, list) or not all(isinstance(j, dict) for j in job_params):
        raise TypeError("job_params must be a list of dicts, one per job")
    if not job_params:
        raise ValidationError("job_params is empty: a batch needs at least one job")
    return transport.batch_body(name or "", generator, job_params, is_preview)


def post_batch(token: str | None, generator: str, name: str,
               job_params: Sequence[Mapping[str, Any]], is_preview: bool,
               server: str = DEFAULT_SERVER) -> requests.Response:
    """POST api/batch/ (with a fresh Idempotency-Key, so the transport's retry of a lost
    answer never makes a second batch)."""
    return _send(token, server, "POST", "api/batch/",
                 json=_batch_request(generator, name, job_params, is_preview),
                 headers={"Idempotency-Key": str(uuid.uuid4())})


def estimate_batch_samples(token: str | None, generator: str, name: str,
                           job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                           server: str = DEFAULT_SERVER) -> requests.Response:
    """POST api/batch/estimate/: its JSON is the frames of each job."""
    return _send(token, server, "POST", "api/batch/estimate/",
                 json=_batch_request(generator, name, job_params, is_preview))
