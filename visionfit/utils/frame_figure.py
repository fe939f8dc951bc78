"""Pictures of a job: the preview grid, one frame's labels as a figure, the inline video.

:func:`visualize_frame` draws one frame with Matplotlib (boxes and skeleton, cuboids,
segmentation) for a close look; for every frame at once see
:func:`visionfit.utils.label_video.visualize_all_labels`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from PIL import Image

from infinity_workflows.errors import DataError, MissingDataError, ValidationError

from .jobdata import (
    CUBOID_EDGES,
    MaskReader,
    caption,
    job_folders,
    job_params,
    mask_from_rle,
    person_category,
    read_frame,
    read_json,
)

__all__ = ["display_video", "view_previews", "visualize_frame"]

_PERSON_COLOR = "#39FF14"
_VISIBLE_COLOR = "#FFD700"
_HIDDEN_COLOR = "#FF3B3B"
_MAX_LEGEND = 8
_OTHER_COLORS = ("#00E5FF", "#FF6EC7", "#FFA500", "#B388FF", "#FFFFFF")


def view_previews(folder: str | Path, max_n: int = 16, ncols: int = 4,
                  caption_params: Sequence[str] = ("scene", "exercise")) -> Figure:
    """A grid of the first ``max_n`` jobs' ``video_preview.png``, each captioned with its
    ``caption_params`` (scene / exercise) and the start of its job id."""
    if max_n < 1 or ncols < 1:
        raise ValidationError("max_n and ncols must be at least 1")
    jobs = [d for d in job_folders(folder) if (d / "video_preview.png").is_file()]
    if not jobs:
        raise DataError(f"no job in {folder} has a video_preview.png (download the batch "
                         f"first)")
    shown = jobs[:max_n]
    ncols = min(ncols, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 3.5 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, job_dir in zip(axes, shown, strict=False):
        with Image.open(job_dir / "video_preview.png") as im:
            ax.imshow(np.asarray(im.convert("RGB")))
        params = job_params(job_dir)
        ax.set_title(f"{caption(params, caption_params)}\n{job_dir.name[:8]}", fontsize=8)
        ax.set_axis_off()
    for ax in axes[len(shown):]:
        ax.remove()
    more = f" (first {len(shown)} of {len(jobs)})" if len(jobs) > len(shown) else ""
    fig.suptitle(f"Previews{more}", fontsize=11)
    return fig


def _cuboid_segments(ann: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    corners = ann.get("cuboid_coordinates") or []
    if len(corners) != 8:
        return []
    pts = [(c["x"], c["y"]) for c in corners]
    return [[pts[a], pts[b]] for a, b in CUBOID_EDGES]


def _draw_boxes_and_skeleton(ax: Any, anns: Sequence[Mapping[str, Any]],
                             cats: Mapping[int, Mapping[str, Any]], person_id: int,
                             colors: Mapping[int, str]) -> None:
    skeleton = cats[person_id].get("skeleton") or []
    for ann in anns:
        x, y, w, h = ann["bbox"]
        is_person = ann["category_id"] == person_id
        ax.add_patch(Rectangle((x, y), w, h, fill=False, gid="bbox",
                               edgecolor=colors[ann["category_id"]],
                               linewidth=2.0 if is_person else 1.2,
                               linestyle="-" if is_person else "--"))
        ax.text(x, y - 2, cats[ann["category_id"]]["name"], color=colors[ann["category_id"]],
                fontsize=7, va="bottom", clip_on=True)
        kps = ann.get("keypoints")
        if not kps:
            continue
        pts = np.asarray(kps, float).reshape(-1, 3)
        solid, dashed = [], []
        for a, b in skeleton:
            pa, pb = pts[a - 1], pts[b - 1]
            if pa[2] > 0 and pb[2] > 0:
                (solid if pa[2] == 2 and pb[2] == 2 else dashed).append([pa[:2], pb[:2]])
        ax.add_collection(LineCollection(solid, colors=_PERSON_COLOR, linewidths=1.8,
                                         gid="skeleton"))
        ax.add_collection(LineCollection(dashed, colors=_HIDDEN_COLOR, linewidths=1.2,
                                         linestyles="--", gid="skeleton-hidden"))
        vis, hid = pts[pts[:, 2] == 2], pts[pts[:, 2] == 1]
        ax.plot(vis[:, 0], vis[:, 1], "o", ms=4.5, mfc=_VISIBLE_COLOR, mec="black", mew=0.6,
                gid="keypoints-visible")
        ax.plot(hid[:, 0], hid[:, 1], "o", ms=5, mfc="none", mec=_HIDDEN_COLOR, mew=1.4,
                gid="keypoints-hidden")


def visualize_frame(job_folder: str | Path, frame: int = 0) -> Figure:
    """Frame ``frame`` of a job with its labels, in three panels: bounding boxes and the
    person's skeleton (visible keypoints filled, hidden ones hollow and dashed), the
    instances' 3D cuboids, and the instance segmentation as a translucent overlay."""
    job_dir = Path(job_folder)
    labels = read_json(job_dir / "labels.json")
    images = labels.get("images", [])
    if not 0 <= frame < len(images):
        raise IndexError(f"frame {frame} is out of range: {job_dir.name} has {len(images)} "
                         f"frame(s), 0 to {len(images) - 1}")
    image_info = images[frame]
    rgb = read_frame(job_dir, frame)
    height, width = rgb.shape[:2]
    cats = {c["id"]: c for c in labels.get("categories", [])}
    person_id = person_category(labels)["id"]
    colors = {cid: (_PERSON_COLOR if cid == person_id else
                    _OTHER_COLORS[i % len(_OTHER_COLORS)])
              for i, cid in enumerate(sorted(c for c in cats if c != person_id))}
    colors[person_id] = _PERSON_COLOR
    anns = [a for a in labels.get("annotations", []) if a.get("image_id") == image_info["id"]]
    anns.sort(key=lambda a: a["category_id"] == person_id)  # the person on top

    fig = Figure(figsize=(13.5, 5.0), layout="constrained")
    ax_box, ax_cub, ax_seg = fig.subplots(1, 3)
    for ax in (ax_box, ax_cub, ax_seg):
        ax.imshow(rgb)
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])

    _draw_boxes_and_skeleton(ax_box, anns, cats, person_id, colors)
    ax_box.set_title("Boxes and skeleton")
    ax_box.legend(handles=[
        Line2D([], [], color=_PERSON_COLOR, lw=2, label="person box / skeleton"),
        Line2D([], [], marker="o", ls="", mfc=_VISIBLE_COLOR, mec="black",
               label="keypoint visible (v=2)"),
        Line2D([], [], marker="o", ls="", mfc="none", mec=_HIDDEN_COLOR, mew=1.4,
               label="keypoint hidden (v=1)"),
    ], loc="lower left", fontsize=7, framealpha=0.7)

    for ann in anns:
        segments = _cuboid_segments(ann)
        if segments:
            ax_cub.add_collection(LineCollection(segments, colors=colors[ann["category_id"]],
                                                 linewidths=1.4, gid="cuboid"))
    ax_cub.set_title("3D cuboids")

    with MaskReader(job_dir) as masks:
        mask = masks.colours(int(image_info.get("frame_number", frame)), "iseg")
    source = "iseg PNG"
    if mask is None:
        mask, source = mask_from_rle(anns, height, width), "RLE"
    overlay = np.zeros((height, width, 4), np.float32)
    overlay[..., :3] = mask / 255.0
    overlay[..., 3] = np.where(mask.any(axis=2), 0.55, 0.0)
    ax_seg.imshow(overlay, gid="segmentation")
    ax_seg.set_title(f"Instance segmentation ({source})")
    # One legend entry per visible instance (each has its own colour in the mask), the
    # person first, largest first after it.
    shown = sorted((a for a in anns if "color" in a and a.get("area", 1) > 0),
                   key=lambda a: (a["category_id"] != person_id, -a.get("area", 0)))
    numbers: dict[int, int] = {}
    handles = []
    for ann in shown[:_MAX_LEGEND]:
        name = cats[ann["category_id"]]["name"]
        numbers[ann["category_id"]] = numbers.get(ann["category_id"], 0) + 1
        if ann["category_id"] != person_id:
            name = f"{name} {numbers[ann['category_id']]}"
        handles.append(Patch(color=tuple(c / 255 for c in ann["color"][:3]), label=name))
    if len(shown) > _MAX_LEGEND:
        handles.append(Patch(color="none", label=f"+{len(shown) - _MAX_LEGEND} more"))
    if handles:
        ax_seg.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.7)

    fig.suptitle(f"{caption(job_params(job_dir))}  ·  job {job_dir.name[:8]}  ·  frame "
                 f"{frame + 1} of {len(images)}  ·  {width}x{height}", fontsize=11)
    return fig


def display_video(job_folder: str | Path, width: int | None = None) -> Any:
    """The job's video.mp4 as an inline player (looping, muted, with controls), linked to
    the file rather than embedded, so a saved notebook stays small; JupyterLab plays it from
    its URL relative to the notebook's folder."""
    from infinity_workflows.review import LinkedFile

    job_dir = Path(job_folder)
    video = job_dir / "video.mp4"
    if not video.is_file():
        hint = " (it is a preview job: look at it with view_previews, or rerun it as a video)" \
            if (job_dir / "video_preview.png").is_file() else ""
        raise MissingDataError(f"{video} does not exist{hint}")
    return LinkedFile(video, width=width)
