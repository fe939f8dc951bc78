"""Running jobs on a Dask distributed cluster instead of the local process pool.

``infinity-workflows serve --executor dask --scheduler tcp://HOST:8786`` builds a
:class:`DaskExecutor`. A Dask worker needs nothing but this package (and the generators'):
it renders a job into a scratch folder of its own, zips it there, and returns the archive's
bytes in the :class:`~.base.JobOutcome`; the server's dispatcher stores them with
:func:`~.archive.store_archive_bytes`. Workers never see the server's database or files.

Failures map onto the three outcomes the dispatcher knows:

* the job's own error (:class:`~.base.JobFailed`) travels back as it is;
* a worker that dies mid-job is Dask's business: the scheduler reruns the task on another
  worker, and only after ``distributed.scheduler.allowed-failures`` deaths gives up with
  ``KilledWorker``, which ends the job failed with a sentence saying so (the scheduler has
  already done the per-task blaming that the local pool leaves to the dispatcher);
* a future cancelled or a result lost with the connection to the cluster is
  :class:`~.base.WorkerLost`: the dispatcher puts the job back in the queue.

Every submission has a fresh key (``pure=False`` plus a random suffix), so a job sent again
after a server restart or a requeue is computed again rather than answered from a result the
cluster may still hold, and every future is released once its outcome is collected, so the
scheduler does not keep archive bytes in worker memory.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, get_worker
from distributed import Future as DaskFuture
from distributed.scheduler import KilledWorker

from ..cancellation import Interrupted, JobCancelled, watch
from .archive import describe, render_archive
from .base import Executor, ExecutorConfig, JobFailed, JobOutcome, JobTask, WorkerLost

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DaskExecutor",
    "DaskUnavailable",
    "run_job_on_dask_worker",
]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0
"""How long the server waits for the scheduler when it starts (or reconnects)."""

CAPACITY_TTL_S = 2.0
"""How long the cluster's thread count is trusted before the scheduler is asked again."""

CAPACITY_QUERY_TIMEOUT_S = 10.0
"""How long asking the scheduler for its workers may take (the dispatcher waits on it)."""

RESULT_TIMEOUT_S = 600.0
"""How long fetching a finished job's archive from its worker may take."""

RECONNECT_EVERY_S = 10.0
"""After the client has given up on the scheduler, how often a new connection is tried."""


_RUNNING = frozenset({"executing", "long-running"})

CANCEL_GRACE_S = 2.0
"""How long a cancelled task may take to notice before its worker process is restarted."""


def _still_running(key: str, dask_worker=None) -> bool:
    """On a worker: whether the task ``key`` still holds a thread ("cancelled" is Dask's
    name for a task no longer wanted whose thread has not returned yet)."""
    task_state = dask_worker.state.tasks.get(key) if dask_worker is not None else None
    return task_state is not None and task_state.state in (*_RUNNING, "cancelled")


class DaskUnavailable(RuntimeError):
    """The scheduler could not be reached (wrong address, not started, or a firewall)."""


# -- what a Dask worker runs --------------------------------------------------------------------
# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_JOB_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest
_JOB_TRIM_THRESHOLD = 64 * 1024 * 1024
_GLIBC_MMAP_THRESHOLD = 128 * 1024  # glibc's default, and where the nanny's setting pins it
KEEP_FREE_HEAP_BYTES = 64 * 1024 * 1024
"""Freed heap a Dask worker keeps for its next job; beyond this it is given back."""

_heap_lock = threading.Lock()
_heap_jobs = 0  # jobs of this worker process running inside _job_heap


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc has both; others do not
    except (OSError, AttributeError):
        return None
    return libc


def _free_heap_bytes(libc: ctypes.CDLL) -> int | None:
    """Bytes freed but kept by malloc (glibc 2.33 or later; None before)."""
    try:
        mallinfo2 = libc.mallinfo2
    except AttributeError:
        return None
    mallinfo2.restype = _MallInfo2
    return mallinfo2().fordblks


@contextmanager
def _job_heap() -> Iterator[None]:
    """Let the heap serve a job's large arrays, and give the memory back when it is a lot.

    A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_`` set (Dask's default, so
    freed memory goes back to the system), which also pins glibc's mmap threshold at
    128 KiB: every array above that is then a fresh mapping whose pages the kernel zeroes
    again, and a VisionFit preview, which makes many such arrays, costs about half as much
    CPU again as in the local pool. While jobs run, the thresholds are raised; when the last
    one ends they go back to what the environment set, and ``malloc_trim`` returns the free
    memory once more than :data:`KEEP_FREE_HEAP_BYTES` of it is kept (trimming after every
    preview would cost a few milliseconds of page faults in the next). Elsewhere (no such
    variable, not glibc) this does nothing.
    """
    global _heap_jobs
    try:
        restore_trim = int(os.environ["MALLOC_TRIM_THRESHOLD_"])
        restore_mmap = int(os.environ.get("MALLOC_MMAP_THRESHOLD_", _GLIBC_MMAP_THRESHOLD))
    except (KeyError, ValueError):
        yield
        return
    libc = _glibc()
    if libc is None:
        yield
        return
    with _heap_lock:
        if _heap_jobs == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _JOB_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, _JOB_TRIM_THRESHOLD)
        _heap_jobs += 1
    try:
        yield
    finally:
        with _heap_lock:
            _heap_jobs -= 1
            if _heap_jobs == 0:
                libc.mallopt(_M_MMAP_THRESHOLD, restore_mmap)
                libc.mallopt(_M_TRIM_THRESHOLD, restore_trim)
                kept = _free_heap_bytes(libc)
                if kept is None or kept > KEEP_FREE_HEAP_BYTES:
                    libc.malloc_trim(0)


def run_job_on_dask_worker(task: JobTask) -> JobOutcome:
    """Render ``task`` in this worker's own scratch folder and return the archive's bytes."""
    worker = get_worker()
    started = time.monotonic()
    try:
        scratch = Path(tempfile.mkdtemp(dir=worker.local_directory,
                                        prefix=f"job-{task.job_id}-"))
    except OSError as exc:
        raise JobFailed(f"the Dask worker {worker.address} could not make a scratch folder: "
                        f"{describe(exc)}") from None
    key = worker.get_current_task()

    def still_wanted() -> bool:  # a cancelled future makes the worker drop the task
        task_state = worker.state.tasks.get(key)
        return task_state is not None and task_state.state in _RUNNING

    stop_watching = watch(still_wanted, threading.get_ident())
    try:
        try:
            with _job_heap():
                archive = render_archive(task, scratch)
            try:
                data = archive.read_bytes()
            except OSError as exc:
                raise JobFailed(f"the Dask worker {worker.address} could not read back the "
                                f"job's archive: {describe(exc)}") from None
        finally:
            stop_watching()
    except Interrupted:
        raise JobCancelled(f"job {task.job_id} was stopped on {worker.address}: it was "
                           "cancelled") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return JobOutcome(job_id=task.job_id, worker=worker.address, archive=data,
                      seconds=time.monotonic() - started)


# -- the executor -------------------------------------------------------------------------------
class DaskExecutor(Executor):
    """Sends jobs to the scheduler at ``config.options["scheduler"]``."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.address = (config.options.get("scheduler") or "").strip()
        if not self.address:
            raise DaskUnavailable("--executor dask needs the scheduler's address: add "
                                  "--scheduler tcp://HOST:8786 (start one with `dask "
                                  "scheduler`)")
        self.connect_timeout = float(config.options.get("connect_timeout", CONNECT_TIMEOUT_S))
        self._lock = threading.Lock()
        self._futures: dict[str, DaskFuture] = {}  # key -> future, until collected
        self._keys: dict[str, str] = {}  # job id -> its key, until collected
        self._cancelled: set[str] = set()  # job ids being cancelled
        self._capacity = 0
        self._capacity_at = 0.0
        self._reconnect_at = 0.0
        self._closing = False
        # Collecting a result may wait on a transfer or a recompute: never on Dask's one
        # callback thread, and never on the dispatcher's.
        self._collectors = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dask-results")
        self._client = self._connect()
        log.info("sending jobs to the Dask scheduler at %s (%d worker thread(s) now)",
                 self.address, self.capacity)

    def _connect(self) -> Client:
        try:
            return Client(self.address, timeout=self.connect_timeout, set_as_default=False,
                          name="infinity-workflows-server")
        except (OSError, TimeoutError, ValueError) as exc:
            raise DaskUnavailable(
                f"could not reach the Dask scheduler at {self.address} within "
                f"{self.connect_timeout:g}s ({describe(exc)}); start it with `dask "
                "scheduler`, check the address and that its port is open to this "
                "machine") from None

    # -- capacity ---------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        """Worker threads in the cluster now; 0 while the scheduler is out of reach."""
        now = time.monotonic()
        if now - self._capacity_at < CAPACITY_TTL_S:
            return self._capacity
        self._capacity_at = now
        client = self._usable_client()
        if client is None:
            self._capacity = 0
            return 0
        try:
            self._capacity = sum(
                client.nthreads(callback_timeout=CAPACITY_QUERY_TIMEOUT_S).values())
        except Exception as exc:  # noqa: BLE001 - any failure means: no room right now
            log.warning("could not ask the Dask scheduler for its workers: %s", describe(exc))
            self._capacity = 0
        return self._capacity

    def _usable_client(self) -> Client | None:
        """The client when it is connected; a fresh one once the old one has given up."""
        status = self._client.status
        if status == "running":
            return self._client
        if status not in ("closed", "failed") or self._closing:
            return None  # connecting or reconnecting: wait for it
        now = time.monotonic()
        if now < self._reconnect_at:
            return None
        self._reconnect_at = now + RECONNECT_EVERY_S
        try:
            self._client = self._connect()
        except DaskUnavailable as exc:
            log.warning("%s", exc)
            return None
        log.info("connected to the Dask scheduler at %s again", self.address)
        return self._client

    # -- jobs -------------------------------------------------------------------------------
    def submit(self, task: JobTask) -> Future[JobOutcome]:
        key = f"infinity-job-{task.job_id}-{uuid.uuid4().hex[:12]}"
        dask_future = self._client.submit(run_job_on_dask_worker, task, key=key, pure=False,
                                          retries=0)
        outer: Future[JobOutcome] = Future()
        outer.set_running_or_notify_cancel()
        with self._lock:
            self._futures[key] = dask_future
            self._keys[task.job_id] = key
        dask_future.add_done_callback(lambda f: self._on_done(key, f, outer))
        return outer

    def cancel(self, job_id: str) -> None:
        """Cancel the job's future (its watcher on the worker then interrupts it); a task
        still running after :data:`CANCEL_GRACE_S` (held in native code, which no
        interruption reaches) has its worker process restarted by its nanny."""
        with self._lock:
            key = self._keys.get(job_id, "")
            future = self._futures.get(key)
            if future is None:
                return
            self._cancelled.add(job_id)
        threading.Thread(target=self._stop, args=(job_id, key, future), daemon=True,
                         name=f"cancel-{job_id}").start()

    def _stop(self, job_id: str, key: str, future: DaskFuture) -> None:
        try:
            where = [w for w, keys in self._client.processing().items() if key in keys]
            self._client.cancel([future], force=True)
            deadline = time.monotonic() + CANCEL_GRACE_S
            while where and time.monotonic() < deadline:
                time.sleep(0.25)
                busy = self._client.run(_still_running, key, workers=where,
                                        on_error="ignore")
                where = [w for w, running in busy.items() if running]
            if where:
                log.warning("job %s did not stop when cancelled; restarting its worker %s",
                            job_id, ", ".join(where))
                self._client.restart_workers(where, timeout=60, raise_for_error=False)
        except Exception as exc:  # noqa: BLE001 - best effort; it may finish on its own
            log.warning("could not stop cancelled job %s on Dask: %s", job_id,
                        describe(exc))

    def _on_done(self, key: str, dask_future: DaskFuture, outer: Future[JobOutcome]) -> None:
        try:
            self._collectors.submit(self._collect, key, dask_future, outer)
        except RuntimeError:  # stopping: the dispatcher requeues whatever is unresolved
            outer.set_exception(WorkerLost("the server stopped before the job's outcome "
                                           "was collected"))

    def _collect(self, key: str, dask_future: DaskFuture, outer: Future[JobOutcome]) -> None:
        job_id = key.removeprefix("infinity-job-")[:-13]  # the key's random suffix cut
        try:
            if job_id in self._cancelled and dask_future.status == "cancelled":
                raise JobCancelled(f"job {job_id} was cancelled")
            outer.set_result(self._outcome(dask_future))
        except (JobFailed, WorkerLost, JobCancelled) as exc:
            outer.set_exception(exc)
        finally:
            dask_future.release()  # the worker may drop the archive now
            with self._lock:
                self._futures.pop(key, None)
                self._keys.pop(job_id, None)
                self._cancelled.discard(job_id)

    def _outcome(self, dask_future: DaskFuture) -> JobOutcome:
        """Reduce a finished Dask future to an outcome, or JobFailed / WorkerLost."""
        status = dask_future.status
        if status == "cancelled":
            raise WorkerLost("the job's Dask task was cancelled (the server is stopping or "
                             "lost the scheduler)")
        if status == "finished":
            try:
                outcome = dask_future.result(timeout=RESULT_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - a transfer that failed: run it again
                raise WorkerLost(f"could not fetch the result from the Dask worker: "
                                 f"{describe(exc)}") from None
            if not isinstance(outcome, JobOutcome):
                raise JobFailed(f"the Dask worker returned {type(outcome).__name__}, not a "
                                "job outcome; are server and workers running the same "
                                "version of infinity-workflows?")
            return outcome
        try:
            exc = dask_future.exception(timeout=RESULT_TIMEOUT_S)
        except Exception as err:  # noqa: BLE001 - cancelled or disconnected meanwhile
            raise WorkerLost(f"lost the job's Dask task: {describe(err)}") from None
        if isinstance(exc, (JobFailed, JobCancelled)):
            raise exc
        if isinstance(exc, KilledWorker):
            raise JobFailed(
                f"the Dask workers running this job died {exc.allowed_failures + 1} times "
                "(a crash in native code, running out of memory, or a kill); the scheduler "
                "gave up (its distributed.scheduler.allowed-failures setting). Check the "
                "parameters and the worker logs, or try the job again on its own")
        if exc is None:
            raise WorkerLost(f"the job's Dask task ended as {status!r} without a result")
        # ModuleNotFoundError and the like: the worker cannot run this job at all.
        raise JobFailed(f"the Dask worker could not run the job: {describe(exc)}; install "
                        "infinity-workflows (and the generator) on every worker")

    def shutdown(self) -> None:
        """Cancel what is in flight (the dispatcher requeues it) and disconnect."""
        self._closing = True
        with self._lock:
            pending = list(self._futures.values())
        try:
            if pending and self._client.status == "running":
                self._client.cancel(pending, force=True)
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("could not cancel running Dask tasks: %s", describe(exc))
        self._collectors.shutdown(wait=True, cancel_futures=False)
        try:
            self._client.close(timeout=10)
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("could not close the Dask client cleanly: %s", describe(exc))
