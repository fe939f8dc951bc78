"""The download interface of a Download notebook: Download, and Wait and Download.

Download fetches what is finished now; Wait and Download polls (with a progress bar) until
every job has finished, downloading jobs as they complete. Both report ``done/total``, the
time since submission and every failed job with its error. Jobs land in
``<downloads>/<batch name>/batch_ID_<id>/<job_id>/``.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..batch import Batch
from ..errors import ConfigurationError, DownloadError, JobTimeout, NotFoundError
from ..session import Session
from ..trust import folder_name
from ..user_folders import default_downloads_dir
from ._display import error_html, info_html, success_html
from .create import explain_error

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DownloadInterface",
    "DownloadReport",
    "batch_metadata_frame",
    "download_available",
    "download_folder",
    "download_interface",
    "open_batch",
    "progress_report",
    "wait_and_download",
]

def download_folder(batch: Batch, root: Path | str | None = None) -> Path:
    """``root/<batch name>/batch_ID_<id>``, with the name made safe for any file system;
    ``root`` defaults to :func:`~infinity_workflows.paths.default_downloads_dir`."""
    return Path(root or default_downloads_dir()) / folder_name(batch.name) / \
        f"batch_ID_{batch.batch_id}"


def open_batch(sesh: Session, batch_id: str) -> Batch:
    """The batch, or a ConfigurationError that says why it cannot be opened."""
    try:
        uuid.UUID(str(batch_id))
    except ValueError:
        raise ConfigurationError(f"BATCH_ID {batch_id!r} is not a batch id (a UUID); copy it "
                                 "from the Submit notebook or the portal") from None
    try:
        return sesh.batch_from_api(str(batch_id))
    except NotFoundError:
        raise ConfigurationError(
            f"batch {batch_id} does not exist on {sesh.server} for this token. Check BATCH_ID, "
            "the server, and that the token is the one that submitted it.") from None


def batch_metadata_frame(batch: Batch) -> pd.DataFrame:
    """One row per job: its id, type and every parameter value it was submitted with."""
    rows = [{"job_id": job["id"], "is_preview": job.get("is_preview"),
             **(job.get("param_values") or {})} for job in batch.jobs]
    import pandas as pd

    return pd.DataFrame(rows).set_index("job_id")


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

    def describe(self) -> str:
        parts = [f"{self.finished}/{self.total} jobs finished",
                 f"{len(self.downloaded)} downloaded",
                 f"{len(self.failed)} failed", f"{self.in_progress} in progress"]
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
        since_submission=since, folder=folder)


def _download(batch: Batch, folder: Path, **kwargs: Any) -> DownloadReport:
    failed: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "still in progress" is in the report instead
        try:
            batch.download(folder, **kwargs)
        except DownloadError as exc:
            failed = dict(exc.failed)
    return progress_report(batch, folder, failed)


def download_available(batch: Batch, folder: Path | str) -> DownloadReport:
    """Download every job finished now; jobs already on disk are skipped."""
    return _download(batch, Path(folder), wait=False, progress=False)


def wait_and_download(batch: Batch, folder: Path | str, polling_interval: float = 2,
                      timeout: float | None = None, progress: bool = True) -> DownloadReport:
    """Poll until every job has finished, downloading each as it completes."""
    return _download(batch, Path(folder), wait=True, polling_interval=polling_interval,
                     timeout=timeout, progress=progress)


class DownloadInterface:
    """Widgets of the Download notebook; ``widget`` is the box to display.

    ``on_downloaded(report)`` runs after every download with its output shown under the
    buttons, so a notebook can draw the results as soon as they are on disk.
    """

    def __init__(self, batch: Batch, folder: Path | str, *, polling_interval: float = 2,
                 timeout: float | None = None,
                 on_downloaded: Callable[[DownloadReport], Any] | None = None) -> None:
        self.batch = batch
        self.folder = Path(folder)
        self.polling_interval = polling_interval
        self.timeout = timeout
        self.on_downloaded = on_downloaded
        self.report: DownloadReport | None = None
        self.download_button = widgets.Button(description="Download", button_style="info")
        self.wait_button = widgets.Button(description="Wait and Download",
                                          button_style="success")
        self.cancel_button = widgets.Button(
            description="Cancel", button_style="danger",
            tooltip="Cancel the batch's queued jobs and stop its running ones")
        self.message = widgets.HTML()
        self.output = widgets.Output()
        self.download_button.on_click(lambda _b: self._run(wait=False))
        self.wait_button.on_click(lambda _b: self._run(wait=True))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.widget = widgets.VBox([
            widgets.HBox([self.download_button, self.wait_button, self.cancel_button]),
            self.message, self.output])

    def cancel(self) -> int | None:
        """Cancel the batch on the server; the number of jobs cancelled (None on error)."""
        try:
            cancelled = self.batch.cancel()
        except Exception as exc:  # noqa: BLE001 - shown, not raised, in a button handler
            self.message.value = error_html(explain_error(exc, self.batch.session.server))
            return None
        self.message.value = success_html(
            f"Cancelled {cancelled} queued or running job(s); finished jobs keep their "
            "results." if cancelled else "Nothing to cancel: every job had finished.")
        return cancelled

    def _run(self, wait: bool) -> DownloadReport | None:
        self.download_button.disabled = self.wait_button.disabled = True
        self.message.value = info_html("Waiting for jobs and downloading ..." if wait
                                       else "Downloading finished jobs ...")
        self.output.clear_output()
        try:
            with self.output:
                if wait:
                    report = wait_and_download(self.batch, self.folder, self.polling_interval,
                                               self.timeout)
                else:
                    report = download_available(self.batch, self.folder)
        except JobTimeout as exc:
            self.message.value = error_html(str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - shown, not raised, in a button handler
            self.message.value = error_html(explain_error(exc, self.batch.session.server))
            return None
        finally:
            self.download_button.disabled = self.wait_button.disabled = False
        self.report = report
        render = error_html if report.failed else success_html
        self.message.value = render(report.describe())
        if self.on_downloaded is not None and report.downloaded:
            with self.output:
                self.on_downloaded(report)
        return report


def download_interface(batch: Batch, folder: Path | str, **kwargs: Any) -> DownloadInterface:
    """Build and display the interface; returns it."""
    from IPython.display import display

    ui = DownloadInterface(batch, folder, **kwargs)
    display(ui.widget)
    return ui
