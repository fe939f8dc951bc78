"""Jobs re-run from their seeds: earlier jobs again, with a few parameters changed.

(Not to be confused with :mod:`.records.rerun`, which runs a workflow record's notebook
again. This module was ``infinity_workflows.reruns``, a name that still imports.)

:func:`expand_overrides_across_each_preview_state` and friends turn the completed jobs of an
earlier batch plus a list of overrides into new jobs whose ``state`` names the earlier job,
so the server reuses its seed and only the overrides change (same person, timing and room).
Render cheap previews, pick the ones you like, rerun them as videos.

Each function also takes the form Infinity's toolkit gave it, told apart by its first
argument being a session (ours or infinity-core's): ``expand_overrides_across_each_preview_state(
sesh, base_state_ids, override_params)`` and ``submit_rerun_batch_with_overrides_previews(sesh,
base_state_id, override_params, batch_name)``, where job ids of any earlier batch, preview or
video, seed the new jobs. Both forms build the jobs the same way (:func:`_combine`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import api
from .compat.interop import as_session
from .errors import NotFoundError, ValidationError
from .sampling import schema_of
from .schema import Schema
from .trust import parse_uuid

__all__ = [
    "expand_overrides_across_each_preview_state",
    "expand_overrides_across_each_video_state",
    "submit_rerun_batch_with_overrides_previews",
    "submit_rerun_batch_with_overrides_videos",
]


def _batch_label(batch: Any) -> str:
    return str(getattr(batch, "batch_id", None) or getattr(batch, "name", None) or "?")


def _completed_jobs(batch: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(job_id, complete params)`` of every valid completed job of ``batch``, in the
    batch's order. Params come from the batch itself (the server filled in defaults)."""
    params_by_id = {j["id"]: j["param_values"] for j in batch.jobs}
    out = []
    for job in batch.get_valid_completed_jobs():
        params = params_by_id.get(job["id"], job.get("param_values"))
        if params is None:
            raise ValidationError(f"job {job['id']} is not part of batch {_batch_label(batch)}; "
                             f"refresh the batch with get_batch_data()")
        out.append((job["id"], dict(params)))
    order = {job_id: i for i, job_id in enumerate(params_by_id)}
    return sorted(out, key=lambda item: order.get(item[0], len(order)))


def _batch_is_preview(batch: Any) -> bool | None:
    kind = getattr(batch, "job_type", None)
    return None if kind not in ("preview", "video") else kind == "preview"


def _checked_overrides(overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
                       schema: Schema | None) -> list[Mapping[str, Any]]:
    if overrides is None:
        overrides = [{}]
    elif isinstance(overrides, Mapping):
        overrides = [overrides]
    overrides = list(overrides)
    if not overrides:
        raise ValidationError("overrides is empty, so there is nothing to submit; pass [{}] to "
                         "rerun each job unchanged")
    problems = []
    for i, override in enumerate(overrides):
        if not isinstance(override, Mapping):
            problems.append(f"overrides[{i}] is a {type(override).__name__}, not a dict")
        elif "state" in override:
            problems.append(f"overrides[{i}] sets 'state', which every rerun job takes from "
                            f"its earlier job; leave it out")
        elif schema is not None:
            problems.extend(f"overrides[{i}]: {v.message}" for v in schema.violations(override))
    if problems:
        raise ValidationError("; ".join(problems), errors=problems)
    return overrides


def _combine(jobs: Iterable[tuple[str, Mapping[str, Any]]],
             overrides: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each earlier job once per override: its params, the override, its id as ``state``."""
    return [{**params, **override, "state": job_id}
            for job_id, params in jobs for override in overrides]


def _expand(overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None, batch: Any,
            job_ids: Iterable[str] | None, schema: Schema | None) -> list[dict[str, Any]]:
    overrides = _checked_overrides(overrides, schema)
    jobs = _completed_jobs(batch)
    if job_ids is not None:
        wanted = [str(j) for j in job_ids]
        have = dict(jobs)
        missing = [j for j in wanted if j not in have]
        if missing:
            raise ValidationError(f"not valid completed jobs of batch {_batch_label(batch)}: "
                             f"{', '.join(missing)}; choose among {', '.join(have) or 'none'}")
        jobs = [(j, have[j]) for j in dict.fromkeys(wanted)]
    return _combine(jobs, overrides)


# -- Infinity's form: job ids of any earlier batch -----------------------------------------
def _is_session(obj: Any) -> bool:
    return isinstance(getattr(obj, "generator", None), str) and hasattr(obj, "server")


def _earlier_job(sesh: Any, job_id: Any) -> tuple[str, dict[str, Any]]:
    """``(id, params)`` of an earlier job of this token, preview or video."""
    session = as_session(sesh)
    checked = parse_uuid(job_id, "job id")
    for fetch in (api.get_job_preview, api.get_job_run):
        try:
            return checked, dict(fetch(session.transport, checked)["param_values"])
        except NotFoundError:
            continue
    raise ValidationError(f"{job_id} is not the id of an earlier job (preview or video) of "
                          f"this token on {session.server}")


def _expand_ids(sesh: Any, base_state_ids: Any, override_params: Any) -> list[dict[str, Any]]:
    if isinstance(base_state_ids, str):
        base_state_ids = [base_state_ids]
    overrides = _checked_overrides(override_params, schema_of(sesh))
    return _combine([_earlier_job(sesh, j) for j in dict.fromkeys(base_state_ids)], overrides)


def _expand_kind(overrides: Any, prev_batch: Any, job_ids: Iterable[str] | None,
                 preview: bool) -> list[dict[str, Any]]:
    kind = _batch_is_preview(prev_batch)
    if kind is not None and kind != preview:
        want, got = ("preview", "video") if preview else ("video", "preview")
        other = "video" if preview else "preview"
        raise ValidationError(f"batch {_batch_label(prev_batch)} is a {got} batch; use "
                         f"expand_overrides_across_each_{other}_state for it (this one expects "
                         f"a {want} batch)")
    session = getattr(prev_batch, "session", None)
    return _expand(overrides, prev_batch, job_ids, getattr(session, "schema", None))


def expand_overrides_across_each_preview_state(
        overrides: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None, prev_batch: Any,
        job_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """For each valid completed job of the preview batch ``prev_batch`` (or only those in
    ``job_ids``) and each override: that job's params with the override applied and
    ``state`` set to the job's id, so the server reuses its seed. Infinity's form
    ``(sesh, base_state_ids, override_params)`` takes job ids of any earlier batch."""
    if _is_session(overrides):
        return _expand_ids(overrides, prev_batch, job_ids)
    return _expand_kind(overrides, prev_batch, job_ids, preview=True)


def expand_overrides_across_each_video_state(
        overrides: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None, prev_batch: Any,
        job_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """As :func:`expand_overrides_across_each_preview_state`, for a video batch."""
    if _is_session(overrides):
        return _expand_ids(overrides, prev_batch, job_ids)
    return _expand_kind(overrides, prev_batch, job_ids, preview=False)


def _submit_rerun(sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None,
                  job_ids: Iterable[str] | None, is_preview: bool) -> Any:
    if isinstance(prev_batch, str):  # Infinity's form: one earlier job's id seeds them all
        jobs = _expand_ids(sesh, [prev_batch], overrides)
        return sesh.submit(job_params=jobs, is_preview=is_preview, batch_name=batch_name)
    jobs = _expand(overrides, prev_batch, job_ids, schema_of(sesh))
    if not jobs:
        raise ValidationError(f"batch {_batch_label(prev_batch)} has no valid completed jobs "
                         f"to rerun yet; wait for it (Batch.await_completion) first")
    if batch_name is None:
        base = getattr(prev_batch, "name", None) or _batch_label(prev_batch)
        batch_name = f"{base}-rerun-{'previews' if is_preview else 'videos'}"
    return sesh.submit(job_params=jobs, is_preview=is_preview, batch_name=batch_name)


def submit_rerun_batch_with_overrides_previews(
        sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None = None,
        job_ids: Iterable[str] | None = None) -> Any:
    """Submit, as previews, every completed job of ``prev_batch`` (or those in ``job_ids``)
    once per override, each reusing its earlier job's seed. Returns the new Batch. With a
    job id in place of ``prev_batch`` (Infinity's ``base_state_id``), that job, preview or
    video, seeds every new job."""
    return _submit_rerun(sesh, prev_batch, overrides, batch_name, job_ids, is_preview=True)


def submit_rerun_batch_with_overrides_videos(
        sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None = None,
        job_ids: Iterable[str] | None = None) -> Any:
    """As :func:`submit_rerun_batch_with_overrides_previews`, submitted as videos: render
    cheap previews, pick the ones you like, rerun them as videos."""
    return _submit_rerun(sesh, prev_batch, overrides, batch_name, job_ids, is_preview=False)
