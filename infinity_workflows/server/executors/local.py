"""The local backend: a pool of worker processes on this machine.

Each worker runs :func:`run_job_locally` (render, zip and place the archive itself, see
:mod:`.archive`); a worker that dies breaks the pool, which is rebuilt, and every job it held
comes back to the dispatcher as :class:`~.base.WorkerLost`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..cancellation import (
    JobCancelled,
    forget_local_cancel,
    install_worker_handler,
    local_job,
    request_local_cancel,
)
from .archive import describe, place_archive, render_archive, worker_registry
from .base import Executor, ExecutorConfig, JobFailed, JobOutcome, JobTask, WorkerLost

__all__ = ["LocalProcessExecutor", "run_job_locally"]

log = logging.getLogger(__name__)


def run_job_locally(task: JobTask, results_dir: str, work_dir: str) -> JobOutcome:
    """The function a local worker process runs: render, then place the archive."""
    worker = f"local-pid-{os.getpid()}"
    started = time.monotonic()
    try:
        scratch = Path(tempfile.mkdtemp(dir=work_dir, prefix=f"{task.job_id}-"))
    except OSError as exc:
        raise JobFailed(f"could not make a scratch folder in {work_dir}: {describe(exc)}"
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
    worker_registry(specs)


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
        outer.set_exception(JobFailed(f"the worker could not run the job: {describe(exc)}"))
