"""Small multiples: one histogram or bar chart per column of a table of jobs.

Used for job parameters before submitting and for a downloaded batch's results. Figures are
:class:`matplotlib.figure.Figure` objects made directly (nothing left open in pyplot), so a
notebook shows the returned figure and a test can inspect it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from infinity_workflows.errors import ValidationError

__all__ = ["PARAM_COLOR", "STAT_COLOR", "as_frame", "small_multiples", "visualize_job_params"]

PARAM_COLOR = "#4C72B0"
STAT_COLOR = "#DD8452"
_GROUP_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860",
                 "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")
_MAX_GROUPS = len(_GROUP_COLORS)


def as_frame(job_params: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, one dict or a list of dicts (one per job)."""
    if isinstance(job_params, pd.DataFrame):
        return job_params
    if isinstance(job_params, Mapping):
        job_params = [job_params]
    jobs = list(job_params)
    if not all(isinstance(j, Mapping) for j in jobs):
        raise TypeError("job_params must be a list of dicts (one per job) or a DataFrame")
    return pd.DataFrame.from_records(jobs)


def _is_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            and series.notna().all())


def _label(value: Any) -> str:
    return "None" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value)


def _split(series: pd.Series, groups: pd.Series | None) -> list[tuple[str, pd.Series]]:
    if groups is None:
        return [("", series)]
    keys = groups.map(_label)
    return [(k, series[keys == k]) for k in sorted(keys.unique(), key=str)]


def _plot_column(ax: Any, series: pd.Series, color: str, groups: pd.Series | None = None
                 ) -> None:
    """A histogram for numbers, a bar chart of counts for few whole numbers and for
    anything else (strings, bools, None); stacked by ``groups`` when given."""
    name = str(series.name)
    numeric = _is_numeric(series)
    parts = _split(series, groups)
    colors = [color] if groups is None else list(_GROUP_COLORS[:len(parts)])
    if numeric and pd.api.types.is_integer_dtype(series) and series.nunique() <= 12:
        # Few whole numbers (image sizes, frame rates, reps): one bar per value, evenly
        # spaced, so 256 and 512 do not become hairlines on a 0-512 axis.
        values = sorted(series.unique())
        bottom = np.zeros(len(values))
        for (_, part), c in zip(parts, colors, strict=True):
            counts = part.value_counts().reindex(values, fill_value=0).to_numpy()
            ax.bar(range(len(values)), counts, color=c, width=0.7, bottom=bottom)
            bottom += counts
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set_ylabel("jobs", fontsize=8)
    elif numeric:
        values = series.to_numpy(float)
        lo, hi = values.min(), values.max()
        bins: Any = min(30, max(5, int(math.sqrt(len(values)))))
        if pd.api.types.is_integer_dtype(series) and hi - lo <= 40:
            bins = np.arange(lo - 0.5, hi + 1.5)
        elif lo > 0 and hi / lo >= 30 and np.median(values) < lo + 0.2 * (hi - lo):
            # Wide, right-skewed positive values (light power) read better on a log axis.
            bins = np.geomspace(lo, hi, bins + 1)
            ax.set_xscale("log")
        ax.hist([p.to_numpy(float) for _, p in parts], bins=bins, color=colors,
                edgecolor="white", linewidth=0.5, stacked=True)
        ax.set_ylabel("jobs", fontsize=8)
    else:
        labels = sorted(series.map(_label).unique(), key=str)
        left = np.zeros(len(labels))
        for (_, part), c in zip(parts, colors, strict=True):
            counts = part.map(_label).value_counts().reindex(labels, fill_value=0).to_numpy()
            ax.barh(labels, counts, color=c, left=left)
            left += counts
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7 if len(labels) > 6 else 8)
        ax.set_xlabel("jobs", fontsize=8)
    (ax.yaxis if numeric else ax.xaxis).set_major_locator(MaxNLocator(integer=True))
    ax.set_title(name, fontsize=9, fontweight="bold")
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="y" if numeric else "x", alpha=0.3)
    ax.set_axisbelow(True)


def _constant_note(df: pd.DataFrame, columns: Iterable[str], width: int) -> str:
    parts = [f"{c}={_label(df[c].iloc[0]) if len(df) else '-'}" for c in columns]
    return textwrap.fill("Constant (not plotted): " + ", ".join(parts), width) if parts \
        else ""


def small_multiples(df: pd.DataFrame, columns: Sequence[str], colors: Mapping[str, str],
                    title: str, ncols: int, stratify_var: str | None = None) -> Figure:
    """One plot per varying column; constant ones are named in the title. With
    ``stratify_var``, every plot is stacked by that column's values (legend at the top)."""
    groups = None
    if stratify_var is not None:
        if stratify_var not in df.columns:
            raise ValidationError(f"stratify_var {stratify_var!r} is not a column; choose among "
                             f"{', '.join(map(str, df.columns))}")
        groups = df[stratify_var]
        if groups.map(_label).nunique() > _MAX_GROUPS:
            raise ValidationError(f"{stratify_var!r} has {groups.map(_label).nunique()} values; "
                             f"stratify by a column with at most {_MAX_GROUPS}")
    constant = [c for c in columns if df[c].map(_label).nunique() <= 1]
    varying = [c for c in columns if c not in constant]
    n = max(1, len(varying))
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.5 * nrows + 0.9 + 0.4 * (groups is not None)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, varying, strict=False):
        _plot_column(ax, df[column], colors.get(column, PARAM_COLOR), groups)
    for ax in axes[len(varying):]:
        ax.remove()
    if not varying:
        fig.text(0.5, 0.5, "every column is constant", ha="center", va="center")
    if groups is not None:
        keys = sorted(groups.map(_label).unique(), key=str)
        fig.legend(handles=[Patch(color=c, label=k) for k, c in zip(keys, _GROUP_COLORS,
                                                                      strict=False)],
                   loc="outside upper center", ncols=min(len(keys), 6), fontsize=8,
                   title=stratify_var, title_fontsize=8)
    note = _constant_note(df, constant, width=40 * ncols)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=11 if not note else 10)
    return fig


def visualize_job_params(job_params: Any, ncols: int = 4, stratify_var: str | None = None,
                         *, num_per_row: int | None = None, plot_title: str | None = None,
                         output_dir: str | Path | None = None) -> Figure:
    """One small plot per parameter of a list of jobs (dicts) or a DataFrame: a histogram
    for numbers, a bar chart for strings, bools and None, stacked by ``stratify_var``'s
    values if given. Constant parameters are named in the title instead of plotted.

    Infinity's keywords: ``num_per_row`` (``ncols``), ``plot_title``, and ``output_dir``: a
    folder to save ``job_params.png`` in, or an image file path."""
    df = as_frame(job_params)
    if df.empty:
        raise ValidationError("job_params is empty: there is nothing to plot")
    fig = small_multiples(df, list(df.columns), {},
                          plot_title or f"Job parameters of {len(df)} jobs",
                          num_per_row or ncols, stratify_var)
    if output_dir is not None:
        from .notebook import save_figure  # on use: it loads the video encoder

        save_figure(fig, output_dir, "job_params.png")
    return fig
