"""The design's figure: each target against what plain sampling, the designed previews and
(once rendered) the videos measure. One panel per target, beside ``label_coverage``:
a distribution target as cumulative distributions (what the Wasserstein distance is the
area between), a bound as bars of the means with the bound drawn across.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .targets import DistributionTarget

__all__ = ["design_figure"]

_STYLE = {"plain": ("#648FFF", "--"), "expected": ("#FFB000", "-"),
          "achieved": ("#DC267F", "-"), "baseline": ("#785EF0", ":")}

_SHORT = {"plain": "plain (previews)", "expected": "designed (previews)",
          "baseline": "plain (videos)", "achieved": "designed (videos)"}


def _cdf(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values) & (weights > 0)
    v, w = values[keep], weights[keep]
    order = np.argsort(v)
    return v[order], np.cumsum(w[order]) / max(w.sum(), 1e-12)


def design_figure(design: Any, achieved: Mapping[str, Any] | None = None,
                  baseline: Mapping[str, Any] | None = None) -> Figure:
    """One panel per target: the target and the batches' statistics, distances in legends.
    ``design``: a :class:`~.loop.Design` (not imported here: the loop imports this module);
    ``achieved`` and ``baseline`` (e.g. plain sampling's videos): name -> Outcome."""
    names = list(design.targets)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(5.2 * cols, 4.0 * rows), layout="constrained")
    series: list[tuple[str, Mapping[str, Any]]] = [
        (f"plain sampling ({design.explored} random previews)", design.plain()),
        (f"designed: {len(design.chosen)} chosen previews", design.expected())]
    if baseline is not None:
        series.append(("plain sampling: videos", baseline))
    if achieved is not None:
        series.append(("designed: videos", achieved))
    keys = ["plain", "expected"] + (["baseline"] if baseline is not None else []) \
        + (["achieved"] if achieved is not None else [])
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        target = design.targets[name]
        if isinstance(target, DistributionTarget):
            lo, hi = target.support
            for (label, outs), key in zip(series, keys, strict=True):
                out = outs[name]
                x, y = _cdf(out.values, out.weights)
                colour, ls = _STYLE[key]
                ax.step(np.concatenate([[x[0] if len(x) else lo], x]),
                        np.concatenate([[0.0], y]), where="post", color=colour,
                        linestyle=ls, label=f"{label}: W1 {out.distance:.3g}", gid=key)
                lo, hi = min(lo, *x[:1]), max(hi, *x[-1:])
            grid = np.linspace(lo, hi, 400)
            ax.plot(grid, target.cdf(grid), color="black", linewidth=2.2, alpha=0.6,
                    label=f"target: {target.describe()}", gid="target")
            ax.set_ylabel("cumulative share", fontsize=8)
            ax.set_xlabel(f"{name} ({design.kinds[name]})", fontsize=8)
            ax.set_ylim(0, 1.02)
        else:
            means = [outs[name].mean for _, outs in series]
            colours = [_STYLE[key][0] for key in keys]
            ax.bar(range(len(means)), means, color=colours, gid="means")
            ax.set_xticks(range(len(means)), [_SHORT[key] for key in keys], rotation=20,
                          ha="right", fontsize=7)
            bound = float(getattr(target, "bound", np.nan))
            ax.axhline(bound, color="black", linewidth=2, label=f"target: {target.describe()}")
            for i, m in enumerate(means):
                ax.text(i, m, f"{m:.3g}", ha="center", va="bottom", fontsize=8)
            what = "mean" if getattr(target, "above", None) is None and \
                getattr(target, "below", None) is None else "share past the threshold"
            ax.set_ylabel(f"{what}: {name} ({design.kinds[name]})", fontsize=8)
        ax.legend(fontsize=7, loc="best")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_title(name, fontsize=9, fontweight="bold")
    fig.suptitle(f"Designed batch: {len(design.chosen)} videos chosen from "
                 f"{len(design.measured)} previews\n({design.generator})", fontsize=10)
    return fig
