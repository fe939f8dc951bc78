"""The REST API under ``/api/``: generators, batches, jobs, usage counts and result links.

Every route but the result download needs ``Authorization: Token <token>``. A token only
ever sees its own batches and jobs; another token's ids answer 404, exactly like ids that do
not exist, so ids cannot be probed.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BeforeValidator

from ..generators import GeneratorRegistry
from .auth import token_id_from_header
from .context import ServerContext, granted_names
from .http_errors import ApiError, ErrorBody, error_item
from .job_json import job_json, jobs_json, with_jobs
from .models import (
    BatchCreated,
    BatchDetail,
    BatchIn,
    BatchListItem,
    BatchSummary,
    Cancelled,
    CountsOut,
    GeneratorDetail,
    GeneratorSummary,
    JobRunDetail,
)
from .rows import BatchRow, JobRow, utc_now, utc_text
from .signing import LinkExpired, LinkInvalid
from .submission import prepare_batch, request_fingerprint

__all__ = ["Ctx", "Granted", "TokenId", "context", "granted_generators", "result_url_maker",
           "results_router", "router"]

_auth_header = APIKeyHeader(
    name="Authorization", auto_error=False, scheme_name="TokenAuth",
    description="'Token <your token>' (`infinity-workflows token create` makes one)")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request broke a rule; `errors` names which."},
    401: {"model": ErrorBody, "description": "Missing or unknown token."},
    413: {"model": ErrorBody, "description": "The body is larger than the server accepts."},
}
_ERRORS_404 = {**_ERRORS, 404: {"model": ErrorBody, "description": "No such id for this token."}}

router = APIRouter(prefix="/api", responses=_ERRORS)
# Result downloads carry their own credential (the signed link), so no 401 is documented.
results_router = APIRouter(prefix="/api", responses={
    400: {"model": ErrorBody, "description": "Malformed link parameters."}})


def context(request: Request) -> ServerContext:
    return request.app.state.ctx


def authenticated(request: Request,
                  authorization: Annotated[str | None, Depends(_auth_header)]) -> int:
    """The id of the token in the Authorization header, or 401."""
    return token_id_from_header(authorization, context(request).store.token_id)


Ctx = Annotated[ServerContext, Depends(context)]
TokenId = Annotated[int, Depends(authenticated)]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, allow_nan=False), status_code=status,
                    media_type="application/json")


def _not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"no {kind} with id {ident} for this token; check the id (it must be "
                    "one of your own)")


def result_url_maker(request: Request, ctx: ServerContext):
    """A function job_id -> fresh signed result link, sharing one expiry per response."""
    base = ctx.settings.base_url_for(request.headers)
    signer = ctx.signer
    expires = signer.expiry()

    def make(job_id: str) -> str:
        return f"{base}api/results/{job_id}/?{signer.result_query(job_id, expires)}"
    return make


def _iso_time(value: Any) -> Any:
    """Accept only ISO 8601 date-times, as the OpenAPI document says (pydantic alone would
    also take a bare number as Unix time)."""
    if not isinstance(value, str):
        return value
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    if len(text) < 11 or text[10] not in "Tt ":
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-11-25T08:00:00+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 date and time, e.g. "
                         "2026-11-25T08:00:00+00:00") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # times without an offset are UTC
    try:
        # 0001-01-01T00:00+14:00 is in year 0 in UTC: outside what a datetime can hold.
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("this time is outside years 1 to 9999 once converted to UTC; send "
                         "a time inside that range") from None


WindowStart = Annotated[datetime | None, BeforeValidator(_iso_time), Query(
    description="ISO 8601 with offset (UTC when none), inclusive; default: no lower bound")]
WindowEnd = Annotated[datetime | None, BeforeValidator(_iso_time), Query(
    description="ISO 8601 with offset (UTC when none), inclusive; default: now")]


def _utc(moment: datetime | None) -> datetime | None:
    """Times without an offset are taken as UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- generators -------------------------------------------------------------------------------
def granted_generators(ctx: Ctx, token_id: TokenId) -> GeneratorRegistry:
    """The generators the request's token may use (see ServerContext.generators_for)."""
    return ctx.generators_for(token_id)


Granted = Annotated[GeneratorRegistry, Depends(granted_generators)]


@router.get("/jobs/", response_model=list[GeneratorSummary], tags=["generators"])
def list_generators(generators: Granted):
    """The generators this token may use."""
    return _json([g.summary() for g in generators])


@router.get("/jobs/{name}/", response_model=GeneratorDetail, responses=_ERRORS_404,
            tags=["generators"])
def generator_detail(name: str, generators: Granted):
    """One generator with its parameter schema."""
    generator = generators.get(name)
    if generator is None:
        raise ApiError(404, f"no generator named {name!r} for this token; GET api/jobs/ "
                       f"lists those it may use: {granted_names(generators)}")
    return _json(generator.detail())


# -- batches ----------------------------------------------------------------------------------
def _json_text(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


def _batch_head(batch: BatchRow) -> dict[str, Any]:
    return {"id": batch.id, "name": batch.name, "created": batch.created}


@router.post("/batch/", status_code=201, response_model=BatchCreated, tags=["batches"],
             responses={409: {"model": ErrorBody,
                              "description": "Idempotency-Key reused for another batch."}})
def submit_batch(body: BatchIn, ctx: Ctx,
                 token_id: TokenId, generators: Granted,
                 idempotency_key: Annotated[str | None, Header(
                     alias="Idempotency-Key", max_length=200,
                     description="Repeat a submission safely: the same key returns the "
                     "batch first made with it.")] = None):
    """Submit a batch: validated whole, stored whole, queued in order."""
    fingerprint = request_fingerprint(body) if idempotency_key else None
    if idempotency_key:
        earlier = ctx.store.batch_for_key(token_id, idempotency_key)
        if earlier is not None:
            return _repeat(ctx, token_id, idempotency_key, earlier, fingerprint)
    prepared = prepare_batch(body, token_id=token_id, registry=generators, store=ctx.store,
                             max_jobs=ctx.settings.max_jobs_per_batch)
    batch_id = str(uuid.uuid4())
    created = utc_text(utc_now())
    try:
        ctx.store.insert_batch(
            batch_id=batch_id, token_id=token_id, name=body.name,
            generator=prepared.generator.name, is_preview=prepared.is_preview, created=created,
            jobs=[j.to_new_job() for j in prepared.jobs], idempotency_key=idempotency_key,
            request_hash=fingerprint)
    except sqlite3.IntegrityError:
        # The same key arrived twice at once and the other request stored its batch first.
        earlier = ctx.store.batch_for_key(token_id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _repeat(ctx, token_id, idempotency_key, earlier, fingerprint)
    ctx.dispatcher.wake()
    rows = (JobRow(j.id, batch_id, prepared.generator.name, prepared.is_preview,
                   j.params_json, "queued", None, None, created, None, None)
            for j in prepared.jobs)
    return _json_text(with_jobs({"id": batch_id, "name": body.name, "created": created},
                                jobs_json(rows, "created")), status=201)


def _repeat(ctx: ServerContext, token_id: int, key: str, earlier: tuple[str, str],
            fingerprint: str | None) -> Response:
    batch_id, first_fingerprint = earlier
    if first_fingerprint != fingerprint:
        raise ApiError(409, f"the Idempotency-Key {key!r} was already used for a different "
                       f"batch ({batch_id}); use a new key for a new batch",
                       [error_item("idempotency_key_reused", "different body, same key",
                                   None, "Idempotency-Key")])
    batch = ctx.store.batch(token_id, batch_id)
    assert batch is not None
    # Answered as the first time, except that its jobs' progress is today's.
    return _json_text(with_jobs(_batch_head(batch),
                                jobs_json(ctx.store.batch_jobs(batch_id), "created")), 201)


@router.post("/batch/estimate/", response_model=list[int], tags=["batches"])
def estimate_batch(body: BatchIn, ctx: Ctx,
                   token_id: TokenId, generators: Granted):
    """Frames each job would render (1 for a preview), checked like a submission."""
    prepared = prepare_batch(body, token_id=token_id, registry=generators, store=ctx.store,
                             max_jobs=ctx.settings.max_jobs_per_batch)
    return _json([j.frames for j in prepared.jobs])


@router.get("/batch/", response_model=list[BatchListItem], tags=["batches"])
def list_batches(ctx: Ctx, token_id: TokenId, start_time: WindowStart = None,
                 end_time: WindowEnd = None):
    """This token's batches created in the window (all when no window is given)."""
    start, end = _utc(start_time), _utc(end_time)
    rows = ctx.store.batches(token_id, utc_text(start) if start else None,
                             utc_text(end) if end else None)
    return _json([{**_batch_head(b), "num_jobs": b.num_jobs} for b in rows])


@router.get("/batch/{batch_id}/", response_model=BatchDetail, responses=_ERRORS_404,
            tags=["batches"])
def batch_detail(batch_id: uuid.UUID, ctx: Ctx,
                 token_id: TokenId):
    """A batch with every job's complete parameters."""
    batch = ctx.store.batch(token_id, str(batch_id))
    if batch is None:
        raise _not_found("batch", str(batch_id))
    return _json_text(with_jobs(_batch_head(batch),
                                jobs_json(ctx.store.batch_jobs(batch.id), "detail")))


@router.post("/batch/{batch_id}/cancel/", response_model=Cancelled, responses=_ERRORS_404,
             tags=["batches"])
def cancel_batch(batch_id: uuid.UUID, ctx: Ctx, token_id: TokenId):
    """Cancel the batch's queued jobs and stop its running ones (within seconds); finished
    jobs keep their results. Cancelling a finished batch changes nothing."""
    batch = ctx.store.batch(token_id, str(batch_id))
    if batch is None:
        raise _not_found("batch", str(batch_id))
    cancelled = ctx.store.cancel(token_id, batch_id=batch.id)
    ctx.dispatcher.wake()
    return _json({"id": batch.id, "cancelled": cancelled})


@router.get("/batch/{batch_id}/summary/", response_model=BatchSummary, responses=_ERRORS_404,
            tags=["batches"])
def batch_summary(batch_id: uuid.UUID, request: Request, ctx: Ctx,
                  token_id: TokenId):
    """Status of every job; a fresh signed ``result_url`` for each that succeeded."""
    batch = ctx.store.batch(token_id, str(batch_id))
    if batch is None:
        raise _not_found("batch", str(batch_id))
    return _json_text(with_jobs({"id": batch.id}, jobs_json(
        ctx.store.batch_statuses(batch.id), "summary", result_url_maker(request, ctx))))


# -- jobs -------------------------------------------------------------------------------------


Limit = Annotated[int | None, Query(
    ge=1, le=10_000, description="At most this many jobs (1 to 10,000); default: all")]
Offset = Annotated[int, Query(ge=0, le=2**53, description="Skip this many jobs first")]


def _list_jobs(request: Request, ctx: ServerContext, token_id: int, is_preview: bool,
               limit: int | None, offset: int):
    rows = ctx.store.token_jobs(token_id, is_preview, limit=limit, offset=offset)
    return _json_text(jobs_json(rows, "full", result_url_maker(request, ctx)))


def _one_job(request: Request, ctx: ServerContext, token_id: int, job_id: uuid.UUID,
             is_preview: bool):
    row = ctx.store.job(token_id, str(job_id))
    if row is None or bool(row.is_preview) != is_preview:
        raise _not_found("preview job" if is_preview else "job", str(job_id))
    return _json_text(job_json(row, "full", result_url_maker(request, ctx)))


def _cancel_job(ctx: ServerContext, token_id: int, job_id: uuid.UUID, is_preview: bool):
    row = ctx.store.job(token_id, str(job_id))
    if row is None or bool(row.is_preview) != is_preview:
        raise _not_found("preview job" if is_preview else "job", str(job_id))
    cancelled = ctx.store.cancel(token_id, job_id=row.id)
    ctx.dispatcher.wake()
    return _json({"id": row.id, "cancelled": cancelled})


@router.post("/job_runs/{job_id}/cancel/", response_model=Cancelled, responses=_ERRORS_404,
             tags=["jobs"])
def cancel_job_run(job_id: uuid.UUID, ctx: Ctx, token_id: TokenId):
    """Cancel one standard (video) job if it is queued or running."""
    return _cancel_job(ctx, token_id, job_id, is_preview=False)


@router.post("/job_previews/{job_id}/cancel/", response_model=Cancelled,
             responses=_ERRORS_404, tags=["jobs"])
def cancel_job_preview(job_id: uuid.UUID, ctx: Ctx, token_id: TokenId):
    """Cancel one preview job if it is queued or running."""
    return _cancel_job(ctx, token_id, job_id, is_preview=True)


@router.get("/job_runs/counts/", response_model=CountsOut, tags=["jobs"])
def usage_counts(ctx: Ctx, token_id: TokenId, start_time: WindowStart = None,
                 end_time: WindowEnd = None):
    """Frames rendered by this token's jobs that succeeded in the window, per generator."""
    start = _utc(start_time) or datetime(1970, 1, 1, tzinfo=timezone.utc)
    end = _utc(end_time) or utc_now()
    by_generator: dict[str, dict[str, Any]] = {}
    for generator, is_preview, frames in ctx.store.rendered_counts(
            token_id, utc_text(start), utc_text(end)):
        entry = by_generator.setdefault(generator, {
            "generator": generator, "preview_samples_rendered": 0,
            "non_preview_samples_rendered": 0})
        key = "preview_samples_rendered" if is_preview else "non_preview_samples_rendered"
        entry[key] += frames
    return _json({"start_time": utc_text(start), "end_time": utc_text(end),
                  "counts_by_generator": list(by_generator.values())})


@router.get("/job_runs/", response_model=list[JobRunDetail], tags=["jobs"])
def list_job_runs(request: Request, ctx: Ctx,
                  token_id: TokenId, limit: Limit = None, offset: Offset = 0):
    """This token's standard (video) jobs, oldest first; ``limit``/``offset`` page them."""
    return _list_jobs(request, ctx, token_id, is_preview=False, limit=limit,
                      offset=offset)


@router.get("/job_runs/{job_id}/", response_model=JobRunDetail, responses=_ERRORS_404,
            tags=["jobs"])
def job_run(job_id: uuid.UUID, request: Request, ctx: Ctx,
            token_id: TokenId):
    """One standard (video) job."""
    return _one_job(request, ctx, token_id, job_id, is_preview=False)


@router.get("/job_previews/", response_model=list[JobRunDetail], tags=["jobs"])
def list_job_previews(request: Request, ctx: Ctx,
                      token_id: TokenId, limit: Limit = None, offset: Offset = 0):
    """This token's preview jobs, oldest first; ``limit``/``offset`` page them."""
    return _list_jobs(request, ctx, token_id, is_preview=True, limit=limit,
                      offset=offset)


@router.get("/job_previews/{job_id}/", response_model=JobRunDetail, responses=_ERRORS_404,
            tags=["jobs"])
def job_preview(job_id: uuid.UUID, request: Request, ctx: Ctx,
                token_id: TokenId):
    """One preview job."""
    return _one_job(request, ctx, token_id, job_id, is_preview=True)


# -- results ----------------------------------------------------------------------------------
class _ArchiveResponse(FileResponse):
    # Starlette reads files in 64 KiB chunks, one thread hop each; results are megabytes,
    # and 1 MiB chunks more than double what one download stream carries on loopback.
    chunk_size = 1024 * 1024


@results_router.get("/results/{job_id}/", tags=["results"], response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}},
                             "description": "The job's folder as a zip."},
                       403: {"model": ErrorBody, "description": "Altered or expired link."},
                       404: {"model": ErrorBody, "description": "No result for this job."}})
def download_result(job_id: uuid.UUID, ctx: Ctx,
                    expires: Annotated[int, Query(description="Unix time the link expires")],
                    signature: Annotated[str, Query(max_length=128)]):
    """A job's result; the signed link is the credential (no Authorization header)."""
    job = str(job_id)
    try:
        ctx.signer.check_link(job, expires, signature)
    except LinkInvalid:
        raise ApiError(403, "this download link is not valid (it was altered or belongs to "
                       "another server); take result_url unchanged from the batch's summary/"
                       ) from None
    except LinkExpired:
        when = datetime.fromtimestamp(expires, timezone.utc).isoformat()
        raise ApiError(403, f"this download link expired at {when}; fetch a fresh result_url "
                       "from GET api/batch/<batch id>/summary/") from None
    path: Path = ctx.settings.home.results / f"{job}.zip"
    if ctx.store.job_status(job) != "succeeded" or not path.is_file():
        raise ApiError(404, f"job {job} has no result to download; check its status in the "
                       "batch's summary/")
    return _ArchiveResponse(path, media_type="application/zip", filename=f"{job}.zip",
                            headers={"Cache-Control": "private, max-age=60"})
