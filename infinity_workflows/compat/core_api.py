"""infinity-core's module-level API functions, as thin calls of our endpoint table.

Scripts and notebooks written for Infinity's toolkit call these by name (e.g. the demo's
``get_usage_datetime_range(token=, server=, start_time=, end_time=)`` and
``.json()`` on what it returns). Each keeps infinity-core's name, keywords and result: the
raw :class:`requests.Response`, whatever its status, for the caller to ``raise_for_status()``
or ``.json()``. Underneath they share our transport: the token is resolved as everywhere
else (argument, ``INFINITY_API_TOKEN``, credentials file) and sent only in the
``Authorization`` header, every call has a timeout and retries, no answer raises
:class:`~infinity_workflows.errors.ServerUnreachable`. :mod:`infinity_workflows.api`
re-exports them, so ``from infinity_workflows.api import get_usage_datetime_range`` works;
so does ``infinity_workflows.core_api``, this module's name before it moved here. Paths
and methods are the rows of :mod:`infinity_workflows.endpoints`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from inspect import Parameter, Signature
from typing import Any

import requests

from .. import endpoints as ep
from ..credentials import LOCAL_SERVER as DEFAULT_SERVER
from ..errors import ValidationError
from ..transport import batch_body, open_transport

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


def _send(token: str | None, server: str, endpoint: ep.Endpoint, *values: str,
          **kwargs: Any) -> requests.Response:
    with open_transport(server, token) as t:
        response = endpoint.send(t, *values, **kwargs)
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
    return _send(token, server, ep.GET_JOB_COUNTS, params=_window(start_time, end_time))


def get_usage_last_n_days(token: str | None = None, n_days: int = 30,
                          server: str = DEFAULT_SERVER) -> requests.Response:
    end = datetime.now().astimezone()
    return get_usage_datetime_range(token, end - timedelta(days=n_days), end, server)


def get_batch_list(token: str | None = None, start_time: datetime | None = None,
                   end_time: datetime | None = None,
                   server: str = DEFAULT_SERVER) -> requests.Response:
    """GET api/batch/: the token's batches created in the window."""
    return _send(token, server, ep.LIST_BATCHES, params=_window(start_time, end_time))


def _reader(name: str, endpoint: ep.Endpoint, id_keyword: str | None = None
            ) -> Callable[..., requests.Response]:
    """infinity-core's function ``name``, reading ``endpoint``: ``(token=None, server=)`` for
    a list, ``(token, <id_keyword>, server=)`` for one item, keywords as infinity-core named
    them (``help()`` and Jupyter show that signature)."""
    kind = Parameter.POSITIONAL_OR_KEYWORD
    signature = Signature([
        Parameter("token", kind, default=Parameter.empty if id_keyword else None,
                  annotation="str | None"),
        *([Parameter(id_keyword, kind, annotation="str")] if id_keyword else []),
        Parameter("server", kind, default=DEFAULT_SERVER, annotation="str"),
    ], return_annotation="requests.Response")

    def read(*args: Any, **kwargs: Any) -> requests.Response:
        given = signature.bind(*args, **kwargs)  # TypeError for a wrong call, as a def gives
        given.apply_defaults()
        values = [given.arguments[id_keyword]] if id_keyword else []
        return _send(given.arguments["token"], given.arguments["server"], endpoint, *values)

    read.__name__ = read.__qualname__ = name
    read.__signature__ = signature  # type: ignore[attr-defined]
    read.__doc__ = f"{endpoint}: {endpoint.returns} (the raw response)."
    return read


get_all_generator_data = _reader("get_all_generator_data", ep.LIST_GENERATORS)
get_single_generator_data = _reader("get_single_generator_data", ep.GET_GENERATOR,
                                    "generator_name")
get_batch_data = _reader("get_batch_data", ep.GET_BATCH, "batch_id")
get_batch_summary_data = _reader("get_batch_summary_data", ep.GET_BATCH_SUMMARY, "batch_id")
get_all_preview_job_data = _reader("get_all_preview_job_data", ep.LIST_JOB_PREVIEWS)
get_single_preview_job_data = _reader("get_single_preview_job_data", ep.GET_JOB_PREVIEW,
                                      "preview_id")
get_all_standard_job_data = _reader("get_all_standard_job_data", ep.LIST_JOB_RUNS)
get_single_standard_job_data = _reader("get_single_standard_job_data", ep.GET_JOB_RUN,
                                       "standard_job_id")


def _batch_request(generator: str, name: str, job_params: Sequence[Mapping[str, Any]],
                   is_preview: bool) -> dict[str, Any]:
    if not isinstance(job_params, list) or not all(isinstance(j, dict) for j in job_params):
        raise TypeError("job_params must be a list of dicts, one per job")
    if not job_params:
        raise ValidationError("job_params is empty: a batch needs at least one job")
    return batch_body(name or "", generator, job_params, is_preview)


def post_batch(token: str | None, generator: str, name: str,
               job_params: Sequence[Mapping[str, Any]], is_preview: bool,
               server: str = DEFAULT_SERVER) -> requests.Response:
    """POST api/batch/ (with a fresh Idempotency-Key, so the transport's retry of a lost
    answer never makes a second batch)."""
    return _send(token, server, ep.SUBMIT_BATCH,
                 json=_batch_request(generator, name, job_params, is_preview),
                 headers={"Idempotency-Key": str(uuid.uuid4())})


def estimate_batch_samples(token: str | None, generator: str, name: str,
                           job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                           server: str = DEFAULT_SERVER) -> requests.Response:
    """POST api/batch/estimate/: its JSON is the frames of each job."""
    return _send(token, server, ep.ESTIMATE_BATCH,
                 json=_batch_request(generator, name, job_params, is_preview))
