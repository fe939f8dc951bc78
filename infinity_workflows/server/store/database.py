"""The server's state in one SQLite database, and the one way to read and write it.

Tokens (:mod:`.tokens`), batches with their jobs (:mod:`.batches`) and the queue
(:mod:`.job_queue`) are tables of this one database, each a small class built on a
:class:`Database`, so a transaction can span them (revoking a token cancels its jobs in the
same commit) and there is one place that knows how connections are made.

Every connection is per thread (SQLite connections must not be shared across threads), in
WAL mode so readers never wait for the writer, with a busy timeout for the rare writer-writer
overlap.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "Database"]

SCHEMA_VERSION = 5

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
    last_claimed    TEXT,
    deleted         TEXT
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


class Database:
    """The SQLite file: its schema, per-thread connections and write transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _make_private(path)
        self._local = threading.local()
        # executescript manages its own transaction, so the schema is wrapped in one here.
        self.conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        self._migrate()

    def _migrate(self) -> None:
        """Bring a database made by an older version up to date, in place.

        Checked and altered in one write transaction, so two processes opening the same old
        database at once cannot both add a column.
        """
        with self.write() as conn:
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
            if "deleted" not in batch_columns:  # version 4 could not delete a batch
                conn.execute("ALTER TABLE batches ADD COLUMN deleted TEXT")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
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
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (no upgrade deadlock)."""
        conn = self.conn
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


def _make_private(path: Path) -> None:
    """The database owner-only (0600) whatever the umask, before SQLite opens it: SQLite
    gives its -wal and -shm files the database's mode. Files an older version made with a
    wider mode are narrowed too."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(part, 0o600)


