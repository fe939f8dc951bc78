"""What a batch will teach a model: one figure of its label coverage.

Per-joint visibility rates, the occlusion distribution, where the person's box sits in the
image and how big it is, the camera against the avatar's angle, and exercise x scene counts.
Every frame counts once (that is what a model trains on). On a previews batch (one frame per
job) it shows what the matching video batch will cover, before anyone pays for videos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from infinity_workflows.errors import DataError

from .summary_index import BOX_BINS, OCCLUSION_BINS, read_index

__all__ = ["label_coverage"]

_VISIBILITY = ((2, "visible", "#FFB000"), (1, "occluded", "#DC267F"),
               (0, "out of frame", "#648FFF"))
_CAMERA = ("camera_distance", "camera_height", "relative_camera_yaw_deg")
_AVATAR = "relative_avatar_angle_deg"
_HEAT = "YlOrRd"


@dataclass
class _Coverage:
    """The batch's coverage: the sums of its jobs' counts from the summary index."""

    keypoint_names: list[str] = field(default_factory=list)
    visibility: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    occlusion: np.ndarray = field(
        default_factory=lambda: np.zeros(len(OCCLUSION_BINS) - 1, np.int64))
    centres: np.ndarray = field(default_factory=lambda: np.zeros(_HEAT_CELLS, np.int64))
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(_HEAT_CELLS, np.int64))
    frames: int = 0
    params: list[dict[str, Any]] = field(default_factory=list)
    videos: int = 0

    def add(self, row: dict[str, Any]) -> None:
        counts = row["coverage"]
        if not self.keypoint_names:
            self.keypoint_names = counts["keypoint_names"]
            self.visibility = np.zeros((len(self.keypoint_names), 3), np.int64)
        if counts["visibility"]:
            self.visibility += np.asarray(counts["visibility"], np.int64)
        self.occlusion += np.asarray(counts["occlusion"], np.int64)
        for name in ("centres", "sizes"):
            for index, n in counts[name]:
                getattr(self, name)[index] += n
        self.frames += counts["frames"]
        self.params.append(row["params"])
        self.videos += row["kind"] == "video"


_HEAT_CELLS = (len(BOX_BINS) - 1) ** 2


def _visibility_panel(ax: Any, cov: _Coverage) -> None:
    names = cov.keypoint_names
    left = np.zeros(len(names))
    for column, (value, label, colour) in enumerate(_VISIBILITY):
        rate = cov.visibility[:, column] * 100 / cov.frames if cov.frames \
            else np.zeros(len(names))
        ax.barh(names, rate, left=left, color=colour, label=label, gid=f"visibility-{value}")
        left += rate
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of frames", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=7,
              frameon=False)
    ax.set_title("Keypoint visibility per joint", fontsize=9, fontweight="bold", pad=18)


def _occlusion_panel(ax: Any, cov: _Coverage) -> None:
    centres = (OCCLUSION_BINS[:-1] + OCCLUSION_BINS[1:]) / 2
    ax.hist(centres, bins=OCCLUSION_BINS, weights=cov.occlusion, color="#DD8452",
            edgecolor="white", linewidth=0.5)
    ax.set_xlabel("person occlusion (%)", fontsize=8)
    ax.set_ylabel("frames", fontsize=8)
    ax.set_title("Occlusion distribution", fontsize=9, fontweight="bold")


def _heat_panel(fig: Figure, ax: Any, flat: np.ndarray, title: str, xlabel: str,
                ylabel: str, image_axes: bool) -> None:
    side = len(BOX_BINS) - 1
    counts = flat.reshape(side, side).astype(float)  # [x bin, y bin], as histogram2d gives
    shown = ax.imshow(counts.T, origin="upper" if image_axes else "lower",
                      extent=(0, 1, 1, 0) if image_axes else (0, 1, 0, 1), cmap=_HEAT,
                      aspect="auto", gid="heatmap")
    fig.colorbar(shown, ax=ax, shrink=0.8).set_label("frames", fontsize=7)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9, fontweight="bold")


def _scatter_panel(fig: Figure, ax: Any, df: pd.DataFrame, x: str, y: str, colour: str
                   ) -> None:
    missing = [c for c in (x, y, colour) if c not in df.columns]
    if missing:
        ax.text(0.5, 0.5, f"no {', '.join(missing)} in job.json", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        return
    shown = ax.scatter(df[x], df[y], c=df[colour], cmap="viridis", s=22, edgecolor="black",
                       linewidth=0.3, gid="jobs")
    fig.colorbar(shown, ax=ax, shrink=0.8).set_label(colour, fontsize=7)
    ax.set_xlabel(x, fontsize=8)
    ax.set_ylabel(y, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(f"{y} vs {x}", fontsize=9, fontweight="bold")


def _counts_panel(fig: Figure, ax: Any, df: pd.DataFrame) -> None:
    if not {"exercise", "scene"} <= set(df.columns):
        ax.text(0.5, 0.5, "no exercise/scene in job.json", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        return
    table = pd.crosstab(df["exercise"], df["scene"])
    shown = ax.imshow(table.to_numpy(), cmap="Blues", aspect="auto", gid="counts")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right",
                  fontsize=7)
    ax.set_yticks(range(len(table.index)), table.index, fontsize=7)
    if table.size <= 150:
        top = table.to_numpy().max()
        for (r, c), n in np.ndenumerate(table.to_numpy()):
            if n:
                ax.text(c, r, str(n), ha="center", va="center", fontsize=7,
                        color="white" if n > top / 2 else "black")
    fig.colorbar(shown, ax=ax, shrink=0.8).set_label("jobs", fontsize=7)
    ax.set_title("Jobs per exercise x scene", fontsize=9, fontweight="bold")


def label_coverage(folder: str | Path) -> Figure:
    """One figure of what a downloaded batch covers: per-joint visibility rates, the
    occlusion distribution, heatmaps of the person's box centres and sizes over the image,
    camera distance/height/yaw against the avatar's angle, and exercise x scene counts.
    Works on a previews batch too (one frame per job), to judge a video batch before it
    is rendered. Read from the batch's summary index (:mod:`.summary_index`): counts per
    job, so a second call reads one file, not every labels.json."""
    cov = _Coverage()
    for row in read_index(folder):
        if row["coverage"] is not None:
            cov.add(row)
    if not cov.params:
        raise DataError(f"{folder} holds no downloaded job with labels yet (download the "
                         f"batch first)")
    df = pd.DataFrame.from_records(cov.params)
    frames = cov.frames
    jobs = len(cov.params)
    fig = Figure(figsize=(16, 12), layout="constrained")
    grid = fig.add_gridspec(3, 3)
    _visibility_panel(fig.add_subplot(grid[0:2, 0]), cov)
    _occlusion_panel(fig.add_subplot(grid[0, 1]), cov)
    _heat_panel(fig, fig.add_subplot(grid[0, 2]), cov.centres,
                "Person box centre over the image", "x / width", "y / height",
                image_axes=True)
    _heat_panel(fig, fig.add_subplot(grid[1, 1]), cov.sizes,
                "Person box size", "box width / image width", "box height / image height",
                image_axes=False)
    _scatter_panel(fig, fig.add_subplot(grid[1, 2]), df, _AVATAR, _CAMERA[2], _CAMERA[0])
    _scatter_panel(fig, fig.add_subplot(grid[2, 0]), df, _CAMERA[0], _CAMERA[1], _AVATAR)
    _counts_panel(fig, fig.add_subplot(grid[2, 1:]), df)
    previews = jobs - cov.videos
    if cov.videos == 0:
        what = (f"{jobs} previews (frame 0 of each job): what the matching video batch will "
                f"cover")
    else:
        what = f"{jobs} jobs, {frames} frames" + (f" ({previews} previews)" if previews
                                                   else "")
    fig.suptitle(f"Label coverage of {Path(folder).name}: {what}", fontsize=12)
    return fig
