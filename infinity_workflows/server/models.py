"""The API's request and response bodies, declared so the OpenAPI document is exact.

Requests refuse unknown fields. ``param_values`` is a plain mapping: the generator's
:class:`~infinity_workflows.schema.Schema` checks it (one pydantic model per job's
parameters would cost more than the whole rest of a 10,000-job submission).

Large responses are written with ``json.dumps`` straight into a Response for speed; these
models still describe them in the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

__all__ = [
    "BatchCreated",
    "BatchDetail",
    "BatchIn",
    "BatchListItem",
    "BatchSummary",
    "CountsOut",
    "GeneratorCount",
    "GeneratorDetail",
    "GeneratorOptions",
    "GeneratorSummary",
    "JobRunCreated",
    "JobRunDetail",
    "JobRunIn",
    "JobRunOfBatch",
    "JobRunStatus",
    "ParamInfo",
]

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobRunIn(_Request):
    name: str = Field(description="The generator's name, e.g. from GET api/jobs/.")
    # Strict: "yes", "1" or 1 are refused, not read as true.
    is_preview: StrictBool = Field(False, description="A preview renders one still image.")
    param_values: dict[str, Any] = Field(
        default_factory=dict, description="Parameter values; omitted ones take the default.")


class BatchIn(_Request):
    name: str = Field(max_length=500, description="A name for the batch, for people.")
    # The server checks the bounds itself (to name the rule "empty_batch"); declared here so
    # the OpenAPI document tells clients.
    job_runs: list[JobRunIn] = Field(json_schema_extra={"minItems": 1})


class GeneratorOptions(BaseModel):
    preview: bool


class GeneratorSummary(BaseModel):
    name: str
    version: str
    description: str
    options: GeneratorOptions


class ParamInfo(BaseModel):
    name: str
    type: Literal["int", "float", "str", "bool", "uuid"]
    default_value: Any = None
    options: dict[str, Any] | None = Field(
        None, description="{min, max}, or {choices: [...]}, or null")
    description: str


class GeneratorDetail(GeneratorSummary):
    params: list[ParamInfo]
    categories: dict[str, dict[str, list[Any]]] = Field(
        default_factory=dict,
        description="parameter -> category -> the choices it stands for (exercise: UPPERCUT "
                    "-> [UPPERCUT-LEFT, UPPERCUT-RIGHT]); a sampler picks one per job, a "
                    "submitted job names one")
    label_statistics: dict[str, str] = Field(
        default_factory=dict,
        description="the generator's declared label summary: per-job statistic -> what it "
                    "means (a client computes them from a downloaded job's labels)")


class JobRunCreated(BaseModel):
    id: str
    name: str
    is_preview: bool
    param_values: dict[str, Any]
    in_progress: bool
    result_url: str | None


class BatchCreated(BaseModel):
    id: str
    name: str
    created: str
    job_runs: list[JobRunCreated]


class BatchListItem(BaseModel):
    id: str
    name: str
    created: str
    num_jobs: int


class JobRunOfBatch(BaseModel):
    id: str
    name: str
    is_preview: bool
    param_values: dict[str, Any]


class BatchDetail(BaseModel):
    id: str
    name: str
    created: str
    job_runs: list[JobRunOfBatch]


class JobRunStatus(BaseModel):
    id: str
    name: str
    in_progress: bool
    status: Status
    result_url: str | None
    error: str | None
    worker: str | None


class BatchSummary(BaseModel):
    id: str
    job_runs: list[JobRunStatus]


class JobRunDetail(BaseModel):
    id: str
    name: str
    batch_id: str
    is_preview: bool
    param_values: dict[str, Any]
    in_progress: bool
    status: Status
    result_url: str | None
    error: str | None
    worker: str | None
    created: str
    start_time: str | None
    end_time: str | None


class Cancelled(BaseModel):
    id: str
    cancelled: int  # jobs that were queued or running and are cancelled now


class BatchDeleted(BaseModel):
    id: str
    cancelled: int  # unfinished jobs cancelled before their results were removed
    removed: int  # result archives removed from the server's disk
    freed_bytes: int


class BatchStorage(BaseModel):
    id: str
    name: str
    created: str
    num_jobs: int
    results: int  # result archives on the server's disk
    bytes: int


class Storage(BaseModel):
    batches: list[BatchStorage]  # newest first
    total_bytes: int


class GeneratorCount(BaseModel):
    generator: str
    preview_samples_rendered: int
    non_preview_samples_rendered: int


class CountsOut(BaseModel):
    start_time: str
    end_time: str
    counts_by_generator: list[GeneratorCount]
