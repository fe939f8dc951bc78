"""Waiting for a batch and downloading it: where it lands, how far it is, and cancelling.

The Download notebook's buttons and its headless ``DOWNLOAD_NOW`` cell take these steps.
Each call returns a :class:`DownloadReport` (finished, downloaded, failed, cancelled and in
progress, from the server's summary and what is on disk) instead of raising for jobs that
failed, because a batch with some failed jobs is a normal outcome to show, not a crash.
:func:`follow_download` is the same work in rounds, reporting after each one and waking
early when asked, so the Download interface can run it in a thread beside the kernel.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..batch import Batch
from ..errors import (
    ConfigurationError,
    DownloadError,
    JobTimeout,
    NotFoundError,
    ValidationError,
)
from ..polling import check_interval
from ..session import Session
from ..trust import folder_name, parse_uuid
from ..user_folders import default_downloads_dir

__all__ = [
    "CancelReport",
    "DownloadReport",
    "cancel_batch",
    "download_available",
    "download_folder",
    "follow_download",
    "open_batch",
    "progress_report",
    "wait_and_download",
]


def download_folder(batch: Batch, root: Path | str | None = None) -> Path:
    """``root/<batch name>/batch_ID_<id>``, with the name made safe for any file system;
    ``root`` defaults to :func:`~infinity_workflows.user_folders.default_downloads_dir`."""
    return Path(root or default_downloads_dir()) / folder_name(batch.name) / \
        f"batch_ID_{batch.batch_id}"


def open_batch(sesh: Session, batch_id: str) -> Batch:
    """The batch, or a ConfigurationError that says why it cannot be opened."""
    try:
        batch_id = parse_uuid(batch_id, "batch id")
    except ValidationError:
        raise ConfigurationError(f"BATCH_ID {batch_id!r} is not a batch id (a UUID); copy it "
                                 "from the Submit notebook or the portal") from None
    try:
        return sesh.batch_from_api(batch_id)
    except NotFoundError:
        raise ConfigurationError(
            f"batch {batch_id} does not exist on {sesh.server} for this token. Check BATCH_ID, "
            "the server, and that the token is the one that submitted it.") from None


@dataclass
class DownloadReport:
    """Where a batch stands after a download call."""

    total: int
    finished: int
    in_progress: int
    failed: dict[str, str] = field(default_factory=dict)
    downloaded: list[Path] = field(default_factory=list)
    since_submission: timedelta | None = None
    folder: Path | None = None
    cancelled: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``failed``, ``cancelled``, ``waiting`` (jobs still in progress), ``partial`` (a
        finished job not on disk) or ``done`` (every job downloaded): what colour to show."""
        if self.failed:
            return "failed"
        if self.cancelled:
            return "cancelled"
        if self.in_progress:
            return "waiting"
        return "done" if len(self.downloaded) >= self.total else "partial"

    @property
    def settled(self) -> int:
        """Jobs with nothing left to do here: downloaded, failed or cancelled."""
        return min(self.total, len(self.downloaded) + len(self.failed) + len(self.cancelled))

    def counts(self) -> str:
        """The counts on one line, for a status bar."""
        return (f"{self.finished}/{self.total} finished: {len(self.downloaded)} downloaded, "
                f"{len(self.failed)} failed, {len(self.cancelled)} cancelled, "
                f"{self.in_progress} in progress")

    def describe(self) -> str:
        parts = [f"{self.finished}/{self.total} jobs finished",
                 f"{len(self.downloaded)} downloaded", f"{len(self.failed)} failed",
                 f"{len(self.cancelled)} cancelled", f"{self.in_progress} in progress"]
        text = ", ".join(parts) + "."
        if self.since_submission is not None:
            minutes, seconds = divmod(int(self.since_submission.total_seconds()), 60)
            hours, minutes = divmod(minutes, 60)
            text += f" Submitted {hours}h {minutes:02d}m {seconds:02d}s ago."
        if self.folder is not None:
            text += f"\nFolder: {self.folder}"
        for job_id, why in list(self.failed.items())[:20]:
            text += f"\nfailed job {job_id}: {why}"
        if len(self.failed) > 20:
            text += f"\n... and {len(self.failed) - 20} more failed jobs"
        return text


def progress_report(batch: Batch, folder: Path | None = None,
                    failed: dict[str, str] | None = None) -> DownloadReport:
    """Counts from the server's summary plus what is on disk in ``folder``."""
    summary = batch.job_summaries()
    server_failed = {j["id"]: f"failed on the server: {j.get('error') or 'no reason given'}"
                     for j in summary if j.get("status") == "failed"}
    since = None
    if batch.created is not None:
        since = datetime.now(batch.created.tzinfo) - batch.created
    downloaded = ([folder / j for j in batch.job_ids if (folder / j).is_dir()]
                  if folder is not None else [])
    return DownloadReport(
        total=len(summary), finished=sum(1 for j in summary if not j["in_progress"]),
        in_progress=sum(1 for j in summary if j["in_progress"]),
        failed={**server_failed, **(failed or {})}, downloaded=downloaded,
        since_submission=since, folder=folder,
        cancelled=[j["id"] for j in summary if j.get("status") == "cancelled"])


def _download(batch: Batch, folder: Path, **kwargs: Any) -> DownloadReport:
    # "still in progress", "cancelled": the report says so. Batch.download's warnings name
    # its caller, this module; a filter on that name (not catch_warnings, which swaps the
    # process's filters and is unsafe beside the kernel's own thread) keeps them quiet.
    warnings.filterwarnings("ignore", category=UserWarning, module=_QUIET_MODULE)
    failed: dict[str, str] = {}
    try:
        batch.download(folder, **kwargs)
    except DownloadError as exc:
        failed = dict(exc.failed)
    return progress_report(batch, folder, failed)


_QUIET_MODULE = __name__.replace(".", r"\.") + r"\Z"


def download_available(batch: Batch, folder: Path | str) -> DownloadReport:
    """Download every job finished now; jobs already on disk are skipped."""
    return _download(batch, Path(folder), wait=False, progress=False)


def wait_and_download(batch: Batch, folder: Path | str, polling_interval: float = 2,
                      timeout: float | None = None, progress: bool = True) -> DownloadReport:
    """Poll until every job has finished, downloading each as it completes."""
    return _download(batch, Path(folder), wait=True, polling_interval=polling_interval,
                     timeout=timeout, progress=progress)


def follow_download(batch: Batch, folder: Path | str, *, wait: bool,
                    polling_interval: float = 2, timeout: float | None = None,
                    on_progress: Callable[[DownloadReport], Any] | None = None,
                    wake: threading.Event | None = None,
                    stop: threading.Event | None = None) -> DownloadReport:
    """Download what is finished, and with ``wait`` keep going in rounds until no job is in
    progress; ``on_progress(report)`` after every round.

    A round fetches every job finished by then and reports what is on disk and what the
    server says. Between rounds the call sleeps ``polling_interval`` seconds or until ``wake`` is
    set (a cancel: its jobs settle at once, so look again now). JobTimeout after
    ``timeout`` seconds, naming how far it got. ``stop`` set (with ``wake``) ends the wait
    after the round under way, with that round's report.
    """
    check_interval(polling_interval)
    folder = Path(folder)
    end = None if timeout is None else time.monotonic() + timeout
    wake = wake or threading.Event()
    caught_up = False
    while True:
        report = _download(batch, folder, wait=False, progress=False)
        if on_progress is not None:
            on_progress(report)
        if not wait or (stop is not None and stop.is_set()):
            return report
        if not report.in_progress:
            # A job may finish between the round's fetch and its report: one more round
            # fetches it, then the report is final.
            if caught_up or report.settled >= report.total:
                return report
            caught_up = True
            continue
        if end is not None and time.monotonic() >= end:
            raise JobTimeout(f"{report.counts()} after {timeout:g} s; the downloaded jobs "
                             f"are in {folder}")
        wake.wait(polling_interval if end is None
                  else max(0.0, min(polling_interval, end - time.monotonic())))
        wake.clear()


@dataclass(frozen=True)
class CancelReport:
    """How many of a batch's jobs a cancel stopped (0: every job had already finished)."""

    batch_id: str
    cancelled: int

    def describe(self) -> str:
        if not self.cancelled:
            return "Nothing to cancel: every job had finished."
        return (f"Cancelled {self.cancelled} queued or running job(s); finished jobs keep "
                "their results.")


def cancel_batch(batch: Batch) -> CancelReport:
    """Cancel the batch's queued jobs and stop its running ones; finished jobs are kept."""
    return CancelReport(batch.batch_id, batch.cancel())
