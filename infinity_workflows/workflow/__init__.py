"""The workflow's steps as plain functions: the layer below the widgets.

One module per step: :mod:`.create` (the server, its generators and recent batches, the
rendered record), :mod:`.submit` (check, submit, write the Download notebook),
:mod:`.download` (wait, download, progress, cancel), :mod:`.review` (the batch's table) and
:mod:`.explain` (any error in one sentence). The widgets, the notebook templates, the CLI and
Infinity-style interfaces all call these, so a step behaves the same with or without a
button, and each can be tested without a kernel.

Importing the package loads the client (which every step uses) and nothing heavier:
ipywidgets, IPython, pandas and nbformat are imported inside the functions that need them.
"""

from .create import (
    BatchChoice,
    GeneratorChoice,
    ServerChoices,
    checked_batch_id,
    create_record,
    default_server,
    fetch_generators,
    list_choices,
    only_generator,
    recent_batches,
)
from .download import (
    CancelReport,
    DownloadReport,
    cancel_batch,
    download_available,
    download_folder,
    follow_download,
    open_batch,
    progress_report,
    wait_and_download,
)
from .explain import StepFailed, explain_error, explained, source_checkout, start_server_hint
from .review import batch_metadata_frame
from .submit import (
    SubmissionCheck,
    check_submission,
    find_own_notebook,
    submit_checked,
    submit_headless,
    write_download_notebook,
)

__all__ = [
    "BatchChoice",
    "CancelReport",
    "DownloadReport",
    "GeneratorChoice",
    "ServerChoices",
    "StepFailed",
    "SubmissionCheck",
    "batch_metadata_frame",
    "cancel_batch",
    "check_submission",
    "checked_batch_id",
    "create_record",
    "default_server",
    "download_available",
    "download_folder",
    "explain_error",
    "explained",
    "fetch_generators",
    "find_own_notebook",
    "follow_download",
    "list_choices",
    "only_generator",
    "open_batch",
    "progress_report",
    "recent_batches",
    "source_checkout",
    "start_server_hint",
    "submit_checked",
    "submit_headless",
    "wait_and_download",
    "write_download_notebook",
]
