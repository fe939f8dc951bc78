"""The download interface of a Download notebook: Download, Wait and Download, Cancel.

Download fetches what is finished now; Wait and Download keeps going until every job has
finished, downloading jobs as they complete. Both run in a thread beside the kernel, so
other cells run meanwhile and Cancel acts at once; a progress bar and a status line say how
many jobs are finished, downloaded, failed, cancelled and in progress, and the action ends
in one sentence (the report, or what went wrong and what to do), never a traceback. Jobs
land in ``<downloads>/<batch name>/batch_ID_<id>/<job_id>/``. The steps are
:mod:`infinity_workflows.workflow.download`; this module shows them as buttons.

A script or a headless notebook that needs the results in its next line calls
:meth:`DownloadInterface.join` after a click (or the blocking ``_run``), or
:func:`~infinity_workflows.workflow.wait_and_download` without any widget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..batch import Batch
from ..workflow import download as steps
from ..workflow.download import DownloadReport
from ..workflow.explain import explain_error
from ._display import error_html, info_html, success_html, warning_html

__all__ = [
    "DownloadInterface",
    "DownloadReport",
    "download_interface",
]
# The plain steps live in infinity_workflows.workflow; records saved before they moved import
# them from this module (``from infinity_workflows.widgets.download import open_batch, ...``).
_MOVED_TO_WORKFLOW = frozenset({"download_available", "download_folder", "open_batch",
                                "progress_report", "wait_and_download"})


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_WORKFLOW:
        return getattr(steps, name)
    if name == "batch_metadata_frame":
        from ..workflow.review import batch_metadata_frame

        return batch_metadata_frame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# How a report's outcome is shown: the bar's style and the message's colour agree.
_BAR_STYLE = {"done": "success", "partial": "info", "waiting": "info", "cancelled": "warning",
              "failed": "danger"}
_MESSAGE = {"done": success_html, "partial": info_html, "waiting": info_html,
            "cancelled": warning_html, "failed": error_html}


def on_kernel_thread(action: Callable[[], Any]) -> None:
    """Run ``action`` on the kernel's own thread (soon, between cells), or now when there is
    no kernel or this is that thread: code that displays must not run in a worker thread,
    whose output would land in whatever cell runs at that moment."""
    kernel = None
    if threading.current_thread() is not threading.main_thread():
        try:
            from IPython import get_ipython

            kernel = getattr(get_ipython(), "kernel", None)
        except ImportError:
            kernel = None
    loop = getattr(kernel, "io_loop", None)
    if loop is None:
        action()
    else:
        loop.add_callback(action)


# The interface downloading into each folder now: a cell run again makes a new interface,
# and two downloads into one folder must not run at once, so the new one takes over.
_ACTIVE: dict[Path, DownloadInterface] = {}
_ACTIVE_LOCK = threading.Lock()


class DownloadInterface:
    """Widgets of the Download notebook; ``widget`` is the box to display.

    A button starts its work in a thread and returns; :meth:`join` waits for it.
    ``on_downloaded(report)`` runs after every download with its output shown under the
    buttons (on the kernel's thread), so a notebook can draw the results once on disk.
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
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()  # set by Cancel: look again now, not after the sleep
        self._stop = threading.Event()  # set when another interface takes over the folder
        self._lock = threading.Lock()
        self._cancel_note: str | None = None  # Cancel's sentence, kept by the final message
        self.download_button = widgets.Button(description="Download", button_style="info")
        self.wait_button = widgets.Button(description="Wait and Download",
                                          button_style="success")
        self.cancel_button = widgets.Button(
            description="Cancel", button_style="danger",
            tooltip="Cancel the batch's queued jobs and stop its running ones")
        self.bar = widgets.IntProgress(value=0, min=0, max=max(1, batch.num_jobs),
                                       description="Jobs:", bar_style="info",
                                       layout=widgets.Layout(display="none", width="420px"))
        self.status = widgets.HTML()
        self.message = widgets.HTML()
        self.output = widgets.Output()
        self.download_button.on_click(lambda _b: self.start(wait=False))
        self.wait_button.on_click(lambda _b: self.start(wait=True))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.widget = widgets.VBox([
            widgets.HBox([self.download_button, self.wait_button, self.cancel_button]),
            widgets.HBox([self.bar, self.status]), self.message, self.output])

    @property
    def server(self) -> str:
        return self.batch.session.server

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    # -- Cancel: on the kernel's thread, at once, while a download runs beside it ----------
    def cancel(self) -> int | None:
        """Cancel the batch on the server; the number of jobs cancelled (None on error)."""
        try:
            report = steps.cancel_batch(self.batch)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - shown, not raised
            with self._lock:
                self.message.value = error_html(explain_error(exc, self.server))
            return None
        with self._lock:
            if self.running:
                self._cancel_note = report.describe()
                self.message.value = warning_html(
                    f"{report.describe()} Finishing the download of what is done ...")
            else:
                self.message.value = warning_html(report.describe()) if report.cancelled \
                    else success_html(report.describe())
        self._wake.set()
        return report.cancelled

    # -- Download, Wait and Download --------------------------------------------------------
    def start(self, wait: bool) -> None:
        """Start Download (``wait=False``) or Wait and Download in a thread; returns at once."""
        if self.running:
            return  # the buttons are disabled meanwhile; a queued click finds it running
        self._begin(wait)
        self._worker = threading.Thread(target=self._run, args=(wait,), daemon=True,
                                        name=f"download {self.batch.batch_id}")
        self._worker.start()

    def join(self, timeout: float | None = None) -> DownloadReport | None:
        """Wait for a started download to end; its report (None when it failed)."""
        if self._worker is not None:
            self._worker.join(timeout)
        return self.report

    def stop(self) -> None:
        """End a running wait after the round under way (nothing is cancelled)."""
        self._stop.set()
        self._wake.set()

    def _take_over_folder(self) -> None:
        """Stop and wait out an earlier interface still downloading into this folder."""
        key = self.folder.resolve()
        with _ACTIVE_LOCK:
            previous = _ACTIVE.get(key)
            _ACTIVE[key] = self
        if previous is not None and previous is not self and previous.running:
            previous.stop()
            previous.join()

    def _begin(self, wait: bool) -> None:
        with self._lock:
            self.download_button.disabled = self.wait_button.disabled = True
            self._cancel_note = None
            self._stop.clear()
            self._wake.clear()
            self.report = None
            self.message.value = info_html("Waiting for jobs and downloading ..." if wait
                                           else "Downloading finished jobs ...")
            self.bar.layout.display = ""
            self.bar.bar_style = "info"
            self.output.outputs = ()

    def _run(self, wait: bool) -> DownloadReport | None:
        """The work of one button, blocking (the thread's body; also callable directly, as
        Infinity's notebooks do): the report, or None after saying what went wrong."""
        if not self.download_button.disabled:
            self._begin(wait)
        try:
            self._take_over_folder()
            report = steps.follow_download(self.batch, self.folder, wait=wait,
                                     polling_interval=self.polling_interval,
                                     timeout=self.timeout, on_progress=self._progress,
                                     wake=self._wake, stop=self._stop)
        # An interrupt (the kernel's stop button, when called directly) is said too.
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - shown, not raised
            with self._lock:
                self.bar.bar_style = "danger"
                self.message.value = self._with_cancel_note(
                    error_html(explain_error(exc, self.server)))
            return None
        finally:
            self.download_button.disabled = self.wait_button.disabled = False
        self._finish(report)
        if self.on_downloaded is not None and report.downloaded:
            on_kernel_thread(lambda: self._show_downloaded(report))
        return report

    def _progress(self, report: DownloadReport) -> None:
        with self._lock:
            self.bar.max = max(1, report.total)
            self.bar.value = report.settled
            if report.failed:
                self.bar.bar_style = "danger"
            self.status.value = info_html(report.counts())

    def _finish(self, report: DownloadReport) -> None:
        with self._lock:
            self.report = report
            outcome = report.outcome
            self.bar.bar_style = _BAR_STYLE[outcome]
            text = report.describe()
            if outcome == "waiting" and self._stop.is_set():
                text += ("\nStopped waiting: a newer download into this folder took over "
                         "(the cell was run again).")
            elif outcome == "waiting":
                text += ("\nJobs still in progress: click Wait and Download to fetch them as "
                         "they finish, or Download again later.")
            self.message.value = self._with_cancel_note(_MESSAGE[outcome](text))

    def _with_cancel_note(self, markup: str) -> str:
        note = self._cancel_note
        return warning_html(note) + markup if note else markup

    def _show_downloaded(self, report: DownloadReport) -> None:
        """``on_downloaded(report)``, its output captured here and put under the buttons
        (not through the Output widget's capture of a cell, whose parent message a button
        run from another thread cannot name)."""
        from IPython.utils.capture import capture_output

        assert self.on_downloaded is not None
        try:
            with capture_output() as shown:
                self.on_downloaded(report)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - said, not raised
            with self._lock:
                self.message.value += error_html(
                    "Showing the downloaded jobs failed: " + explain_error(exc, self.server))
            return
        if shown.stdout:
            self.output.append_stdout(shown.stdout)
        if shown.stderr:
            self.output.append_stderr(shown.stderr)
        self.output.outputs += tuple(
            {"output_type": "display_data", "data": item.data, "metadata": item.metadata}
            for item in shown.outputs)


def download_interface(batch: Batch, folder: Path | str, **kwargs: Any) -> DownloadInterface:
    """Build and display the interface; returns it."""
    from IPython.display import display

    ui = DownloadInterface(batch, folder, **kwargs)
    display(ui.widget)
    return ui
