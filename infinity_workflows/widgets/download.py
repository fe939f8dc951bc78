"""The download interface of a Download notebook: Download, Wait and Download, Cancel.

Download fetches what is finished now; Wait and Download polls (with a progress bar) until
every job has finished, downloading jobs as they complete. Both report ``done/total``, the
time since submission and every failed job with its error. Jobs land in
``<downloads>/<batch name>/batch_ID_<id>/<job_id>/``. The steps are
:mod:`infinity_workflows.workflow.download`; this module shows them as buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..batch import Batch
from ..workflow.download import (
    DownloadReport,
    cancel_batch,
    download_available,
    download_folder,
    open_batch,
    progress_report,
    wait_and_download,
)
from ..workflow.explain import explain_error
from ..workflow.review import batch_metadata_frame
from ._display import error_html, info_html, success_html

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
# The plain steps live in infinity_workflows.workflow; they are named here too because
# records saved before they moved import them from this module
# (``from infinity_workflows.widgets.download import download_folder, open_batch, ...``).


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
            report = cancel_batch(self.batch)
        except Exception as exc:  # noqa: BLE001 - shown, not raised, in a button handler
            self.message.value = error_html(explain_error(exc, self.batch.session.server))
            return None
        self.message.value = success_html(report.describe())
        return report.cancelled

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
        # An interrupt (the kernel's stop button) ends a long wait: said, not a traceback.
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - shown, not raised
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
