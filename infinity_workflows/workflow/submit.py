"""Submitting a batch: check every job, estimate its frames, submit once, and write the
batch's Download notebook beside the Submit notebook.

The Submit notebook's buttons and its headless ``SUBMIT_NOW`` cell take these steps; as
plain functions they run the same way with or without a widget, and a re-run record (or
any script) submits exactly as a click does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch import Batch
from ..errors import ValidationError
from ..session import Session

__all__ = [
    "SubmissionCheck",
    "check_submission",
    "find_own_notebook",
    "submit_checked",
    "submit_headless",
    "write_download_notebook",
]


@dataclass
class SubmissionCheck:
    """What a check found: the job count, the frames the server estimates, or the errors."""

    num_jobs: int
    is_preview: bool
    frames: int | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.frames is not None

    def describe(self, headless: bool = False) -> str:
        """What the check found and the next step: the button, or (``headless``, a run with
        no buttons) that the batch is being submitted."""
        kind = "preview" if self.is_preview else "video"
        if self.ok:
            return (f"{self.num_jobs} {kind} job(s), {self.frames} frame(s) estimated. "
                    + ("Submitting them now." if headless
                       else "Click Confirm Submission to submit."))
        shown = [f"job {i}: {msg}" for i, msg in self.errors[:20]]
        if len(self.errors) > 20:
            shown.append(f"... and {len(self.errors) - 20} more")
        return (f"{len(self.errors)} of {self.num_jobs} job(s) are invalid; fix job_params "
                "and run the cell again:\n" + "\n".join(shown))


def check_submission(sesh: Session, job_params: Sequence[Mapping[str, Any]],
                     is_preview: bool) -> SubmissionCheck:
    """Validate every job; when all pass, ask the server how many frames they render."""
    check = SubmissionCheck(num_jobs=len(job_params), is_preview=is_preview)
    if not job_params:
        check.errors.append((0, "job_params is empty: a batch needs at least one job"))
        return check
    if is_preview and not sesh.supports_preview:
        check.errors.append((0, f"{sesh.generator} does not render previews; choose Videos"))
        return check
    check.errors = [(i, e) for i, e in enumerate(sesh.validate_job_params(job_params)) if e]
    if not check.errors:
        try:
            check.frames = sesh.estimate_total_samples(list(job_params), is_preview=is_preview)
        except ValidationError as exc:  # the server's schema is the authority
            check.errors.append((0, str(exc)))
    return check


def submit_checked(sesh: Session, job_params: Sequence[Mapping[str, Any]],
                   check: SubmissionCheck, batch_name: str) -> Batch:
    """Submit jobs that passed :func:`check_submission`; refuses an unchecked batch."""
    if not check.ok or check.num_jobs != len(job_params):
        raise ValidationError("the jobs changed or were not checked: click Submit first")
    name = batch_name.strip()
    if not name:
        raise ValidationError("the batch name is empty: type a name for the batch")
    return sesh.submit(list(job_params), is_preview=check.is_preview, batch_name=name)


def find_own_notebook(folder: Path) -> Path | None:
    """The Submit notebook running in ``folder``, when it can be told.

    JupyterLab tells the kernel its notebook (``JPY_SESSION_NAME``); otherwise a folder with
    a single Submit notebook is unambiguous. A papermill run in a fresh folder has neither.
    """
    from ..records import KINDS  # the notebook machinery: on demand

    session_name = os.environ.get("JPY_SESSION_NAME")
    if session_name:
        candidate = folder / Path(session_name).name
        if candidate.is_file():
            return candidate
    mine = sorted(folder.glob(f"{KINDS['submit']}_*.ipynb"))
    return mine[0] if len(mine) == 1 else None


def write_download_notebook(batch: Batch, record_folder: Path | str,
                            submit_notebook: Path | None = None) -> Path:
    """Render the batch's Download notebook into ``record_folder``; returns its path."""
    from ..records import render_download_notebook

    sesh = batch.session
    return render_download_notebook(
        batch_id=batch.batch_id, batch_name=batch.name, generator=sesh.generator,
        server=sesh.server, folder=Path(record_folder), parent=submit_notebook)


def submit_headless(sesh: Session, job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                    batch_name: str, record_folder: Path | str) -> Batch:
    """Check, submit and write the Download notebook without buttons (a Submit notebook's
    ``SUBMIT_NOW`` cell), saying each step; raises on the first problem."""
    check = check_submission(sesh, job_params, is_preview)
    print(check.describe(headless=True))
    if not check.ok:
        raise ValidationError(check.describe(headless=True))
    batch = submit_checked(sesh, job_params, check, batch_name)
    print(f"Submitted batch {batch.batch_id}: {batch.portal_url}")
    record_folder = Path(record_folder)
    notebook = write_download_notebook(batch, record_folder, find_own_notebook(record_folder))
    print(f"Download notebook: {notebook}")
    return batch
