"""A downloaded batch as a table (one row per job) and as histograms of that table.

Column names follow Infinity's toolkit where it had them (``job_path``, ``job_id``,
``num_frames``, ``avg_percent_in_fov``, ``avg_percent_occlusion``), then the same pattern
(``avg_``/``min_``/``max_`` + the label's name) for the statistics it did not have.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from infinity_workflows.errors import DataError

from ..generator.label_summary import LABEL_STATS as _LABEL_STATS
from ..generator.label_summary import statistics_of
from .histograms import STAT_COLOR, small_multiples
from .jobdata import JobLabels, job_folders, read_json

__all__ = ["LABEL_STATS", "stat_columns", "summarize_batch_results_as_dataframe",
           "visualize_batch_results"]

# Statistics every row has (image metrics add ``avg_<metric>`` columns after them); the
# formula is the generator's declared label summary, so this table and the core's agree.
LABEL_STATS = _LABEL_STATS
_IDENTITY = ("job_path", "job_id", "kind")


def job_statistics(labels: JobLabels) -> dict[str, float]:
    """The per-job statistics of one job's labels (the LABEL_STATS columns and avg_ of
    each image metric)."""
    visible = (labels.keypoints[:, :, 2] == 2).mean(axis=1) if labels.keypoints.shape[1] \
        else np.full(labels.frames, np.nan)
    return statistics_of(width=labels.width, height=labels.height,
                         person_bbox=labels.person_bbox, visible_keypoints=visible,
                         percent_occlusion=labels.percent_occlusion,
                         percent_in_fov=labels.percent_in_fov, rep_count=labels.rep_count,
                         metrics=labels.metrics)


def summarize_batch_results_as_dataframe(folder: str | Path) -> pd.DataFrame:
    """One row per downloaded job: ``job_path``, ``job_id``, ``kind`` (video/preview), the
    label statistics (:data:`LABEL_STATS`: frames, final rep count, occlusion, field of
    view, person box area as a fraction of the image, fraction of the 17 keypoints
    visible; ``avg_<metric>`` per image metric), then every parameter from job.json."""
    rows = []
    for job_dir in job_folders(folder):
        job = read_json(job_dir / "job.json")
        stats: dict[str, Any] = dict.fromkeys(LABEL_STATS, math.nan)
        if (job_dir / "labels.json").is_file():
            stats.update(job_statistics(JobLabels.load(job_dir)))
        kind = "video" if (job_dir / "video.mp4").is_file() else "preview"
        rows.append({"job_path": str(job_dir), "job_id": job_dir.name, "kind": kind, **stats,
                     **job.get("params", {})})
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
