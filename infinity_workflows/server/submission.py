"""Checking a submitted batch against the rules and the generator's schema.

Every rule is checked for every job before anything is stored: a batch is accepted whole or
refused whole, and a refusal names each job, parameter and rule it broke.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from ..generators import Generator, GeneratorRegistry, seed_for_job
from ..sampling.categories import category_note
from .context import granted_names
from .http_errors import RequestRefused, error_item
from .models import BatchIn
from .rows import NewJob
from .store import Store

__all__ = ["PreparedBatch", "PreparedJob", "prepare_batch", "request_fingerprint"]

# A refusal lists at most this many problems; the detail says how many there were.
MAX_LISTED_ERRORS = 1000


# One encoder for every job's parameters (cheaper than json.dumps per call); its output is
# both stored and spliced into the response, so each job is encoded once.
_encode_params = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class PreparedJob:
    id: str
    params: dict[str, Any]
    params_json: str
    seed: int
    frames: int

    def to_new_job(self) -> NewJob:
        return NewJob(id=self.id, params_json=self.params_json, seed=self.seed,
                      frames=self.frames)


@dataclass(frozen=True)
class PreparedBatch:
    generator: Generator
    is_preview: bool
    jobs: list[PreparedJob]


def request_fingerprint(body: BatchIn) -> str:
    """A digest of what was asked, to tell a retry from a different batch under one key."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refuse(detail: str, errors: list[dict[str, Any]]) -> RequestRefused:
    return RequestRefused(400, detail, errors[:MAX_LISTED_ERRORS])


def prepare_batch(body: BatchIn, *, token_id: int, registry: GeneratorRegistry, store: Store,
                  max_jobs: int) -> PreparedBatch:
    """Validate ``body`` and compute each job's complete parameters, seed and frame count.

    ``registry`` holds the generators the submitting token may use.

    Raises RequestRefused(400) naming every problem found.
    """
    runs = body.job_runs
    if not runs:
        raise _refuse("the batch has no jobs; put at least one job in job_runs",
                      [error_item("empty_batch", "job_runs is empty")])
    if len(runs) > max_jobs:
        raise _refuse(
            f"the batch has {len(runs)} jobs, more than this server's limit of {max_jobs}; "
            "split it into several batches (or start the server with a larger "
            "--max-jobs-per-batch)",
            [error_item("too_many_jobs", f"{len(runs)} jobs > {max_jobs}")])

    generator_name = runs[0].name
    mixed = [i for i, run in enumerate(runs) if run.name != generator_name]
    if mixed:
        raise _refuse(
            f"a batch must use one generator, but job 0 uses {generator_name!r} and "
            f"{len(mixed)} job(s) use another (first: job {mixed[0]} uses "
            f"{runs[mixed[0]].name!r}); submit one batch per generator",
            [error_item("mixed_generators", f"job {i} uses {runs[i].name!r}, not "
                        f"{generator_name!r}", i, None) for i in mixed])
    generator = registry.get(generator_name)
    if generator is None:
        # ``registry`` is the token's view: a generator it may not use reads as unknown.
        raise _refuse(f"unknown generator {generator_name!r}; this token may use: "
                      f"{granted_names(registry)}",
                      [error_item("unknown_generator", f"{generator_name!r} is not a "
                                  "generator this token may use", 0, None)])

    is_preview = runs[0].is_preview
    mixed = [i for i, run in enumerate(runs) if run.is_preview != is_preview]
    if mixed:
        kind = "previews" if is_preview else "videos"
        raise _refuse(
            f"a batch must be all previews or all videos; job 0 makes {kind} but "
            f"{len(mixed)} job(s) do not (first: job {mixed[0]}); submit them separately",
            [error_item("mixed_job_types", f"job {i} has is_preview={runs[i].is_preview}",
                        i, "is_preview") for i in mixed])
    if is_preview and not generator.supports_preview:
        raise _refuse(f"generator {generator_name!r} does not make previews; submit with "
                      "is_preview=false",
                      [error_item("preview_not_supported",
                                  f"{generator_name!r} has no previews", 0, "is_preview")])

    schema = generator.schema
    errors: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        for v in schema.violations(run.param_values):
            note = category_note(v, run.param_values, generator.categories)
            errors.append(error_item(v.rule, f"job {i}: {v.message}{note}", i,
                                     v.param or None))

    # A uuid parameter names an earlier job of this token, whose seed the new job reuses.
    uuid_params = [p.name for p in schema if p.type == "uuid"]
    referenced: dict[int, str] = {}
    seeds: dict[str, int] = {}
    if uuid_params and not errors:
        for i, run in enumerate(runs):
            for name in uuid_params:
                value = run.param_values.get(name)
                if value is not None:
                    referenced.setdefault(i, str(uuid.UUID(value)))
        seeds = store.batches.seeds(token_id, referenced.values())
        for i, run in enumerate(runs):
            for name in uuid_params:
                value = run.param_values.get(name)
                if value is not None and str(uuid.UUID(value)) not in seeds:
                    errors.append(error_item(
                        "unknown_job", f"job {i}: {name}: {value!r} is not the id of one of "
                        "your jobs; use the id of a job you submitted earlier, or null", i, name))
    if errors:
        bad_jobs = len({e["job_index"] for e in errors})
        first = errors[0]["message"]
        raise _refuse(f"{bad_jobs} of {len(runs)} job(s) are invalid, so nothing was "
                      f"submitted; fix every job listed in errors (first: {first})", errors)

    jobs: list[PreparedJob] = []
    for i, run in enumerate(runs):
        params = schema.complete(run.param_values)
        job_id = str(uuid.uuid4())
        seed = seeds[referenced[i]] if i in referenced else seed_for_job(job_id)
        jobs.append(PreparedJob(id=job_id, params=params, params_json=_encode_params(params),
                                seed=seed, frames=int(generator.estimate(params, is_preview))))
    return PreparedBatch(generator=generator, is_preview=is_preview, jobs=jobs)
