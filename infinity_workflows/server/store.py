"""The server's state in one SQLite database: tokens, batches, and jobs (which are the queue).

A job's ``status`` moves ``queued -> running -> succeeded | failed``, or to ``cancelled``
from ``queued`` or ``running`` (its owner cancelled it, or its token was revoked). The queue
operations (fair claiming, outcomes, cancelling) are in :mod:`.job_queue`.

Tokens are stored as SHA-256 hashes, so a copied database reveals none. A token's
``generators`` column is its grant: NULL for every generator the server runs (including ones
installed later), else a JSON list of the names it may use (possibly empty). A revoked token
keeps its row (its batches still point at it) with ``revoked`` set: it then authenticates
nothing, and its result links stop working. Every connection is
per thread (SQLite connections must not be shared across threads), in WAL mode so readers
never wait for the writer, with a busy timeout for the rare writer-writer overlap.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from .job_queue import JobQueue
from .rows import (
    JOB_COLUMNS,
    BatchRow,
    JobRow,
    JobStatusRow,
    NewJob,
    TokenRow,
    hash_token,
    utc_now,
    utc_text,
)

__all__ = ["SCHEMA_VERSION", "Store"]

_JOB_SELECT = ", ".join(JOB_COLUMNS)
_BATCH_SELECT = ", ".join(BatchRow._fields)

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created     TEXT NOT NULL,
    generators  TEXT,
    revoked     TEXT,
    last_claimed TEXT
);
CREATE TABLE IF NOT EXISTS batches (
    id              TEXT PRIMARY KEY,
    token_id        INTEGER NOT NULL REFERENCES tokens(id),
    name            TEXT NOT NULL,
    generator       TEXT NOT NULL,
    is_preview      INTEGER NOT NULL,
    num_jobs        INTEGER NOT NULL,
    created         TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT,
    last_claimed    TEXT
);
CREATE INDEX IF NOT EXISTS batches_by_token ON batches(token_id, created);
CREATE UNIQUE INDEX IF NOT EXISTS batches_by_key ON batches(token_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    batch_id    TEXT NOT NULL REFERENCES batches(id),
    token_id    INTEGER NOT NULL,
    generator   TEXT NOT NULL,
    is_preview  INTEGER NOT NULL,
    params      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    frames      INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    deaths      INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    worker      TEXT,
    created     TEXT NOT NULL,
    start_time  TEXT,
    end_time    TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_batch ON jobs(batch_id, seq);
CREATE INDEX IF NOT EXISTS jobs_by_token ON jobs(token_id, is_preview, seq);
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs(seq) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS jobs_queued_by_batch ON jobs(batch_id, seq) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(seq) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(token_id, end_time) WHERE status = 'succeeded';
CREATE TABLE IF NOT EXISTS portal_sessions (
    id_hash     TEXT PRIMARY KEY,
    token_id    INTEGER NOT NULL REFERENCES tokens(id),
    created     TEXT NOT NULL,
    expires     TEXT NOT NULL
);
"""



class Store(JobQueue):
    """All reads and writes of the database; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _make_private(path)
        self._local = threading.local()
        # executescript manages its own transaction, so the schema is wrapped in one here.
        self._conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        self._migrate()

    def _migrate(self) -> None:
        """Bring a database made by an older version up to date, in place.

        Checked and altered in one write transaction, so two processes opening the same old
        database at once cannot both add a column.
        """
        with self._write() as conn:
            token_columns = {row[1] for row in conn.execute("PRAGMA table_info(tokens)")}
            if "generators" not in token_columns:
                # Version 1 had no grants: NULL keeps its tokens' access to every generator.
                conn.execute("ALTER TABLE tokens ADD COLUMN generators TEXT")
            if "revoked" not in token_columns:  # version 2 could not revoke
                conn.execute("ALTER TABLE tokens ADD COLUMN revoked TEXT")
            # Version 3 claimed in submission order; fair claiming remembers who was served.
            if "last_claimed" not in token_columns:
                conn.execute("ALTER TABLE tokens ADD COLUMN last_claimed TEXT")
            batch_columns = {row[1] for row in conn.execute("PRAGMA table_info(batches)")}
            if "last_claimed" not in batch_columns:
                conn.execute("ALTER TABLE batches ADD COLUMN last_claimed TEXT")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections ------------------------------------------------------------------------
    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA busy_timeout = 30000")
            # FULL: a commit (a batch accepted, a job recorded succeeded) survives a power
            # cut, not only a crash of the process.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (no upgrade deadlock)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- tokens -------------------------------------------------------------------------------
    def create_token(self, name: str, generators: Iterable[str] | None = None) -> str:
        """Make a token, store only its hash, and return the token (shown once).

        ``generators``: the names the token may use; None grants every generator, an empty
        list none.
        """
        token = secrets.token_urlsafe(32)
        grant = None if generators is None else json.dumps(sorted(set(generators)))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO tokens (name, token_hash, created, generators) VALUES (?, ?, ?, ?)",
                (name, hash_token(token), utc_text(utc_now()), grant))
        return token

    def count_tokens(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]

    def tokens(self) -> list[TokenRow]:
        """Every token, revoked ones too."""
        rows = self._conn.execute(
            "SELECT id, name, created, generators, revoked FROM tokens ORDER BY id").fetchall()
        return [TokenRow(i, name, created, None if grant is None else json.loads(grant),
                         revoked) for i, name, created, grant, revoked in rows]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a live token and cancel its unfinished jobs (a leaked token's work must
        not go on); False when there is no such live token."""
        now = utc_text(utc_now())
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (now, token_id)).rowcount
            if changed:
                self._cancel_in(conn, "token_id = ?", (token_id,),
                                "cancelled: its token was revoked")
        return changed == 1

    def set_token_generators(self, token_id: int, generators: Iterable[str] | None) -> bool:
        """Replace a live token's grant (None: every generator); False when no such token."""
        grant = None if generators is None else json.dumps(sorted(set(generators)))
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE tokens SET generators = ? WHERE id = ? AND revoked IS NULL",
                (grant, token_id)).rowcount
        return changed == 1

    def token_id(self, token: str) -> int | None:
        """The live token's id; None for an unknown or revoked token."""
        row = self._conn.execute(
            "SELECT id FROM tokens WHERE token_hash = ? AND revoked IS NULL",
            (hash_token(token),)).fetchone()
        return row[0] if row else None

    def token_generators(self, token_id: int) -> frozenset[str] | None:
        """The generator names this token may use; None when it may use every generator."""
        row = self._conn.execute("SELECT generators FROM tokens WHERE id = ?",
                                 (token_id,)).fetchone()
        if row is None:
            return frozenset()  # an unknown token may use nothing
        return None if row[0] is None else frozenset(json.loads(row[0]))

    def token_name(self, token_id: int) -> str | None:
        row = self._conn.execute("SELECT name FROM tokens WHERE id = ?", (token_id,)).fetchone()
        return row[0] if row else None

    # -- portal sessions ----------------------------------------------------------------------
    def create_session(self, token_id: int, ttl_seconds: float) -> str:
        """A new random session id for a live token (stored only as a hash); expired
        sessions are dropped on the way."""
        session = secrets.token_urlsafe(32)
        now = utc_now()
        with self._write() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE expires < ?", (utc_text(now),))
            conn.execute(
                "INSERT INTO portal_sessions (id_hash, token_id, created, expires) "
                "VALUES (?, ?, ?, ?)",
                (hash_token(session), token_id, utc_text(now),
                 utc_text(now + timedelta(seconds=ttl_seconds))))
        return session

    def session_token_id(self, session: str) -> int | None:
        """The token a current session stands for; None once it expired, was ended, or its
        token was revoked."""
        row = self._conn.execute(
            "SELECT s.token_id FROM portal_sessions s JOIN tokens t ON t.id = s.token_id "
            "WHERE s.id_hash = ? AND s.expires > ? AND t.revoked IS NULL",
            (hash_token(session), utc_text(utc_now()))).fetchone()
        return row[0] if row else None

    def end_session(self, session: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE id_hash = ?",
                         (hash_token(session),))

    # -- batches ------------------------------------------------------------------------------
    def batch_for_key(self, token_id: int, key: str) -> tuple[str, str] | None:
        """``(batch_id, request_hash)`` of the batch first submitted with this key."""
        row = self._conn.execute(
            "SELECT id, request_hash FROM batches WHERE token_id = ? AND idempotency_key = ?",
            (token_id, key)).fetchone()
        return (row[0], row[1]) if row else None

    def insert_batch(self, *, batch_id: str, token_id: int, name: str, generator: str,
                     is_preview: bool, created: str, jobs: Sequence[NewJob],
                     idempotency_key: str | None, request_hash: str | None) -> None:
        """Store a batch and its jobs in one transaction: all of it or none of it.

        Raises sqlite3.IntegrityError when the idempotency key was taken meanwhile.
        """
        with self._write() as conn:
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

    def batch(self, token_id: int, batch_id: str) -> BatchRow | None:
        row = self._conn.execute(
            f"SELECT {_BATCH_SELECT} FROM batches WHERE id = ? AND token_id = ?",
            (batch_id, token_id)).fetchone()
        return BatchRow._make(row) if row else None

    def batches(self, token_id: int, start: str | None = None, end: str | None = None
                ) -> list[BatchRow]:
        """This token's batches created in ``[start, end]``, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_BATCH_SELECT} FROM batches "
            "WHERE token_id = ? AND created >= ? AND created <= ? ORDER BY created, id",
            (token_id, start or "", end or "9999")).fetchall()
        return [BatchRow._make(r) for r in rows]

    def status_counts(self, token_id: int) -> dict[str, dict[str, int]]:
        """``{batch_id: {status: n}}`` for every batch of this token."""
        counts: dict[str, dict[str, int]] = {}
        for batch_id, status, n in self._conn.execute(
                "SELECT batch_id, status, COUNT(*) FROM jobs WHERE token_id = ? "
                "GROUP BY batch_id, status", (token_id,)):
            counts.setdefault(batch_id, {})[status] = n
        return counts

    # -- jobs ---------------------------------------------------------------------------------
    def batch_jobs(self, batch_id: str, limit: int = -1, offset: int = 0) -> list[JobRow]:
        """The jobs of a batch, in submission order."""
        return [JobRow._make(r) for r in self._conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE batch_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (batch_id, limit, offset))]

    def batch_counts(self, batch_id: str) -> dict[str, int]:
        """``{status: n}`` for one batch."""
        return dict(self._conn.execute(
            "SELECT status, COUNT(*) FROM jobs WHERE batch_id = ? GROUP BY status",
            (batch_id,)).fetchall())

    def batch_statuses(self, batch_id: str) -> list[JobStatusRow]:
        """Each job's status of a batch, in submission order."""
        return [JobStatusRow._make(r) for r in self._conn.execute(
            f"SELECT {', '.join(JobStatusRow._fields)} FROM jobs WHERE batch_id = ? "
            "ORDER BY seq", (batch_id,))]

    def token_jobs(self, token_id: int, is_preview: bool, limit: int | None = None,
                   offset: int = 0) -> list[JobRow]:
        """This token's jobs of one kind in submission order; ``limit`` None means all."""
        return [JobRow._make(r) for r in self._conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE token_id = ? AND is_preview = ? ORDER BY seq"
            " LIMIT ? OFFSET ?",
            (token_id, int(is_preview), -1 if limit is None else limit, offset))]

    def job(self, token_id: int, job_id: str) -> JobRow | None:
        row = self._conn.execute(
            f"SELECT {_JOB_SELECT} FROM jobs WHERE id = ? AND token_id = ?",
            (job_id, token_id)).fetchone()
        return JobRow._make(row) if row else None

    def job_status(self, job_id: str) -> str | None:
        """Status of a job of a live token (for signed links, which carry no token)."""
        row = self._conn.execute(
            "SELECT jobs.status FROM jobs JOIN tokens ON tokens.id = jobs.token_id "
            "WHERE jobs.id = ? AND tokens.revoked IS NULL", (job_id,)).fetchone()
        return row[0] if row else None

    def seeds(self, token_id: int, job_ids: Iterable[str]) -> dict[str, int]:
        """Seeds of those of ``job_ids`` that are this token's jobs."""
        ids = list(dict.fromkeys(job_ids))
        found: dict[str, int] = {}
        chunk = 500  # below SQLite's bound-parameter limit
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            marks = ",".join("?" * len(part))
            found.update(self._conn.execute(
                f"SELECT id, seed FROM jobs WHERE token_id = ? AND id IN ({marks})",
                (token_id, *part)).fetchall())
        return found

    def rendered_counts(self, token_id: int, start: str, end: str
                        ) -> list[tuple[str, bool, int]]:
        """``(generator, is_preview, frames)`` summed over jobs that succeeded in the window."""
        rows = self._conn.execute(
            "SELECT generator, is_preview, SUM(frames) FROM jobs WHERE token_id = ? "
            "AND status = 'succeeded' AND end_time >= ? AND end_time <= ? "
            "GROUP BY generator, is_preview ORDER BY generator", (token_id, start, end))
        return [(g, bool(p), int(n)) for g, p, n in rows]

def _make_private(path: Path) -> None:
    """The database owner-only (0600) whatever the umask, before SQLite opens it: SQLite
    gives its -wal and -shm files the database's mode. Files an older version made with a
    wider mode are narrowed too."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(part, 0o600)


