"""Jobs one at a time: standard (video) jobs under ``api/job_runs/``, previews under
``api/job_previews/``, and how many frames a token's jobs rendered.

Both kinds answer the same three routes (list, one job, cancel one). :data:`KINDS` says what
tells the kinds apart and :data:`OPERATIONS` what each route does; every route is made from
the two tables, so the kinds cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..dependencies import DispatcherDep, ResultLinks, StoreDep, TokenId
from ..job_json import job_json, jobs_json
from ..models import Cancelled, CountsOut, JobRunDetail
from ..rows import JobRow, utc_now, utc_text
from ..store import Store
from .common import ERRORS, ERRORS_404, json_answer, json_text_answer, not_found
from .time_window import WindowEnd, WindowStart, utc

__all__ = ["KINDS", "OPERATIONS", "JobKind", "Operation", "router"]

router = APIRouter(prefix="/api", tags=["jobs"], responses=ERRORS)

Limit = Annotated[int | None, Query(
    ge=1, le=10_000, description="At most this many jobs (1 to 10,000); default: all")]
Offset = Annotated[int, Query(ge=0, le=2**53, description="Skip this many jobs first")]


@dataclass(frozen=True)
class JobKind:
    """What tells one kind of job's routes from the other's."""

    path: str  # the routes' folder under api/
    is_preview: bool
    name: str  # one job's route name; the list is list_<name>s, the cancel cancel_<name>
    noun: str  # one job, as the documentation names it
    refusal_noun: str  # one job, as a 404 names it


KINDS = (
    JobKind("job_runs", is_preview=False, name="job_run", noun="standard (video) job",
            refusal_noun="job"),
    JobKind("job_previews", is_preview=True, name="job_preview", noun="preview job",
            refusal_noun="preview job"),
)


def _own_job(store: Store, token_id: int, kind: JobKind, job_id: uuid.UUID) -> JobRow:
    """The token's job of this kind; the other kind's ids answer 404 like unknown ones."""
    row = store.batches.job(token_id, str(job_id))
    if row is None or bool(row.is_preview) != kind.is_preview:
        raise not_found(kind.refusal_noun, str(job_id))
    return row


# Each makes one kind's handler; FastAPI reads the handler's parameters as usual.
def _list_handler(kind: JobKind) -> Callable[..., Response]:
    def handler(store: StoreDep, token_id: TokenId, links: ResultLinks, limit: Limit = None,
                offset: Offset = 0) -> Response:
        rows = store.batches.token_jobs(token_id, kind.is_preview, limit=limit, offset=offset)
        return json_text_answer(jobs_json(rows, "full", links))
    return handler


def _one_handler(kind: JobKind) -> Callable[..., Response]:
    def handler(job_id: uuid.UUID, store: StoreDep, token_id: TokenId,
                links: ResultLinks) -> Response:
        return json_text_answer(job_json(_own_job(store, token_id, kind, job_id), "full",
                                         links))
    return handler


def _cancel_handler(kind: JobKind) -> Callable[..., Response]:
    def handler(job_id: uuid.UUID, store: StoreDep, dispatcher: DispatcherDep,
                token_id: TokenId) -> Response:
        row = _own_job(store, token_id, kind, job_id)
        cancelled = store.queue.cancel(token_id, job_id=row.id)
        dispatcher.wake()
        return json_answer({"id": row.id, "cancelled": cancelled})
    return handler


@dataclass(frozen=True)
class Operation:
    """One route every kind has; ``{name}`` and ``{noun}`` stand for the kind's."""

    method: str
    path: str  # after the kind's folder
    name: str
    doc: str
    response_model: Any
    handler: Callable[[JobKind], Callable[..., Response]]
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)


OPERATIONS = (
    Operation("GET", "/", "list_{name}s",
              "This token's {noun}s, oldest first; ``limit``/``offset`` page them.",
              list[JobRunDetail], _list_handler),
    Operation("GET", "/{job_id}/", "{name}", "One {noun}.", JobRunDetail, _one_handler,
              ERRORS_404),
    Operation("POST", "/{job_id}/cancel/", "cancel_{name}",
              "Cancel one {noun} if it is queued or running.", Cancelled, _cancel_handler,
              ERRORS_404),
)


# Added before the table's routes: job_runs/{job_id}/ would otherwise take "counts" for an id.
@router.get("/job_runs/counts/", response_model=CountsOut)
def usage_counts(store: StoreDep, token_id: TokenId, start_time: WindowStart = None,
                 end_time: WindowEnd = None) -> Response:
    """Frames rendered by this token's jobs that succeeded in the window, per generator."""
    start = utc(start_time) or datetime(1970, 1, 1, tzinfo=timezone.utc)
    end = utc(end_time) or utc_now()
    by_generator: dict[str, dict[str, Any]] = {}
    for generator, is_preview, frames in store.batches.rendered_counts(
            token_id, utc_text(start), utc_text(end)):
        entry = by_generator.setdefault(generator, {
            "generator": generator, "preview_samples_rendered": 0,
            "non_preview_samples_rendered": 0})
        key = "preview_samples_rendered" if is_preview else "non_preview_samples_rendered"
        entry[key] += frames
    return json_answer({"start_time": utc_text(start), "end_time": utc_text(end),
                        "counts_by_generator": list(by_generator.values())})


def _add_kind_routes() -> None:
    """Every operation of every kind, in table order."""
    for kind in KINDS:
        for operation in OPERATIONS:
            name = operation.name.format(name=kind.name)
            handler = operation.handler(kind)
            handler.__name__ = handler.__qualname__ = name  # for tracebacks and logs
            router.add_api_route(
                f"/{kind.path}{operation.path}", handler, methods=[operation.method],
                name=name, description=operation.doc.format(noun=kind.noun),
                response_model=operation.response_model, responses=operation.responses)


_add_kind_routes()
