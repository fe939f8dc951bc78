"""The submit interface of a Submit notebook: job type, batch name, Submit, Confirm.

Submit checks every job (client side, with the generator's schema) and asks the server for
the frame estimate; Confirm Submission sends the batch. Confirm is disabled as soon as it is
clicked and the interface remembers its batch, so a second click never submits twice. After
submission the Download notebook for the batch is rendered beside the Submit notebook. The
steps are :mod:`infinity_workflows.workflow.submit`; this module shows them as buttons.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..batch import Batch
from ..session import Session
from ..workflow import submit as steps
from ..workflow.explain import explain_error
from ..workflow.submit import SubmissionCheck
from ._display import error_html, info_html, lab_link, link_html, show_html, success_html

__all__ = [
    "SubmissionCheck",
    "SubmitInterface",
    "submit_interface",
]
# The plain steps live in infinity_workflows.workflow; records saved before they moved import
# them from this module (``from infinity_workflows.widgets.submit import submit_headless``).
_MOVED_TO_WORKFLOW = frozenset({"check_submission", "find_own_notebook", "submit_checked",
                                "submit_headless", "write_download_notebook"})


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_WORKFLOW:
        return getattr(steps, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

JOB_TYPES = (("Previews", True), ("Videos", False))
_LABEL = {"description_width": "initial"}


class SubmitInterface:
    """Widgets of the Submit notebook; ``widget`` is the box to display."""

    def __init__(self, sesh: Session, job_params: Sequence[Mapping[str, Any]], *,
                 record_folder: Path | str | None = None, batch_name: str = "",
                 is_preview: bool = True) -> None:
        self.sesh = sesh
        self.job_params = list(job_params)
        self.record_folder = Path(record_folder or Path.cwd())
        self.check: SubmissionCheck | None = None
        self.batch: Batch | None = None
        self.download_notebook: Path | None = None
        self._said_once = False  # "already submitted", said once

        self.job_type = widgets.ToggleButtons(options=list(JOB_TYPES), value=is_preview,
                                              description="Job type:")
        self.batch_name = widgets.Text(value=batch_name, description="Batch name:",
                                       placeholder="name this batch", style=_LABEL,
                                       layout=widgets.Layout(width="420px"))
        self.submit_button = widgets.Button(description="Submit", button_style="info",
                                            layout=widgets.Layout(width="auto"))
        self.confirm_button = widgets.Button(description="Confirm Submission",
                                             button_style="danger", disabled=True,
                                             layout=widgets.Layout(width="auto"))
        self.message = widgets.HTML()
        self.links = widgets.Output()
        self.submit_button.on_click(self._on_submit)
        self.confirm_button.on_click(self._on_confirm)
        # Changing what would be submitted invalidates an earlier check.
        self.job_type.observe(self._invalidate, names="value")
        self.widget = widgets.VBox([self.job_type, self.batch_name,
                                    widgets.HBox([self.submit_button, self.confirm_button]),
                                    self.message, self.links])

    def _invalidate(self, _change: Any = None) -> None:
        if self.batch is None:
            self.check = None
            self.confirm_button.disabled = True
            self.message.value = info_html("Job type changed: click Submit to check again.")

    def _on_submit(self, _button: Any = None) -> SubmissionCheck | None:
        if self.batch is not None:
            self.message.value = info_html(
                f"This interface already submitted batch {self.batch.batch_id}; run the cell "
                "again to submit another batch.")
            return None
        self.confirm_button.disabled = True
        self.message.value = info_html("Checking jobs ...")
        try:
            check = steps.check_submission(self.sesh, self.job_params, self.job_type.value)
        # An interrupt (the kernel's stop button) is said too, never a traceback.
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - shown, not raised
            self.message.value = error_html(explain_error(exc, self.sesh.server))
            return None
        self.check = check
        if check.ok:
            self.message.value = success_html(check.describe())
            self.confirm_button.disabled = False
        else:
            self.message.value = error_html(check.describe())
        return check

    def _on_confirm(self, _button: Any = None) -> Batch | None:
        # Disable first: a double click queues two events, the second must find it taken.
        self.confirm_button.disabled = True
        if self.batch is not None:
            # Calmly, once: the green success stays, with this note under it.
            if not self._said_once:
                self._said_once = True
                self.message.value += info_html(
                    f"Batch {self.batch.batch_id} is already submitted; another click does "
                    "not submit it again.")
            return None
        if self.check is None:
            self.message.value = error_html("Click Submit to check the jobs first.")
            return None
        self.message.value = info_html("Submitting ...")
        try:
            self.batch = steps.submit_checked(self.sesh, self.job_params, self.check,
                                        self.batch_name.value)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - shown, not raised
            self.message.value = error_html(explain_error(exc, self.sesh.server))
            self.confirm_button.disabled = not (self.check and self.check.ok)
            return None
        self.submit_button.disabled = True
        batch = self.batch
        # The batch's name and id come from the server: text, never markup.
        lines = [f"Submitted batch <b>{html.escape(batch.name)}</b>: "
                 f"<code>{html.escape(batch.batch_id)}</code> ({batch.num_jobs} "
                 f"{html.escape(str(batch.job_type))} job(s)).",
                 "Portal: " + link_html(batch.portal_url, batch.portal_url)]
        try:
            self.download_notebook = steps.write_download_notebook(
                batch, self.record_folder, steps.find_own_notebook(self.record_folder))
            link = lab_link(self.download_notebook, Path.cwd())
            lines.append("Download notebook: " + link_html(self.download_notebook.name, link))
            self.message.value = success_html(f"Submitted batch {batch.batch_id}.")
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the batch exists
            self.message.value = error_html(
                f"Batch {batch.batch_id} was submitted, but its Download notebook could not "
                f"be written: {explain_error(exc, self.sesh.server)} Then create one from "
                "create_a_workflow.ipynb with this id.")
        show_html(self.links, "".join(f"<p>{line}</p>" for line in lines))
        return batch


def submit_interface(sesh: Session, job_params: Sequence[Mapping[str, Any]], *,
                     record_folder: Path | str | None = None, batch_name: str = "",
                     is_preview: bool = True) -> SubmitInterface:
    """Build and display the interface; returns it."""
    from IPython.display import display

    ui = SubmitInterface(sesh, job_params, record_folder=record_folder, batch_name=batch_name,
                         is_preview=is_preview)
    display(ui.widget)
    return ui
