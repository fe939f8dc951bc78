"""One encoder for every job the API answers with.

A job appears in four shapes (the answer to a submission, a batch's detail, its summary and
the job endpoints); each is a :data:`VIEWS` entry naming the fields it shows, and every field
is derived in one place. Parameters are stored as JSON text and spliced in as they are: a
10,000-job answer never parses and re-encodes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .rows import ACTIVE_STATUSES

__all__ = ["VIEWS", "Link", "job_json", "jobs_json", "with_jobs"]

Link = Callable[[str], str]  # job id -> a fresh signed result link

_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode

# field -> how it is read from a store row (JobRow, or JobStatusRow for summaries)
_FIELDS: dict[str, Callable[[Any, Link | None], Any]] = {
    "id": lambda job, link: job.id,
    "name": lambda job, link: job.generator,
    "batch_id": lambda job, link: job.batch_id,
    "is_preview": lambda job, link: bool(job.is_preview),
    "in_progress": lambda job, link: job.status in ACTIVE_STATUSES,
    "status": lambda job, link: job.status,
    "result_url": lambda job, link: link(job.id) if link and job.status == "succeeded"
    else None,
    "error": lambda job, link: job.error,
    "worker": lambda job, link: job.worker,
    "created": lambda job, link: job.created,
    "start_time": lambda job, link: job.start_time,
    "end_time": lambda job, link: job.end_time,
}
PARAMS = "param_values"  # spliced from the row's stored JSON text, always last

VIEWS: dict[str, tuple[str, ...]] = {
    "created": ("id", "name", "is_preview", "in_progress", "result_url", PARAMS),
    "detail": ("id", "name", "is_preview", PARAMS),
    "summary": ("id", "name", "in_progress", "status", "result_url", "error", "worker"),
    "full": ("id", "name", "batch_id", "is_preview", "in_progress", "status", "result_url",
             "error", "worker", "created", "start_time", "end_time", PARAMS),
}


def job_json(job: Any, view: str, link: Link | None = None) -> str:
    """``job`` (a store row) as the JSON object ``view`` shows."""
    fields = VIEWS[view]
    text = _encode({f: _FIELDS[f](job, link) for f in fields if f != PARAMS})
    if fields[-1] == PARAMS:
        text = f'{text[:-1]},"{PARAMS}":{job.params}}}'
    return text


def jobs_json(jobs: Iterable[Any], view: str, link: Link | None = None) -> str:
    return "[" + ",".join(job_json(job, view, link) for job in jobs) + "]"


def with_jobs(head: Mapping[str, Any], jobs_text: str) -> str:
    """``head`` with a ``job_runs`` list already encoded."""
    return f'{_encode(dict(head))[:-1]},"job_runs":{jobs_text}}}'
