"""A downloaded batch as a table (one row per job) and as histograms of that table.

Column names follow Infinity's toolkit where it had them (``job_path``, ``job_id``,
``num_frames``, ``avg_percent_in_fov``, ``avg_percent_occlusion``), then the same pattern
(``avg_``/``min_``/``max_`` + the label's name) for the statistics it did not have.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from infinity_workflows.errors import DataError

from .histograms import STAT_COLOR, small_multiples
from .jobdata import batch_folder
from .summary_index import LABEL_STATS, job_statistics, read_index

__all__ = ["LABEL_STATS", "job_statistics", "stat_columns", "summarize_batch_results_as_dataframe",
           "visualize_batch_results"]

_IDENTITY = ("job_path", "job_id", "kind")


def summarize_batch_results_as_dataframe(folder: str | Path) -> pd.DataFrame:
    """One row per downloaded job: ``job_path``, ``job_id``, ``kind`` (video/preview), the
    label statistics (:data:`LABEL_STATS`: frames, final rep count, occlusion, field of
    view, person box area as a fraction of the image, fraction of the 17 keypoints
    visible; ``avg_<metric>`` per image metric), then every parameter from job.json.
    Read from the batch's summary index (:mod:`.summary_index`), which is brought up to
    date first, so a second call reads one file."""
    root = batch_folder(folder)
    rows = [{"job_path": str(root / r["job_id"]), "job_id": r["job_id"], "kind": r["kind"],
             **dict.fromkeys(LABEL_STATS, math.nan), **r["stats"], **r["params"]}
            for r in read_index(root)]
    if not rows:
        return pd.DataFrame(columns=[*_IDENTITY, *LABEL_STATS])
    return pd.DataFrame.from_records(rows)


def stat_columns(df: pd.DataFrame) -> list[str]:
    """The label-statistic columns of a summary DataFrame, in order."""
    return [c for c in df.columns if c in LABEL_STATS or
            (c.startswith("avg_") and c not in _IDENTITY)]


def visualize_batch_results(folder_or_df: str | Path | pd.DataFrame, ncols: int = 4,
                            stratify_var: str | None = None) -> Figure:
    """Histograms of the label statistics (orange, first) and of the parameters (blue) of
    a downloaded batch, from its folder or from
    :func:`summarize_batch_results_as_dataframe`'s DataFrame; ``stratify_var`` (a
    parameter, or ``kind``) stacks every histogram by that column's values."""
    df = folder_or_df if isinstance(folder_or_df, pd.DataFrame) else \
        summarize_batch_results_as_dataframe(folder_or_df)
    if df.empty:
        raise DataError("no downloaded jobs to plot: the batch folder holds no job folders "
                         "yet (download the batch first)")
    stats = [c for c in stat_columns(df) if df[c].notna().any()]
    params = [c for c in df.columns
              if c not in stat_columns(df) and c not in ("job_path", "job_id")]
    colors = dict.fromkeys(stats, STAT_COLOR)
    return small_multiples(df, stats + params, colors,
                           f"Batch results: {len(df)} jobs (label statistics in orange)",
                           ncols, stratify_var)
