"""Running jobs: what a worker does with one job, and the pool of workers that does it.

The server hands a picklable :class:`JobTask` to an :class:`Executor` and gets back a
future of a :class:`JobOutcome`. The future fails with :class:`JobFailed` (the job's own
error, final), :class:`WorkerLost` (the process running it died; the dispatcher decides
whether to try again) or :class:`~.cancellation.JobCancelled` (stopped by a cancel).
Executors are looked up by name in :data:`~.backends.EXECUTORS`, so another backend (a Dask
cluster, say) plugs in beside the local process pool without this module knowing it.

A job is rendered into a fresh scratch folder and zipped there; only the finished archive is
moved into ``results/`` by an atomic rename, so a result is never half-visible, and it is
durable before the job counts as succeeded: the file is synced, renamed, the folder synced,
and only then does the dispatcher commit the outcome. The two steps
are separate (:func:`render_archive`, :func:`place_archive`) because a remote worker returns
the archive's bytes and the server places them (:func:`store_archive_bytes`).
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import atomic_write, fsync_folder
from ..generators import GeneratorRegistry
from .cancellation import (
    JobCancelled,
    forget_local_cancel,
    install_worker_handler,
    local_job,
    request_local_cancel,
)

__all__ = [
    "Executor",
    "ExecutorConfig",
    "JobFailed",
    "JobOutcome",
    "JobTask",
    "LocalProcessExecutor",
    "WorkerLost",
    "place_archive",
    "render_archive",
    "run_job_locally",
    "store_archive_bytes",
]

log = logging.getLogger(__name__)

# Formats that are compressed already: deflating them again costs time and saves nothing.
STORED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp4", ".webm",
                             ".mkv", ".avi", ".zip", ".gz", ".xz", ".bz2", ".zst", ".npz"})


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


# -- what a worker runs -------------------------------------------------------------------
_registries: dict[tuple[str, ...], GeneratorRegistry] = {}


def _registry(specs: tuple[str, ...]) -> GeneratorRegistry:
    """Generators, found once per worker process (imports can be slow)."""
    registry = _registries.get(specs)
    if registry is None:
        registry = _registries[specs] = GeneratorRegistry.discover(list(specs))
    return registry


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _compresses(path: Path) -> bool:
    """Whether deflating ``path`` is worth it: known compressed formats are not, and for
    anything else a sample decides, so that incompressible data (noise, encrypted or
    already-packed bytes under any name) is stored and nobody inflates it for nothing."""
    if path.suffix.lower() in STORED_SUFFIXES:
        return False
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    return len(sample) < 1024 or len(zlib.compress(sample, 1)) < 0.9 * len(sample)


_SAMPLE_BYTES = 256 * 1024


def _zip_folder(folder: Path, archive: Path, root_name: str) -> None:
    """Zip ``folder`` as ``root_name/...``, in a stable order, and flush it to disk."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(zipfile.ZipInfo(f"{root_name}/"), b"")
        for path in sorted(folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            arcname = f"{root_name}/{path.relative_to(folder).as_posix()}"
            zf.write(path, arcname,
                     compress_type=zipfile.ZIP_DEFLATED if _compresses(path)
                     else zipfile.ZIP_STORED)
    with archive.open("rb+") as fh:
        os.fchmod(fh.fileno(), 0o600)  # results are private data, whatever the umask
        os.fsync(fh.fileno())


_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _out_of_space(exc: BaseException, folder: Path) -> JobFailed | None:
    """A disk that filled up is no fault of the generator: say so, and what to do."""
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
        return JobFailed(f"ran out of disk space while writing the job's files in {folder} "
                         f"({_describe(exc)}); free some space there (or give the server a "
                         "larger --home) and submit the job again")
    return None


def render_archive(task: JobTask, scratch: Path) -> Path:
    """Run the job into ``scratch/<job_id>/`` and zip it; returns the archive (in scratch).

    Raises JobFailed with a sentence a person can act on.
    """
    generator = _registry(task.generator_specs).get(task.generator)
    if generator is None:
        raise JobFailed(f"generator {task.generator!r} is not installed on this worker; "
                        "install it or start the worker with the same --generator options")
    out_dir = scratch / task.job_id
    out_dir.mkdir()
    try:
        generator.run(dict(task.params), task.is_preview, out_dir, task.seed)
    except Exception as exc:  # noqa: BLE001 - any generator error ends the job, not the worker
        raise (_out_of_space(exc, scratch)
               or JobFailed(f"the generator failed: {_describe(exc)}")) from None
    archive = scratch / f"{task.job_id}.zip"
    try:
        _zip_folder(out_dir, archive, task.job_id)
    except OSError as exc:
        raise (_out_of_space(exc, scratch)
               or JobFailed(f"could not write the job's archive: {_describe(exc)}")) from None
    return archive


def place_archive(archive: Path, results_dir: Path, job_id: str) -> Path:
    """Move a finished (and already synced) archive to ``results/<job_id>.zip`` in one
    atomic rename, then sync the folder so the rename itself survives a power cut: only
    then may the job be recorded as succeeded."""
    target = results_dir / f"{job_id}.zip"
    try:
        os.replace(archive, target)
        fsync_folder(results_dir)
    except OSError as exc:
        raise JobFailed(f"could not store the result in {results_dir}: {_describe(exc)}"
                        ) from None
    return target


def store_archive_bytes(data: bytes, results_dir: Path, job_id: str) -> Path:
    """Write archive bytes received from a remote worker to ``results/<job_id>.zip``,
    durably and atomically, as :func:`place_archive` does for a local one."""
    target = results_dir / f"{job_id}.zip"
    try:
        with atomic_write(target, "wb", permissions=0o600, durable=True) as fh:
            fh.write(data)
    except OSError as exc:
        raise JobFailed(f"could not store the result in {results_dir}: {_describe(exc)}"
                        ) from None
    return target


def run_job_locally(task: JobTask, results_dir: str, work_dir: str) -> JobOutcome:
    """The function a local worker process runs: render, then place the archive."""
    worker = f"local-pid-{os.getpid()}"
    started = time.monotonic()
    try:
        scratch = Path(tempfile.mkdtemp(dir=work_dir, prefix=f"{task.job_id}-"))
    except OSError as exc:
        raise JobFailed(f"could not make a scratch folder in {work_dir}: {_describe(exc)}"
                        ) from None
    try:
        with local_job(task.job_id, work_dir):
            archive = render_archive(task, scratch)
            place_archive(archive, Path(results_dir), task.job_id)
    except JobFailed as exc:
        raise JobFailed(exc.message, worker) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return JobOutcome(job_id=task.job_id, worker=worker,
                      seconds=time.monotonic() - started)


def _exit_when_orphaned(parent: int, interval: float = 0.5) -> None:
    """End this worker once its parent is gone.

    Workers ignore stop signals (below), and one blocked on an empty call queue never
    notices the server has gone; without this, a server that stops or dies while a worker
    is being started or replaced leaves that worker (and multiprocessing's resource tracker,
    which waits for it) running for ever.
    """
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


def _init_local_worker(specs: tuple[str, ...]) -> None:
    # Ctrl-C or a stop signal reaches the whole process group; the server alone decides when
    # workers stop (so it can first stop handing out jobs), and then kills them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    install_worker_handler()
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True,
                     name="exit-when-orphaned").start()
    _registry(specs)


# -- executors ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExecutorConfig:
    workers: int
    generator_specs: tuple[str, ...]
    results_dir: Path
    work_dir: Path
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


def _mp_context() -> multiprocessing.context.BaseContext:
    # Never fork: the server has threads (uvicorn, the dispatcher), and a forked child can
    # inherit a lock some thread held. forkserver starts workers fast and cleanly.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


class LocalProcessExecutor(Executor):
    """A pool of worker processes on this machine, rebuilt whenever a worker dies."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self._ctx = _mp_context()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.config.workers, mp_context=self._ctx,
                                   initializer=_init_local_worker,
                                   initargs=(self.config.generator_specs,))

    @property
    def capacity(self) -> int:
        return self.config.workers

    def submit(self, task: JobTask) -> Future[JobOutcome]:
        try:
            inner = self._pool.submit(run_job_locally, task, str(self.config.results_dir),
                                      str(self.config.work_dir))
        except BrokenProcessPool:
            # A worker died since the last submission: every future of the old pool has
            # failed already, so a fresh pool starts clean.
            log.warning("worker pool broken; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            inner = self._pool.submit(run_job_locally, task, str(self.config.results_dir),
                                      str(self.config.work_dir))
        outer: Future[JobOutcome] = Future()
        outer.set_running_or_notify_cancel()
        work_dir = self.config.work_dir

        def done(f: Future) -> None:
            forget_local_cancel(task.job_id, work_dir)
            _translate(f, outer)
        inner.add_done_callback(done)
        return outer

    def cancel(self, job_id: str) -> None:
        pids = {p.pid for p in (getattr(self._pool, "_processes", None) or {}).values()}
        request_local_cancel(job_id, self.config.work_dir, pids)

    def shutdown(self) -> None:
        pool = self._pool
        # Running jobs may take minutes; a stop must not wait for them. They stay queued in
        # the database and run again after the next start.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()  # workers ignore SIGTERM (see _init_local_worker)
        for process in processes:
            process.join(timeout=5)


def _translate(inner: Future, outer: Future[JobOutcome]) -> None:
    """Reduce whatever a pool future ends with to the three outcomes the server knows."""
    if inner.cancelled():
        outer.set_exception(WorkerLost("the job was cancelled before it ran"))
        return
    exc = inner.exception()
    if exc is None:
        outer.set_result(inner.result())
    elif isinstance(exc, (JobFailed, JobCancelled)):
        outer.set_exception(exc)
    elif isinstance(exc, BrokenProcessPool):
        outer.set_exception(WorkerLost(str(exc)))
    else:  # e.g. parameters that would not pickle: the job's own problem, so final
        outer.set_exception(JobFailed(f"the worker could not run the job: {_describe(exc)}"))
