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
from . import lifeline
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


def _init_local_worker(specs: tuple[str, ...], server: tuple[int, str]) -> None:
    # Ctrl-C or a stop signal reaches the whole process group; the server alone decides when
    # workers stop (so it can first stop handing out jobs), and then kills them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    install_worker_handler()
    # Whatever ends the server ends this worker too (see lifeline).
    lifeline.bind_to_parent(os.getppid())
    lifeline.watch_server(*server)
    worker_registry(specs)


# Leaves room for multiprocessing's "/pymp-xxxxxxxx/listener-xxxxxxxx" in an AF_UNIX path.
_MAX_SOCKET_FOLDER = 70


def _mp_context() -> multiprocessing.context.BaseContext:
    # Never fork: the server has threads (uvicorn, the dispatcher), and a forked child can
    # inherit a lock some thread held. forkserver starts workers fast and cleanly.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([lifeline.__name__, __name__])
        return ctx
    return multiprocessing.get_context("spawn")


class LocalProcessExecutor(Executor):
    """A pool of worker processes on this machine, rebuilt whenever a worker dies."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        lifeline.mark_server()
        self._server = lifeline.server_identity()
        self._ctx = _mp_context()
        self._start_forkserver()
        self._pool = self._new_pool()

    def _start_forkserver(self) -> None:
        """Start the forkserver now, from this (the main) thread, with its socket in the
        server's own ``socket_dir``.

        The kernel's parent-death signal follows the thread that started a process, and the
        main thread lives as long as the server. multiprocessing would put the socket in a
        ``pymp-*`` folder of the shared temp folder, which only its exit handler removes; in
        ``socket_dir`` a folder left by a server that was killed is removed at the next start.
        """
        if self._ctx.get_start_method() != "forkserver":
            return
        from multiprocessing import forkserver

        saved = tempfile.tempdir
        folder = self.config.socket_dir
        # AF_UNIX paths are short (108 bytes on Linux): a deep folder keeps the default.
        if folder is not None and len(str(folder)) <= _MAX_SOCKET_FOLDER:
            folder.mkdir(mode=0o700, exist_ok=True)
            for stale in folder.glob("pymp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tempfile.tempdir = str(folder)
        try:
            forkserver.ensure_running()
        finally:
            tempfile.tempdir = saved

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.config.workers, mp_context=self._ctx,
                                   initializer=_init_local_worker,
                                   initargs=(self.config.generator_specs, self._server))

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
        # Let the pool's own thread see its workers gone and release its queues, so nothing
        # is left for the resource tracker to warn about at exit; a stop never hangs on it.
        waiter = threading.Thread(target=pool.shutdown, kwargs={"wait": True},
                                  name="pool-shutdown", daemon=True)
        waiter.start()
        waiter.join(timeout=_POOL_SHUTDOWN_S)


_POOL_SHUTDOWN_S = 10.0


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
