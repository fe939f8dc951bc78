"""The job queue, kept in the jobs table: claiming fairly, recording outcomes, cancelling.

Jobs are claimed only when a worker is free, so the database, not a process's memory, is the
queue, and a server killed mid-batch finds every unfinished job here when it starts again.
:class:`JobQueue` holds these operations over the :class:`~.database.Database`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from ..rows import ClaimedJob, utc_now, utc_text
from .database import Database

__all__ = ["FAIR_ORDER", "JobQueue", "cancel_where"]


# Which queued jobs run next: the job whose token has the least work ahead of it, in
# frames (the generator's estimate of a job's cost): what the token runs now plus its queued
# jobs before this one. That is start-time fair queueing across tokens: a token that has
# nothing running gets the next free worker, however much another token has queued, and a
# token whose jobs are long (videos) gets as much worker time as one whose jobs are short
# (previews), not as many jobs. Within a token, previews go before its own videos (a
# preview is a person waiting to look at it), and its batches take turns: a job's place is
# its position in its batch plus what that batch already runs. Ties go to the batch, then
# the token, served least recently (``last_claimed``). Previews first across tokens let one
# tenant's stream of previews hold another's video 42x its idle time.
# Cost stays small whatever the history: the batches with queued jobs are found by hopping
# an index (``active``), only each one's first :limit queued jobs are ranked, and running
# jobs are read from their own partial index (benchmarks/bench_fair_share.py: under a
# millisecond of CPU with 20,000 queued).
FAIR_ORDER = """
WITH RECURSIVE active(batch_id) AS (
    SELECT MIN(batch_id) FROM jobs WHERE status = 'queued'
    UNION ALL
    SELECT (SELECT MIN(batch_id) FROM jobs WHERE status = 'queued'
            AND batch_id > active.batch_id)
    FROM active WHERE active.batch_id IS NOT NULL),
busy_batch AS (
    SELECT batch_id, COUNT(*) AS n FROM jobs INDEXED BY jobs_running
    WHERE status = 'running' GROUP BY batch_id),
busy_token AS (
    SELECT token_id, SUM(MAX(frames, 1)) AS work FROM jobs INDEXED BY jobs_running
    WHERE status = 'running' GROUP BY token_id),
queued AS (
    SELECT j.seq, j.token_id, j.batch_id, j.is_preview, MAX(j.frames, 1) AS cost,
           ROW_NUMBER() OVER (PARTITION BY j.batch_id ORDER BY j.seq) AS nth
    FROM active a JOIN jobs j ON j.seq IN (
        SELECT seq FROM jobs WHERE batch_id = a.batch_id AND status = 'queued'
        ORDER BY seq LIMIT :limit)),
ahead AS (
    SELECT q.seq, q.token_id,
           SUM(q.cost) OVER (PARTITION BY q.token_id
                             ORDER BY q.is_preview DESC, q.nth + COALESCE(bb.n, 0),
                                      b.last_claimed, q.seq
                             ROWS UNBOUNDED PRECEDING) - q.cost AS work
    FROM queued q JOIN batches b ON b.id = q.batch_id
    LEFT JOIN busy_batch bb ON bb.batch_id = q.batch_id)
SELECT t.seq FROM ahead t JOIN tokens k ON k.id = t.token_id
LEFT JOIN busy_token bt ON bt.token_id = t.token_id
ORDER BY t.work + COALESCE(bt.work, 0), k.last_claimed, t.seq
LIMIT :limit
"""


def cancel_where(conn: sqlite3.Connection, where: str, args: Sequence[object],
                 reason: str) -> int:
    """Within a write transaction: unfinished jobs matching ``where`` become cancelled.

    A function, not a method, so revoking a token (:mod:`.tokens`) cancels its jobs in the
    same transaction that revokes it.
    """
    return conn.execute(
        "UPDATE jobs SET status = 'cancelled', end_time = ?, error = ? "
        f"WHERE {where} AND status IN ('queued', 'running')",
        (utc_text(utc_now()), reason, *args)).rowcount


class JobQueue:
    """Queue operations over the ``jobs`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def cancel(self, token_id: int, *, batch_id: str | None = None,
               job_id: str | None = None) -> int:
        """Cancel this token's unfinished jobs of a batch, or one job; how many were.
        Finished jobs stay as they are, so cancelling a finished batch changes nothing."""
        column, value = ("batch_id", batch_id) if batch_id is not None else ("id", job_id)
        with self._db.write() as conn:
            return cancel_where(conn, f"token_id = ? AND {column} = ?", (token_id, value),
                                "cancelled by its owner")

    def cancelled_among(self, job_ids: Iterable[str]) -> set[str]:
        """Those of ``job_ids`` that are cancelled (the dispatcher stops them)."""
        ids = list(job_ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):  # below SQLite's bound-parameter limit
            part = ids[i:i + 500]
            found.update(r[0] for r in self._db.conn.execute(
                f"SELECT id FROM jobs WHERE status = 'cancelled' AND id IN "
                f"({','.join('?' * len(part))})", part))
        return found

    def requeue_running(self) -> int:
        """At startup: jobs left running by a previous process go back to the queue."""
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'queued', worker = NULL, start_time = NULL "
                "WHERE status = 'running'").rowcount

    def has_queued(self) -> bool:
        return self._db.conn.execute(
            "SELECT 1 FROM jobs WHERE status = 'queued' LIMIT 1").fetchone() is not None

    def claim(self, limit: int) -> list[ClaimedJob]:
        """Mark up to ``limit`` queued jobs running, in fair order (:data:`FAIR_ORDER`),
        and return them in that order."""
        if limit <= 0:
            return []
        with self._db.write() as conn:
            order = [seq for (seq,) in conn.execute(FAIR_ORDER, {"limit": limit})]
            if not order:
                return []
            now = utc_text(utc_now())
            marks = ",".join("?" * len(order))
            rows = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, start_time = ?, "
                f"worker = NULL WHERE seq IN ({marks}) "
                "RETURNING seq, id, generator, is_preview, params, seed, attempts, deaths",
                (now, *order)).fetchall()
            # Who was served last: the tie-break that makes the order round-robin.
            conn.execute("UPDATE batches SET last_claimed = ? WHERE id IN (SELECT batch_id "
                         f"FROM jobs WHERE seq IN ({marks}))", (now, *order))
            conn.execute("UPDATE tokens SET last_claimed = ? WHERE id IN (SELECT token_id "
                         f"FROM jobs WHERE seq IN ({marks}))", (now, *order))
        rank = {seq: i for i, seq in enumerate(order)}
        return [_claimed(r) for r in sorted(rows, key=lambda r: rank[r[0]])]

    def claim_job(self, job_id: str) -> ClaimedJob | None:
        """Mark one particular queued job running (for a job being run on its own)."""
        with self._db.write() as conn:
            row = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, start_time = ?, "
                "worker = NULL WHERE id = ? AND status = 'queued' "
                "RETURNING seq, id, generator, is_preview, params, seed, attempts, deaths",
                (utc_text(utc_now()), job_id)).fetchone()
        return _claimed(row) if row else None

    def record(self, finished: Sequence[tuple[str, str, str | None, str | None]]) -> None:
        """Store outcomes ``(job_id, status, error, worker)`` of running jobs, in one go."""
        if not finished:
            return
        now = utc_text(utc_now())
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE jobs SET status = ?, error = ?, worker = ?, end_time = ? "
                "WHERE id = ? AND status = 'running'",
                [(status, error, worker, now, job_id)
                 for job_id, status, error, worker in finished])

    def requeue(self, job_ids: Sequence[str], *, refund_attempt: bool) -> None:
        """Put running jobs back in the queue (their run was lost, not their fault)."""
        if not job_ids:
            return
        refund = ", attempts = MAX(attempts - 1, 0)" if refund_attempt else ""
        with self._db.write() as conn:
            conn.executemany(
                f"UPDATE jobs SET status = 'queued', worker = NULL, start_time = NULL{refund} "
                "WHERE id = ? AND status = 'running'", [(j,) for j in job_ids])

    def add_death(self, job_id: str) -> int:
        """Count one worker death blamed on this job; returns the new count."""
        with self._db.write() as conn:
            row = conn.execute("UPDATE jobs SET deaths = deaths + 1 WHERE id = ? "
                               "RETURNING deaths", (job_id,)).fetchone()
        return row[0] if row else 0


def _claimed(row: tuple) -> ClaimedJob:
    _seq, job_id, generator, is_preview, params, seed, attempts, deaths = row
    return ClaimedJob(id=job_id, generator=generator, is_preview=bool(is_preview),
                      params=json.loads(params), seed=seed, attempts=attempts, deaths=deaths)
