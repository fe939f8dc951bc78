"""``api/batch/``: submit a batch (or estimate one), list a token's batches, and read, follow,
cancel or delete one of them; ``api/storage/``: the disk a token's batches take."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import Response

from ..dependencies import DispatcherDep, Granted, ResultLinks, SettingsDep, StoreDep, TokenId
from ..housekeeping import batch_usage, delete_batch
from ..http_errors import ErrorBody, RequestRefused, error_item
from ..job_json import jobs_json, with_jobs
from ..models import (
    BatchCreated,
    BatchDeleted,
    BatchDetail,
    BatchIn,
    BatchListItem,
    BatchSummary,
    Cancelled,
    Storage,
)
from ..rows import BatchRow, JobRow, utc_now, utc_text
from ..store import Store
from ..submission import prepare_batch, request_fingerprint
from .common import ERRORS, ERRORS_404, json_answer, json_text_answer, not_found
from .time_window import WindowEnd, WindowStart, utc

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["batches"], responses=ERRORS)

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Repeat a submission safely: the same key returns the batch first made "
                "with it.")]


def _batch_head(batch: BatchRow) -> dict[str, Any]:
    return {"id": batch.id, "name": batch.name, "created": batch.created}


def _own_batch(store: Store, token_id: int, batch_id: uuid.UUID) -> BatchRow:
    batch = store.batches.get(token_id, str(batch_id))
    if batch is None:
        raise not_found("batch", str(batch_id))
    return batch


@router.post("/batch/", status_code=201, response_model=BatchCreated,
             responses={409: {"model": ErrorBody,
                              "description": "Idempotency-Key reused for another batch."}})
def submit_batch(body: BatchIn, store: StoreDep, settings: SettingsDep,
                 dispatcher: DispatcherDep, token_id: TokenId, generators: Granted,
                 idempotency_key: IdempotencyKey = None) -> Response:
    """Submit a batch: validated whole, stored whole, queued in order."""
    fingerprint = request_fingerprint(body) if idempotency_key else None
    if idempotency_key:
        earlier = store.batches.for_key(token_id, idempotency_key)
        if earlier is not None:
            return _repeat(store, token_id, idempotency_key, earlier, fingerprint)
    prepared = prepare_batch(body, token_id=token_id, registry=generators, store=store,
                             max_jobs=settings.max_jobs_per_batch)
    batch_id = str(uuid.uuid4())
    created = utc_text(utc_now())
    try:
        store.batches.insert(
            batch_id=batch_id, token_id=token_id, name=body.name,
            generator=prepared.generator.name, is_preview=prepared.is_preview, created=created,
            jobs=[j.to_new_job() for j in prepared.jobs], idempotency_key=idempotency_key,
            request_hash=fingerprint)
    except sqlite3.IntegrityError:
        # The same key arrived twice at once and the other request stored its batch first.
        earlier = store.batches.for_key(token_id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _repeat(store, token_id, idempotency_key, earlier, fingerprint)
    dispatcher.wake()
    rows = (JobRow(j.id, batch_id, prepared.generator.name, prepared.is_preview,
                   j.params_json, "queued", None, None, created, None, None)
            for j in prepared.jobs)
    return json_text_answer(with_jobs({"id": batch_id, "name": body.name, "created": created},
                                      jobs_json(rows, "created")), status=201)


def _repeat(store: Store, token_id: int, key: str, earlier: tuple[str, str],
            fingerprint: str | None) -> Response:
    batch_id, first_fingerprint = earlier
    if first_fingerprint != fingerprint:
        raise RequestRefused(409, f"the Idempotency-Key {key!r} was already used for a "
                             f"different batch ({batch_id}); use a new key for a new batch",
                             [error_item("idempotency_key_reused", "different body, same key",
                                         None, "Idempotency-Key")])
    batch = store.batches.get(token_id, batch_id)
    assert batch is not None
    # Answered as the first time, except that its jobs' progress is today's.
    return json_text_answer(with_jobs(_batch_head(batch),
                                      jobs_json(store.batches.jobs(batch_id), "created")), 201)


@router.post("/batch/estimate/", response_model=list[int])
def estimate_batch(body: BatchIn, store: StoreDep, settings: SettingsDep, token_id: TokenId,
                   generators: Granted) -> Response:
    """Frames each job would render (1 for a preview), checked like a submission."""
    prepared = prepare_batch(body, token_id=token_id, registry=generators, store=store,
                             max_jobs=settings.max_jobs_per_batch)
    return json_answer([j.frames for j in prepared.jobs])


@router.get("/batch/", response_model=list[BatchListItem])
def list_batches(store: StoreDep, token_id: TokenId, start_time: WindowStart = None,
                 end_time: WindowEnd = None) -> Response:
    """This token's batches created in the window (all when no window is given)."""
    start, end = utc(start_time), utc(end_time)
    rows = store.batches.of_token(token_id, utc_text(start) if start else None,
                         utc_text(end) if end else None)
    return json_answer([{**_batch_head(b), "num_jobs": b.num_jobs} for b in rows])


@router.get("/batch/{batch_id}/", response_model=BatchDetail, responses=ERRORS_404)
def batch_detail(batch_id: uuid.UUID, store: StoreDep, token_id: TokenId) -> Response:
    """A batch with every job's complete parameters."""
    batch = _own_batch(store, token_id, batch_id)
    return json_text_answer(with_jobs(_batch_head(batch),
                                      jobs_json(store.batches.jobs(batch.id), "detail")))


@router.post("/batch/{batch_id}/cancel/", response_model=Cancelled, responses=ERRORS_404)
def cancel_batch(batch_id: uuid.UUID, store: StoreDep, dispatcher: DispatcherDep,
                 token_id: TokenId) -> Response:
    """Cancel the batch's queued jobs and stop its running ones (within seconds); finished
    jobs keep their results. Cancelling a finished batch changes nothing."""
    batch = _own_batch(store, token_id, batch_id)
    cancelled = store.queue.cancel(token_id, batch_id=batch.id)
    dispatcher.wake()
    return json_answer({"id": batch.id, "cancelled": cancelled})


@router.get("/batch/{batch_id}/summary/", response_model=BatchSummary, responses=ERRORS_404)
def batch_summary(batch_id: uuid.UUID, store: StoreDep, token_id: TokenId,
                  links: ResultLinks) -> Response:
    """Status of every job; a fresh signed ``result_url`` for each that succeeded."""
    batch = _own_batch(store, token_id, batch_id)
    return json_text_answer(with_jobs({"id": batch.id}, jobs_json(
        store.batches.statuses(batch.id), "summary", links)))


@router.delete("/batch/{batch_id}/", response_model=BatchDeleted, responses=ERRORS_404)
def delete_batch_route(batch_id: uuid.UUID, store: StoreDep, settings: SettingsDep,
                       dispatcher: DispatcherDep, token_id: TokenId) -> Response:
    """Delete a batch: its unfinished jobs are cancelled, then its results are removed from
    the server's disk (nothing of any other batch). The batch is gone from then on: asking
    for it, or deleting it again, answers 404; its result links stop working."""
    done = delete_batch(store, settings.home.results, token_id, str(batch_id))
    if done is None:
        raise not_found("batch", str(batch_id))
    dispatcher.wake()
    return json_answer(dataclasses.asdict(done))


@router.get("/storage/", response_model=Storage)
def storage(store: StoreDep, settings: SettingsDep, token_id: TokenId) -> Response:
    """The server's disk taken by this token's batches (their result archives), per batch,
    newest first, and in all."""
    usage = batch_usage(store, settings.home.results, token_id)
    return json_answer({"batches": [dataclasses.asdict(u) for u in usage],
                        "total_bytes": sum(u.bytes for u in usage)})
