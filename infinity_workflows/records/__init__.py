"""Workflow records: notebooks rendered from templates, with their lineage, listed and re-run.

One module per idea: :mod:`.render` (templates, lineage, the sidecar), :mod:`.index`
(reading and listing records, their batches' status) and :mod:`.rerun`.
"""

from ..errors import RerunError
from .index import (
    RecordInfo,
    batch_statuses,
    list_records,
    read_lineage,
    read_parameters,
    record_lineage,
)
from .render import (
    KINDS,
    METADATA_KEY,
    SIDECAR,
    create_workflow_notebook,
    new_record_folder,
    read_submissions,
    record_submission,
    render_download_notebook,
    render_record,
    stamp_for,
    template_notebook,
)
from .rerun import rerun_record

__all__ = [
    "KINDS",
    "METADATA_KEY",
    "SIDECAR",
    "RecordInfo",
    "RerunError",
    "batch_statuses",
    "create_workflow_notebook",
    "list_records",
    "new_record_folder",
    "read_lineage",
    "read_parameters",
    "read_submissions",
    "record_lineage",
    "record_submission",
    "render_download_notebook",
    "render_record",
    "rerun_record",
    "stamp_for",
    "template_notebook",
]
