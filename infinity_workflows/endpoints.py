"""The Infinity REST API, one row per endpoint: method, path template and what it returns.

Every call the client makes goes through a row of this table: our functions
(:mod:`infinity_workflows.api`, parsed JSON and typed errors) and infinity-core's names
(:mod:`infinity_workflows.compat.core_api`, raw responses) are thin wrappers over it, so a
path is written once. A ``{field}`` of a path is one path segment, quoted, so an id or a name
can never change the path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .transport import segment

if TYPE_CHECKING:
    import requests

    from .transport import Transport

__all__ = [
    "CANCEL_BATCH",
    "CANCEL_JOB_PREVIEW",
    "CANCEL_JOB_RUN",
    "DELETE_BATCH",
    "ENDPOINTS",
    "ESTIMATE_BATCH",
    "GET_API_SCHEMA",
    "GET_BATCH",
    "GET_BATCH_SUMMARY",
    "GET_GENERATOR",
    "GET_JOB_COUNTS",
    "GET_JOB_PREVIEW",
    "GET_JOB_RUN",
    "GET_RESULT",
    "GET_STORAGE",
    "LIST_BATCHES",
    "LIST_GENERATORS",
    "LIST_JOB_PREVIEWS",
    "LIST_JOB_RUNS",
    "SUBMIT_BATCH",
    "Endpoint",
]

_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint; ``query`` names the query parameters it reads."""

    method: str
    path: str
    returns: str
    query: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def fields(self) -> list[str]:
        return _FIELD.findall(self.path)

    def path_for(self, *values: str) -> str:
        """The path with its fields filled in order, each value one quoted segment."""
        if len(values) != len(self.fields):
            raise TypeError(f"{self} takes {len(self.fields)} path value(s) "
                            f"({', '.join(self.fields) or 'none'}), got {len(values)}")
        return self.path.format_map({name: segment(value)
                                     for name, value in zip(self.fields, values, strict=True)})

    def send(self, t: Transport, *values: str, params: Mapping[str, Any] | None = None,
             json: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """The raw response, whatever its status (infinity-core's way)."""
        return t.send(self.method, self.path_for(*values), params=params, json=json,
                      headers=headers)

    def request(self, t: Transport, *values: str, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """The parsed JSON body, or the typed error for the status (our way)."""
        return t.request(self.method, self.path_for(*values), params=params, json=json,
                         headers=headers)


_WINDOW = ("start_time", "end_time")
_PAGE = ("limit", "offset")

LIST_GENERATORS = Endpoint("GET", "api/jobs/", "[{name, version, description, options}]")
GET_GENERATOR = Endpoint("GET", "api/jobs/{name}/",
                         "the generator: {name, version, description, options, params, ...}")
SUBMIT_BATCH = Endpoint("POST", "api/batch/",
                        "the new batch: {id, name, created, job_runs}; the same Idempotency-Key"
                        " header always yields the same one batch")
ESTIMATE_BATCH = Endpoint("POST", "api/batch/estimate/", "[frames each job will render]")
LIST_BATCHES = Endpoint("GET", "api/batch/", "[{id, name, created, num_jobs}] created in the "
                        "window", _WINDOW)
GET_BATCH = Endpoint("GET", "api/batch/{batch_id}/", "the batch: {id, name, created, job_runs}")
GET_BATCH_SUMMARY = Endpoint("GET", "api/batch/{batch_id}/summary/",
                             "{id, name, job_runs: [{id, in_progress, status, result_url, "
                             "error, ...}]}, with a fresh signed result_url per job")
CANCEL_BATCH = Endpoint("POST", "api/batch/{batch_id}/cancel/",
                        "{id, cancelled}; a finished batch cancels 0 jobs")
DELETE_BATCH = Endpoint("DELETE", "api/batch/{batch_id}/",
                        "{id, cancelled, removed, freed_bytes}: unfinished jobs cancelled, "
                        "results removed; the batch is then gone (404)")
GET_STORAGE = Endpoint("GET", "api/storage/", "{batches: [{id, name, created, num_jobs, "
                       "results, bytes}], total_bytes}: this token's results on the server")
CANCEL_JOB_RUN = Endpoint("POST", "api/job_runs/{job_id}/cancel/", "{id, cancelled}")
CANCEL_JOB_PREVIEW = Endpoint("POST", "api/job_previews/{job_id}/cancel/", "{id, cancelled}")
LIST_JOB_RUNS = Endpoint("GET", "api/job_runs/", "this token's video jobs, oldest first",
                         _PAGE)
GET_JOB_RUN = Endpoint("GET", "api/job_runs/{job_id}/", "one video job")
LIST_JOB_PREVIEWS = Endpoint("GET", "api/job_previews/", "this token's preview jobs, oldest "
                             "first", _PAGE)
GET_JOB_PREVIEW = Endpoint("GET", "api/job_previews/{job_id}/", "one preview job")
GET_JOB_COUNTS = Endpoint("GET", "api/job_runs/counts/", "samples rendered per generator in "
                          "the window", _WINDOW)
GET_API_SCHEMA = Endpoint("GET", "api/schema/", "the server's OpenAPI document")
# Reached only by the signed ``result_url`` a summary gives (it needs no token and carries
# its signature in the query): api.download_result follows that URL, never this template.
GET_RESULT = Endpoint("GET", "api/results/{job_id}/", "the job's zip archive")

ENDPOINTS: tuple[Endpoint, ...] = (
    LIST_GENERATORS, GET_GENERATOR, SUBMIT_BATCH, ESTIMATE_BATCH, LIST_BATCHES, GET_BATCH,
    GET_BATCH_SUMMARY, CANCEL_BATCH, DELETE_BATCH, GET_STORAGE, CANCEL_JOB_RUN,
    CANCEL_JOB_PREVIEW, LIST_JOB_RUNS, GET_JOB_RUN, LIST_JOB_PREVIEWS, GET_JOB_PREVIEW,
    GET_JOB_COUNTS, GET_API_SCHEMA, GET_RESULT,
)
