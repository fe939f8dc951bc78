"""Stopping a job that is already running, on either executor.

A generator is arbitrary code that cannot be asked to stop, so a running job is interrupted
from outside: :class:`Interrupted` is raised in the thread running it (between two Python
bytecodes, so within moments unless native code holds on for longer). It derives from
BaseException, so a generator's ``except Exception`` cannot swallow it; the worker turns it
into :class:`JobCancelled`, which travels back like any outcome.

* Local pool: the server marks the job cancelled in the work folder (``.cancel-<job id>``)
  and sends ``SIGUSR1`` to the worker process that recorded itself running it
  (``.pid-<job id>``). The worker's handler raises only while that very job is running
  and marked, so a signal that arrives late never stops the next job.
* Dask: the server cancels the job's future; a watcher thread beside the task sees the
  worker drop the task and interrupts the task's thread. Native code (a long ``sleep``, a
  big numpy call) sees no interruption until it returns, so a task still running two
  seconds later has its worker process restarted by its nanny.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "Interrupted",
    "JobCancelled",
    "forget_local_cancel",
    "install_worker_handler",
    "interrupt_thread",
    "local_job",
    "request_local_cancel",
    "watch",
]


class JobCancelled(Exception):
    """The job was stopped because it was cancelled (not a failure)."""


class Interrupted(BaseException):
    """Raised inside a running job to stop it."""


def _cancel_marker(work_dir: Path | str, job_id: str) -> Path:
    return Path(work_dir) / f".cancel-{job_id}"


def _pid_marker(work_dir: Path | str, job_id: str) -> Path:
    return Path(work_dir) / f".pid-{job_id}"


# In a worker process: the job it is running now, while it may be interrupted.
_armed: dict[str, str] = {}


def _on_signal(signum: int, frame: object) -> None:
    job_id, work_dir = _armed.get("job"), _armed.get("work")
    if job_id and work_dir and _cancel_marker(work_dir, job_id).exists():
        raise Interrupted()


def install_worker_handler() -> None:
    """In a local worker process: let the server interrupt the job it is running."""
    signal.signal(signal.SIGUSR1, _on_signal)


@contextlib.contextmanager
def local_job(job_id: str, work_dir: str) -> Iterator[None]:
    """Run one job so that the server can cancel it; raises JobCancelled when it did."""
    if _cancel_marker(work_dir, job_id).exists():
        raise JobCancelled(f"job {job_id} was cancelled before it started")
    pid_file = _pid_marker(work_dir, job_id)
    pid_file.write_text(str(os.getpid()))
    try:
        _armed.update(job=job_id, work=work_dir)
        try:
            yield
        finally:
            _armed.clear()  # from here on a late signal changes nothing
    except Interrupted:
        raise JobCancelled(f"job {job_id} was stopped: it was cancelled") from None
    finally:
        pid_file.unlink(missing_ok=True)


def request_local_cancel(job_id: str, work_dir: Path, worker_pids: set[int]) -> None:
    """Mark ``job_id`` cancelled and signal the local worker running it, if any (only one
    of ``worker_pids``: a stale pid file must never signal some other process)."""
    _cancel_marker(work_dir, job_id).touch()
    try:
        pid = int(_pid_marker(work_dir, job_id).read_text())
    except (OSError, ValueError):
        return  # not started yet: the marker stops it when it does
    if pid in worker_pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR1)


def forget_local_cancel(job_id: str, work_dir: Path) -> None:
    _cancel_marker(work_dir, job_id).unlink(missing_ok=True)


def _set_async(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


def interrupt_thread(thread_id: int) -> None:
    """Raise :class:`Interrupted` in the thread ``thread_id`` (at its next bytecode)."""
    _set_async(thread_id, Interrupted)


def watch(still_wanted: Callable[[], bool], thread_id: int, interval: float = 0.5
          ) -> Callable[[], None]:
    """Interrupt ``thread_id`` once ``still_wanted()`` turns False.

    Returns the function that ends the watch; the watched thread calls it on its way out
    (inside its ``except Interrupted``), and it withdraws an interruption not yet delivered,
    so none can fire after the watched code is left.
    """
    done = threading.Event()
    lock = threading.Lock()
    fired = False

    def run() -> None:
        nonlocal fired
        while not done.wait(interval):
            if not still_wanted():
                with lock:
                    if not done.is_set():
                        fired = True
                        interrupt_thread(thread_id)
                        done.set()
                return

    threading.Thread(target=run, name="job-cancel-watch", daemon=True).start()

    def stop() -> None:
        with lock:
            done.set()
            if fired:
                _set_async(thread_id, None)
    return stop
