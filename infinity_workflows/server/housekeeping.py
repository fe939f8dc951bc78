"""Disk a token's batches take on the server, and deleting a batch: its unfinished jobs
cancelled, then its results removed, and nothing of any other batch.

Shared by the API (``DELETE api/batch/<id>/``, ``GET api/storage/``) and the portal, which
never import each other. A job's result is one file, ``results/<job id>.zip``; the database
knows which jobs a batch has, so deleting a batch removes exactly those files. A job still
running when its batch is deleted is cancelled first: whatever it still writes is dropped
by the dispatcher, as for any cancelled job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .rows import BatchRow
from .store import Store

__all__ = ["BatchUsage", "Deleted", "batch_usage", "delete_batch", "one_batch_usage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchUsage:
    """What one batch holds on the server's disk."""

    id: str
    name: str
    created: str
    num_jobs: int
    results: int  # result archives on disk
    bytes: int


@dataclass(frozen=True)
class Deleted:
    """What deleting a batch did."""

    id: str
    cancelled: int  # unfinished jobs cancelled
    removed: int  # result archives removed
    freed_bytes: int


def _sizes(results_dir: Path, job_ids: Iterable[str]) -> tuple[int, int]:
    """``(archives, bytes)`` of the jobs' result files that exist."""
    count = total = 0
    for job_id in job_ids:
        try:
            size = os.stat(results_dir / f"{job_id}.zip").st_size
        except FileNotFoundError:
            continue
        count += 1
        total += size
    return count, total


def one_batch_usage(store: Store, results_dir: Path, batch: BatchRow) -> BatchUsage:
    """Disk taken by one batch, read from the files themselves (a stat per job), so it is
    true even after a crash or a hand-deleted file."""
    count, total = _sizes(results_dir, (j.id for j in store.batches.statuses(batch.id)))
    return BatchUsage(batch.id, batch.name, batch.created, batch.num_jobs, count, total)


def batch_usage(store: Store, results_dir: Path, token_id: int) -> list[BatchUsage]:
    """Disk taken by each of this token's batches, newest first."""
    return [one_batch_usage(store, results_dir, batch)
            for batch in reversed(store.batches.of_token(token_id))]


def delete_batch(store: Store, results_dir: Path, token_id: int, batch_id: str
                 ) -> Deleted | None:
    """Delete this token's batch; None when it has no such batch (or deleted it already).

    The database goes first (in one transaction the batch leaves every listing, its
    unfinished jobs are cancelled and its result links stop working), the files after, so
    no page or link can point at a result half removed. A crash in between leaves files no
    link reaches; they are the only thing not freed.
    """
    gone = store.batches.delete(token_id, batch_id)
    if gone is None:
        return None
    job_ids, cancelled = gone
    removed = freed = 0
    for job_id in job_ids:
        path = results_dir / f"{job_id}.zip"
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove %s of deleted batch %s: %s", path, batch_id, exc)
            continue
        removed += 1
        freed += size
    return Deleted(batch_id, cancelled, removed, freed)
