"""Workflow records: notebooks rendered from templates, with their lineage, listed and re-run.

One module per idea: :mod:`.render` (templates, lineage, the sidecar), :mod:`.index`
(reading and listing records, their batches' status) and :mod:`.rerun`, which runs only
what :mod:`.consent` accepts; :mod:`.snippets`
places a generator's cells into a template. nbformat and papermill are imported here and
nowhere else in the core, after :mod:`.iri_grammar` has kept their slowest import off the
path.
"""

from .iri_grammar import defer_iri_grammar

defer_iri_grammar()

from ..errors import RerunError  # noqa: E402 - after the deferral above
from .index import (  # noqa: E402
    RecordInfo,
    batch_statuses,
    list_records,
    read_lineage,
    read_parameters,
    record_batch_id,
    record_lineage,
)
from .render import (  # noqa: E402
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
from .rerun import rerun_record  # noqa: E402

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
    "record_batch_id",
    "record_lineage",
    "record_submission",
    "render_download_notebook",
    "render_record",
    "rerun_record",
    "stamp_for",
    "template_notebook",
]
