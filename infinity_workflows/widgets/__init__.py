"""ipywidgets interfaces of the workflow notebooks.

The work behind the buttons is in :mod:`infinity_workflows.workflow`, plain functions that
return values (tested without a kernel); the widget classes only build widgets, read fields,
call those functions and show what they return.

Each interface is imported on first use, so the create notebook's first cell loads the
create interface alone (not pandas, which only the Download interface needs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .create import CreateWorkflowInterface, create_workflow_interface
    from .download import DownloadInterface, download_interface
    from .gallery import CurationGallery, curation_gallery
    from .submit import SubmitInterface, submit_interface

__getattr__, __dir__ = lazy_exports(__name__, {
    "CreateWorkflowInterface": ".create", "create_workflow_interface": ".create",
    "DownloadInterface": ".download", "download_interface": ".download",
    "CurationGallery": ".gallery", "curation_gallery": ".gallery",
    "SubmitInterface": ".submit", "submit_interface": ".submit",
}, globals())

__all__ = [
    "CreateWorkflowInterface",
    "CurationGallery",
    "DownloadInterface",
    "SubmitInterface",
    "create_workflow_interface",
    "curation_gallery",
    "download_interface",
    "submit_interface",
]
