"""ipywidgets interfaces of the workflow notebooks.

Each module keeps the work behind its buttons in plain functions that return values (tested
without a kernel); the widget classes only read fields, call those functions and show what
they return.
"""

from .create import CreateWorkflowInterface, create_workflow_interface
from .download import DownloadInterface, download_interface
from .submit import SubmitInterface, submit_interface

__all__ = [
    "CreateWorkflowInterface",
    "DownloadInterface",
    "SubmitInterface",
    "create_workflow_interface",
    "download_interface",
    "submit_interface",
]
