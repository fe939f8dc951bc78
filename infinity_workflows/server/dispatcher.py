"""The dispatcher: one thread that moves jobs from the database queue to the executor.

It claims queued jobs in fair order only when a worker is about to need them (so the queue
stays in the database, where a restart finds it), and records each outcome. While jobs are
short (a preview takes a tenth of a second), each worker is given its next job before it
finishes the current one: otherwise it idles for every hand-off (its outcome travelling
back, the commits, the next job travelling out), 6 % of the time with previews on the local
pool and 12 to 16 % on Dask (benchmarks/bench_previews.py).

A cancelled job (its status set by the API or a token revocation) that is running is
stopped through the executor; whatever it still reports is dropped, archive included.

When a worker process dies, every job in flight on the pool is lost and nobody can tell which
one killed it. Those jobs go back to the queue uncharged and are then run one at a time,
alone: a death while a job runs alone is that job's fault. A job blamed ``max_attempts``
times ends failed, so one poisonous job cannot stall a batch or take innocent jobs with it.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from .cancellation import JobCancelled
from .executors.archive import store_archive_bytes
from .executors.base import Executor, JobFailed, JobOutcome, JobTask, WorkerLost
from .rows import ClaimedJob
from .store import Store

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)

# Seconds between looks at the queue when nothing wakes the dispatcher (a safety net: a
# submission wakes it at once).
IDLE_POLL_S = 1.0

LOOK_AHEAD_BELOW_S = 2.0
"""While the recent jobs took less than this on their workers (median), the dispatcher keeps
one job waiting per worker. Longer jobs are handed out only as workers free up: a job claimed
ahead then holds up another tenant's job for at most about this long, and the hand-off is a
negligible share of a long job."""

RECENT_JOBS = 8
"""How many recent run times decide whether jobs are short."""


@dataclass
class _InFlight:
    job: ClaimedJob
    alone: bool  # run with nothing else in flight, so a worker death is its fault


class Dispatcher:
    """Feeds the executor from the store; start() once, stop() once."""

    def __init__(self, store: Store, executor: Executor, *, generator_specs: tuple[str, ...],
                 results_dir: Path, work_dir: Path, max_attempts: int) -> None:
        self.store = store
        self.executor = executor
        self.generator_specs = generator_specs
        self.results_dir = results_dir
        self.work_dir = work_dir
        self.max_attempts = max_attempts
        self._events: queue.Queue[tuple[str, Future[JobOutcome]] | None] = queue.Queue()
        self._in_flight: dict[str, _InFlight] = {}
        self._suspects: list[str] = []  # lost in a pool crash; run alone, in this order
        # Outcomes the database could not take yet (locked, disk full): kept and written on
        # a later pass, so a finished job never stays "running" until the next restart.
        self._unrecorded: list[tuple[str, str, str | None, str | None]] = []
        self._unqueued: list[str] = []
        self._stopping_jobs: set[str] = set()  # cancelled while running: asked to stop
        self._recent_s: deque[float] = deque(maxlen=RECENT_JOBS)  # workers' run times
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        requeued = self.store.queue.requeue_running()
        if requeued:
            log.info("%d job(s) left running by the previous server are queued again", requeued)
        self._thread.start()

    def wake(self) -> None:
        """New jobs are queued: look now rather than at the next poll."""
        self._events.put(None)

    def stop(self) -> None:
        """Stop claiming, stop the workers, and leave unfinished jobs queued."""
        self._stopping.set()
        self._events.put(None)
        self._thread.join(timeout=30)
        self.executor.shutdown()
        try:
            self._drain(block=False)  # outcomes that arrived while stopping still count
        except Exception:  # noqa: BLE001 - the next start re-runs what was not recorded
            log.exception("could not record the last outcomes; those jobs run again next start")
        left = [job_id for job_id in self._in_flight]
        self.store.queue.requeue(left, refund_attempt=True)
        if left:
            log.info("%d running job(s) put back in the queue for the next start", len(left))
        self._in_flight.clear()

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._fill()
                self._stop_cancelled()
                self._drain(block=True)
            except Exception:  # noqa: BLE001 - the dispatcher must outlive any one failure
                log.exception("dispatcher error; retrying in a second")
                self._stopping.wait(1.0)

    def _fill(self) -> None:
        """Hand out work while there is a free worker."""
        if self._suspects:
            # Suspects run alone, one after another, before anything else.
            if self._in_flight:
                return
            job_id = self._suspects[0]
            job = self.store.queue.claim_job(job_id)
            if job is None:  # finished or gone meanwhile
                self._suspects.pop(0)
                self._events.put(None)
                return
            self._submit(job, alone=True)
            return
        free = self._limit() - len(self._in_flight)
        if free <= 0 or not self.store.queue.has_queued():  # a read: no write lock when idle
            return
        for job in self.store.queue.claim(free):
            self._submit(job, alone=False)

    def _limit(self) -> int:
        """How many jobs may be in flight: one per worker, two while jobs are short."""
        capacity = self.executor.capacity
        if self._recent_s and statistics.median(self._recent_s) < LOOK_AHEAD_BELOW_S:
            return 2 * capacity
        return capacity

    def _stop_cancelled(self) -> None:
        """Ask the executor to stop running jobs that were cancelled meanwhile."""
        if not self._in_flight:
            return
        for job_id in self.store.queue.cancelled_among(self._in_flight) - self._stopping_jobs:
            self._stopping_jobs.add(job_id)
            log.info("job %s was cancelled while running: stopping it", job_id)
            self.executor.cancel(job_id)

    def _submit(self, job: ClaimedJob, alone: bool) -> None:
        task = JobTask(job_id=job.id, generator=job.generator, params=job.params,
                       is_preview=job.is_preview, seed=job.seed,
                       generator_specs=self.generator_specs)
        self._in_flight[job.id] = _InFlight(job, alone)
        try:
            future = self.executor.submit(task)
        except Exception as exc:  # noqa: BLE001 - a backend that cannot take work right now
            log.exception("could not hand job %s to the executor", job.id)
            future = Future()
            future.set_exception(WorkerLost(f"the executor refused the job: {exc}"))
        future.add_done_callback(lambda f, job_id=job.id: self._events.put((job_id, f)))

    def _drain(self, block: bool) -> None:
        """Collect every outcome available now (waiting briefly for the first one)."""
        events: list[tuple[str, Future[JobOutcome]]] = []
        try:
            first = self._events.get(timeout=IDLE_POLL_S) if block else self._events.get_nowait()
            while True:
                if first is not None:
                    events.append(first)
                first = self._events.get_nowait()
        except queue.Empty:
            pass
        if events or self._unrecorded or self._unqueued:
            self._record(events)

    def _record(self, events: list[tuple[str, Future[JobOutcome]]]) -> None:
        finished: list[tuple[str, str, str | None, str | None]] = []
        lost: list[str] = []
        lost_reason = ""
        # Jobs that finished after a cancel, before it could stop them.
        cancelled = self.store.queue.cancelled_among(
            job_id for job_id, future in events if not future.exception())
        for job_id, future in events:
            flight = self._in_flight.pop(job_id, None)
            if flight is None:
                continue
            exc = future.exception()
            self._stopping_jobs.discard(job_id)
            if isinstance(exc, JobCancelled) or (exc is None and job_id in cancelled):
                self._drop_result(job_id)  # nothing of a cancelled job is kept
                self._forget_suspect(job_id)
                continue
            if isinstance(exc, WorkerLost) and self._stopping.is_set():
                # Workers are being stopped on purpose: not the job's fault, and stop()
                # puts it back in the queue.
                self._in_flight[job_id] = flight
                continue
            if exc is None:
                outcome = future.result()
                if outcome.seconds > 0:
                    self._recent_s.append(outcome.seconds)
                error = self._place(outcome)
                finished.append((job_id, "failed" if error else "succeeded", error,
                                 outcome.worker))
                self._forget_suspect(job_id)
            elif isinstance(exc, WorkerLost):
                lost_reason = str(exc)
                if flight.alone:
                    try:
                        failure = self._blame(flight.job)
                    except Exception:  # noqa: BLE001 - uncounted; it runs alone again
                        log.exception("could not count the death of job %s's worker", job_id)
                        failure = None
                    if failure:
                        finished.append((job_id, "failed", failure, None))
                        self._forget_suspect(job_id)
                    else:
                        lost.append(job_id)
                else:
                    lost.append(job_id)
                    if job_id not in self._suspects:
                        self._suspects.append(job_id)
            else:
                if isinstance(exc, JobFailed):
                    finished.append((job_id, "failed", exc.message, exc.worker))
                else:
                    finished.append((job_id, "failed", f"{type(exc).__name__}: {exc}", None))
                self._forget_suspect(job_id)
        if lost:
            # The executor's own words: a crashed pool process and a lost Dask scheduler
            # both end here, and the operator needs to know which happened.
            log.warning("%d job(s) lost their worker (%s); they will run again, one at a time",
                        len(lost), lost_reason)
        self._unrecorded.extend(finished)
        self._unqueued.extend(lost)
        # A database error propagates to the loop, which logs it and comes back in a second;
        # what was not written stays in the lists above until it is.
        self.store.queue.record(self._unrecorded)
        self._unrecorded.clear()
        self.store.queue.requeue(self._unqueued, refund_attempt=False)
        self._unqueued.clear()

    def _drop_result(self, job_id: str) -> None:
        try:
            (self.results_dir / f"{job_id}.zip").unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the result of cancelled job %s: %s", job_id, exc)

    def _place(self, outcome: JobOutcome) -> str | None:
        """Store a remote worker's archive; the error text when that fails."""
        if outcome.archive is None:
            return None
        try:
            store_archive_bytes(outcome.archive, self.results_dir, outcome.job_id)
        except JobFailed as exc:
            return str(exc)
        return None

    def _blame(self, job: ClaimedJob) -> str | None:
        """Count a death against a job that ran alone; the failure text once it is too many."""
        deaths = self.store.queue.add_death(job.id)
        if deaths < self.max_attempts:
            log.warning("job %s killed its worker process (%d of %d allowed)", job.id, deaths,
                        self.max_attempts)
            return None
        return (f"the worker process running this job died {deaths} times (it exited without "
                "reporting: a crash in native code, running out of memory, or a kill); the "
                f"server gave up after {self.max_attempts} attempts (--max-attempts). Check "
                "the parameters, or try the job again on its own")

    def _forget_suspect(self, job_id: str) -> None:
        if job_id in self._suspects:
            self._suspects.remove(job_id)
