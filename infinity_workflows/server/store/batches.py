"""Batches and their jobs as the API reads them, rows of the :class:`~.database.Database`.

A batch and all its jobs are written in one transaction, so a batch is never visible with
part of its jobs. A deleted batch keeps its rows (a running job of it is still being stopped,
and its seeds can still be re-run) with ``deleted`` set: no lookup or listing finds it or its
jobs again, and its result links stop working. Every read that answers a request takes the
asking token's id and matches it in SQL: another token's batch or job is simply not found.
What moves jobs through their statuses is the queue (:mod:`.job_queue`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..rows import JOB_COLUMNS, BatchRow, JobRow, JobStatusRow, NewJob, utc_now, utc_text
from .database import Database
from .job_queue import cancel_where

__all__ = ["Batches"]

_JOB_SELECT = ", ".join(JOB_COLUMNS)
_BATCH_SELECT = ", ".join(BatchRow._fields)
# The batches their owners deleted; jobs of these are not found either.
_DELETED = "SELECT id FROM batches WHERE deleted IS NOT NULL"
_CHUNK = 500  # ids bound per query, below SQLite's bound-parameter limit


class Batches:
    """Storing submitted batches; reading batches, jobs and what was rendered."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def for_key(self, token_id: int, key: str) -> tuple[str, str] | None:
        """``(batch_id, request_hash)`` of the batch first submitted with this key."""
        row = self._db.conn.execute(
            "SELECT id, request_hash FROM batches WHERE token_id = ? AND idempotency_key = ?",
            (token_id, key)).fetchone()
        return (row[0], row[1]) if row else None

    def insert(self, *, batch_id: str, token_id: int, name: str, generator: str,
               is_preview: bool, created: str, jobs: Sequence[NewJob],
               idempotency_key: str | None, request_hash: str | None) -> None:
        """Store a batch and its jobs in one transaction: all of it or none of it.

        Raises sqlite3.IntegrityError when the idempotency key was taken meanwhile.
        """
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO batches (id, token_id, name, generator, is_preview, num_jobs, "
                "created, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, token_id, name, generator, int(is_preview), len(jobs), created,
                 idempotency_key, request_hash))
            conn.executemany(
                "INSERT INTO jobs (id, batch_id, token_id, generator, is_preview, params, seed,"
                " frames, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(j.id, batch_id, token_id, generator, int(is_preview), j.params_json, j.seed,
                  j.frames, created) for j in jobs])

    def get(self, token_id: int, batch_id: str) -> BatchRow | None:
        row = self._db.conn.execute(
            f"SELECT {_BATCH_SELECT} FROM batches WHERE id = ? AND token_id = ? "
            "AND deleted IS NULL", (batch_id, token_id)).fetchone()
        return BatchRow._make(row) if row else None

    def of_token(self, token_id: int, start: str | None = None, end: str | None = None
                 ) -> list[BatchRow]:
        """This token's batches created in ``[start, end]``, oldest first."""
        rows = self._db.conn.execute(
            f"SELECT {_BATCH_SELECT} FROM batches "
            "WHERE token_id = ? AND created >= ? AND created <= ? AND deleted IS NULL "
            "ORDER BY created, id",
            (token_id, start or "", end or "9999")).fetchall()
        return [BatchRow._make(r) for r in rows]

    def delete(self, token_id: int, batch_id: str) -> tuple[list[str], int] | None:
        """Mark this token's batch deleted and cancel its unfinished jobs, in one
        transaction; ``(every job id of the batch, jobs cancelled)``, or None when the token
        has no such batch (or deleted it already). Its idempotency key is freed, so a new
        submission with it makes a new batch. The caller removes the results."""
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE batches SET deleted = ?, idempotency_key = NULL "
                "WHERE id = ? AND token_id = ? AND deleted IS NULL",
                (utc_text(utc_now()), batch_id, token_id)).rowcount
            if not changed:
                return None
            cancelled = cancel_where(conn, "batch_id = ?", (batch_id,),
                                     "cancelled: its batch was deleted")
            job_ids = [r[0] for r in conn.execute(
                "SELECT id FROM jobs WHERE batch_id = ? ORDER BY seq", (batch_id,))]
        return job_ids, cancelled

    def status_counts(self, token_id: int) -> dict[str, dict[str, int]]:
        """``{batch_id: {status: n}}`` for every batch of this token."""
        counts: dict[str, dict[str, int]] = {}
        for batch_id, status, n in self._db.conn.execute(
                "SELECT batch_id, status, COUNT(*) FROM jobs WHERE token_id = ? "
                "GROUP BY batch_id, status", (token_id,)):
            counts.setdefault(batch_id, {})[status] = n
        return counts

    def jobs(self, batch_id: str, limit: int = -1, offset: int = 0) -> list[JobRow]:
        """The jobs of a batch, in submission order."""
        return [JobRow._make(r) for r in self._db.conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE batch_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (batch_id, limit, offset))]

    def counts(self, batch_id: str) -> dict[str, int]:
        """``{status: n}`` for one batch."""
        return dict(self._db.conn.execute(
            "SELECT status, COUNT(*) FROM jobs WHERE batch_id = ? GROUP BY status",
            (batch_id,)).fetchall())

    def statuses(self, batch_id: str) -> list[JobStatusRow]:
        """Each job's status of a batch, in submission order."""
        return [JobStatusRow._make(r) for r in self._db.conn.execute(
            f"SELECT {', '.join(JobStatusRow._fields)} FROM jobs WHERE batch_id = ? "
            "ORDER BY seq", (batch_id,))]

    def token_jobs(self, token_id: int, is_preview: bool, limit: int | None = None,
                   offset: int = 0) -> list[JobRow]:
        """This token's jobs of one kind in submission order; ``limit`` None means all."""
        return [JobRow._make(r) for r in self._db.conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE token_id = ? AND is_preview = ? "
            f"AND batch_id NOT IN ({_DELETED}) ORDER BY seq LIMIT ? OFFSET ?",
            (token_id, int(is_preview), -1 if limit is None else limit, offset))]

    def job(self, token_id: int, job_id: str) -> JobRow | None:
        row = self._db.conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE id = ? AND token_id = ? "
            f"AND batch_id NOT IN ({_DELETED})", (job_id, token_id)).fetchone()
        return JobRow._make(row) if row else None

    def job_status(self, job_id: str) -> str | None:
        """Status of a job of a live token (for signed links, which carry no token)."""
        row = self._db.conn.execute(
            "SELECT jobs.status FROM jobs JOIN tokens ON tokens.id = jobs.token_id "
            "WHERE jobs.id = ? AND tokens.revoked IS NULL "
            f"AND jobs.batch_id NOT IN ({_DELETED})", (job_id,)).fetchone()
        return row[0] if row else None

    def seeds(self, token_id: int, job_ids: Iterable[str]) -> dict[str, int]:
        """Seeds of those of ``job_ids`` that are this token's jobs."""
        ids = list(dict.fromkeys(job_ids))
        found: dict[str, int] = {}
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            marks = ",".join("?" * len(part))
            found.update(self._db.conn.execute(
                f"SELECT id, seed FROM jobs WHERE token_id = ? AND id IN ({marks})",
                (token_id, *part)).fetchall())
        return found

    def rendered_counts(self, token_id: int, start: str, end: str
                        ) -> list[tuple[str, bool, int]]:
        """``(generator, is_preview, frames)`` summed over jobs that succeeded in the window."""
        rows = self._db.conn.execute(
            "SELECT generator, is_preview, SUM(frames) FROM jobs WHERE token_id = ? "
            "AND status = 'succeeded' AND end_time >= ? AND end_time <= ? "
            "GROUP BY generator, is_preview ORDER BY generator", (token_id, start, end))
        return [(g, bool(p), int(n)) for g, p, n in rows]
