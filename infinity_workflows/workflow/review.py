"""A first table of a batch: what each job was submitted with.

The Download notebook shows it before anything is downloaded, so a reader can see what the
batch was asked to render while waiting; it needs only the batch, not its results. (What
arrived, and the previews, are in :mod:`infinity_workflows.review`.) pandas is imported
when the table is made, so the workflow package stays light to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..batch import Batch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["batch_metadata_frame"]


def batch_metadata_frame(batch: Batch) -> pd.DataFrame:
    """One row per job: its id, type and every parameter value it was submitted with."""
    import pandas as pd

    rows = [{"job_id": job["id"], "is_preview": job.get("is_preview"),
             **(job.get("param_values") or {})} for job in batch.jobs]
    return pd.DataFrame(rows).set_index("job_id")
