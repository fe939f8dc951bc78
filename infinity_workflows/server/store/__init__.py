"""The server's state: one SQLite :class:`Database` and the tables built on it.

:class:`Store` is what the server holds: ``store.tokens`` and ``store.sessions`` (who may
ask), ``store.batches`` (what was asked for) and ``store.queue`` (what runs next and what
came of it), all over one database file, so one transaction can span them.
"""

from __future__ import annotations

from pathlib import Path

from .batches import Batches
from .database import SCHEMA_VERSION, Database
from .job_queue import JobQueue
from .tokens import PortalSessions, Tokens

__all__ = ["SCHEMA_VERSION", "Batches", "Database", "JobQueue", "PortalSessions", "Store",
           "Tokens"]


class Store:
    """The database file and its tables; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        self.tokens = Tokens(self.db)
        self.sessions = PortalSessions(self.db)
        self.batches = Batches(self.db)
        self.queue = JobQueue(self.db)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        """Close this thread's connection (each thread has its own)."""
        self.db.close()
