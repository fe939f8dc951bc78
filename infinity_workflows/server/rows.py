"""The shapes of what the store holds and hands out: statuses, rows and jobs, and the one
text form of a time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = [
    "ACTIVE_STATUSES",
    "JOB_COLUMNS",
    "STATUSES",
    "BatchRow",
    "ClaimedJob",
    "JobRow",
    "JobStatusRow",
    "NewJob",
    "TokenRow",
    "hash_token",
    "utc_now",
    "utc_text",
]

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running")


class JobRow(NamedTuple):
    """A job as listings read it; ``params`` is its stored JSON text (spliced, not parsed,
    into answers)."""

    id: str
    batch_id: str
    generator: str
    is_preview: int
    params: str
    status: str
    error: str | None
    worker: str | None
    created: str
    start_time: str | None
    end_time: str | None


class JobStatusRow(NamedTuple):
    """What a batch's summary shows of a job."""

    id: str
    generator: str
    status: str
    error: str | None
    worker: str | None


class BatchRow(NamedTuple):
    id: str
    name: str
    created: str
    num_jobs: int
    generator: str
    is_preview: int


class TokenRow(NamedTuple):
    """A token as ``token list`` shows it (never the token or its hash)."""

    id: int
    name: str
    created: str
    generators: list[str] | None  # None: every generator
    revoked: str | None


JOB_COLUMNS = JobRow._fields


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_text(moment: datetime) -> str:
    """One fixed ISO 8601 form (microseconds, ``+00:00``), so text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewJob:
    """A validated job, ready to be stored."""

    id: str
    params_json: str
    seed: int
    frames: int


@dataclass(frozen=True)
class ClaimedJob:
    """A job the dispatcher has marked running and will hand to a worker."""

    id: str
    generator: str
    is_preview: bool
    params: dict[str, Any]
    seed: int
    attempts: int
    deaths: int
