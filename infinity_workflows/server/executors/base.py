"""The executor contract: what the server hands a backend and what it gets back.

The dispatcher hands a picklable :class:`JobTask` to an :class:`Executor` and gets back a
future of a :class:`JobOutcome`. The future fails with :class:`JobFailed` (the job's own
error, final), :class:`WorkerLost` (the process running it died; the dispatcher decides
whether to try again) or :class:`~..cancellation.JobCancelled` (stopped by a cancel).
Backends are found by name in :data:`~infinity_workflows.server.executors.EXECUTORS`, and
each imports only this module and :mod:`.archive`, never another backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Executor", "ExecutorConfig", "JobFailed", "JobOutcome", "JobTask", "WorkerLost"]


@dataclass(frozen=True)
class JobTask:
    """Everything a worker needs to run one job, in a form that pickles."""

    job_id: str
    generator: str
    params: dict[str, Any]
    is_preview: bool
    seed: int
    # How the worker process finds generators: the same import specs the server was given.
    generator_specs: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobOutcome:
    """A job that succeeded: who ran it, how long it took there (wall seconds, render and
    archive; the dispatcher hands short jobs out ahead) and, for remote workers, the
    archive's bytes."""

    job_id: str
    worker: str
    archive: bytes | None = None  # None: the worker already put the archive in place
    seconds: float = 0.0  # 0: not measured (a worker of an older version)


class JobFailed(Exception):
    """The job itself failed (generator error, or its result could not be written).

    Carries only text (the message and which worker), so it pickles whatever the original
    exception was.
    """

    def __init__(self, message: str, worker: str | None = None) -> None:
        super().__init__(message, worker)

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def worker(self) -> str | None:
        return self.args[1]

    def __str__(self) -> str:
        return self.message


class WorkerLost(Exception):
    """The process running the job died before reporting (crash, out of memory, kill)."""


@dataclass(frozen=True)
class ExecutorConfig:
    workers: int
    generator_specs: tuple[str, ...]
    results_dir: Path
    work_dir: Path
    # Where the local pool keeps its forkserver's socket (None: the system's temp folder).
    socket_dir: Path | None = None
    # Backend-specific settings (e.g. a scheduler address) without changing this class.
    options: Mapping[str, str] = field(default_factory=dict)


class Executor(ABC):
    """Runs :class:`JobTask` objects somewhere and reports each as a future."""

    @property
    @abstractmethod
    def capacity(self) -> int:
        """How many jobs may run at once. The dispatcher hands out that many, or, while jobs
        are short, twice as many, so that each worker has its next job at hand (an executor
        queues what it cannot start yet, and starts it the moment a worker is free)."""

    @abstractmethod
    def submit(self, task: JobTask) -> Future[JobOutcome]:
        """Start ``task``. The future fails with JobFailed or WorkerLost, nothing else."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop at once: running jobs are abandoned (the dispatcher puts them back)."""

    def cancel(self, job_id: str) -> None:  # noqa: B027 - a backend may not stop jobs
        """Stop ``job_id`` if it runs (its future then fails with JobCancelled, or ends as
        it would have when it finished first); best effort, returns at once."""
