"""Where a user's files go: records and downloads live in the folder the user works in.

The user's side only (the local server's data folder is :mod:`.server_home`). This module was
``infinity_workflows.paths``, a name that still imports.

The work folder is where the create notebook sits (Jupyter starts its kernel there):
records go to ``./workflow_records/`` and downloads to ``./downloads/`` in it, unless
``INFINITY_WORKFLOWS_RECORDS`` / ``INFINITY_WORKFLOWS_DOWNLOADS`` say otherwise. A record
notebook runs in its own ``workflow_records/workflow_<stamp>/`` folder, so its downloads go
two levels up, beside the records, not inside them. Nothing is ever written under the
package's own folder (in this repository the work folder is ``visionfit/``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "DOWNLOADS_ENV",
    "RECORDS_ENV",
    "RECORD_FOLDER_RE",
    "default_downloads_dir",
    "default_records_dir",
    "work_folder",
]

RECORDS_ENV = "INFINITY_WORKFLOWS_RECORDS"
DOWNLOADS_ENV = "INFINITY_WORKFLOWS_DOWNLOADS"
RECORDS_NAME = "workflow_records"
DOWNLOADS_NAME = "downloads"
RECORD_FOLDER_RE = re.compile(r"^workflow_(\d{4}_\d{2}_\d{2}_T_\d{2}_\d{2}_\d{2}(?:_\d+)?)$")


def work_folder(here: Path | str | None = None) -> Path:
    """The user's work folder seen from ``here`` (default: the current directory): ``here``
    itself, or the folder holding the records folder when ``here`` is a record folder."""
    here = Path(here or Path.cwd()).absolute()
    if RECORD_FOLDER_RE.match(here.name):
        return here.parent.parent
    return here


def default_records_dir(here: Path | str | None = None) -> Path:
    """``$INFINITY_WORKFLOWS_RECORDS``, else ``workflow_records/`` in the work folder."""
    return Path(os.environ.get(RECORDS_ENV) or work_folder(here) / RECORDS_NAME)


def default_downloads_dir(here: Path | str | None = None) -> Path:
    """``$INFINITY_WORKFLOWS_DOWNLOADS``, else ``downloads/`` in the work folder."""
    return Path(os.environ.get(DOWNLOADS_ENV) or work_folder(here) / DOWNLOADS_NAME)
