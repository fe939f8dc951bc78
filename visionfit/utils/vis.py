"""Look at VisionFit batches: job parameters, result statistics, previews, labels, videos.

Every function returns its figure, DataFrame or display object instead of showing it, so a
notebook displays it and a test can inspect it. Nothing here calls ``plt.show``; figures
are created with :class:`matplotlib.figure.Figure` directly, so none is left open in
pyplot's global state (a notebook shows a returned Figure through its rich display).

A downloaded batch is a folder of job folders ``<folder>/<job_id>/`` holding ``job.json``
(``{name, version, seed, params}``), ``labels.json`` (COCO keypoints plus VisionFit's extras),
``video_preview.png``, ``segmentation.zip`` (``image.NNNNNN.iseg.png`` instance masks) and,
for video jobs, ``video.mp4``.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image

__all__ = [
    "CUBOID_EDGES",
    "LABEL_STATS",
    "display_video",
    "job_folders",
    "read_frame",
    "summarize_batch_results_as_dataframe",
    "video_frames",
    "view_previews",
    "visualize_all_labels",
    "visualize_batch_results",
    "visualize_job_params",
]

# Columns the batch summary adds to each job's parameters.
LABEL_STATS = ("num_frames", "mean_percent_in_fov", "mean_percent_occlusion")
# The 12 edges of a labelled cuboid. Corner k sits at the min or max of the box along each of
# its three axes as the three bits of k say (labels.json: info.cuboid_corner_order), so two
# corners share an edge when their indices differ in exactly one bit.
CUBOID_EDGES = tuple((a, b) for a in range(8) for b in range(a + 1, 8)
                     if bin(a ^ b).count("1") == 1)

_PARAM_COLOR = "#4C72B0"
_STAT_COLOR = "#DD8452"
_PERSON_COLOR = "#39FF14"
_VISIBLE_COLOR = "#FFD700"
_HIDDEN_COLOR = "#FF3B3B"
_MAX_LEGEND = 8
_OTHER_COLORS = ("#00E5FF", "#FF6EC7", "#FFA500", "#B388FF", "#FFFFFF")


# --------------------------------------------------------------------------------------------
# Job parameters and batch statistics as small multiples
# --------------------------------------------------------------------------------------------


def _as_frame(job_params: Any) -> pd.DataFrame:
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


def _plot_column(ax: Any, series: pd.Series, color: str) -> None:
    """A histogram for numbers, a bar chart of counts for few whole numbers and for
    anything else (strings, bools, None)."""
    name = str(series.name)
    numeric = _is_numeric(series)
    if numeric and pd.api.types.is_integer_dtype(series) and series.nunique() <= 12:
        # Few whole numbers (image sizes, frame rates, reps): one bar per value, evenly
        # spaced, so 256 and 512 do not become hairlines on a 0-512 axis.
        counts = series.value_counts().sort_index()
        ax.bar(range(len(counts)), counts.to_numpy(), color=color, width=0.7)
        ax.set_xticks(range(len(counts)), [str(v) for v in counts.index])
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
        ax.hist(values, bins=bins, color=color, edgecolor="white", linewidth=0.5)
        ax.set_ylabel("jobs", fontsize=8)
    else:
        counts = series.map(_label).value_counts()
        counts = counts.reindex(sorted(counts.index, key=str))
        ax.barh(counts.index, counts.to_numpy(), color=color)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7 if len(counts) > 6 else 8)
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


def _small_multiples(df: pd.DataFrame, columns: Sequence[str], colors: Mapping[str, str],
                     title: str, ncols: int) -> Figure:
    constant = [c for c in columns if df[c].map(_label).nunique() <= 1]
    varying = [c for c in columns if c not in constant]
    n = max(1, len(varying))
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.5 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, varying, strict=False):
        _plot_column(ax, df[column], colors.get(column, _PARAM_COLOR))
    for ax in axes[len(varying):]:
        ax.remove()
    if not varying:
        fig.text(0.5, 0.5, "every column is constant", ha="center", va="center")
    note = _constant_note(df, constant, width=40 * ncols)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=11 if not note else 10)
    return fig


def visualize_job_params(job_params: Any, ncols: int = 4) -> Figure:
    """One small plot per parameter of a list of jobs (dicts) or a DataFrame: a histogram
    for numbers, a bar chart for strings, bools and None. Constant parameters are named in
    the title instead of plotted."""
    df = _as_frame(job_params)
    if df.empty:
        raise ValueError("job_params is empty: there is nothing to plot")
    return _small_multiples(df, list(df.columns), {}, f"Job parameters of {len(df)} jobs",
                            ncols)


def job_folders(folder: str | Path) -> list[Path]:
    """The downloaded job folders ``<folder>/<job_id>/`` (those holding a job.json), sorted;
    temporary folders of an unfinished download (names starting with '.') are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; pass the folder Batch.download() "
                                f"wrote (it holds one sub-folder per job)")
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "job.json").is_file())


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _person_category(labels: Mapping[str, Any]) -> Mapping[str, Any]:
    for cat in labels.get("categories", []):
        if cat.get("name") == "person":
            return cat
    raise ValueError("labels.json has no 'person' category")


def _label_stats(labels: Mapping[str, Any]) -> dict[str, Any]:
    person = _person_category(labels)["id"]
    anns = [a for a in labels.get("annotations", []) if a.get("category_id") == person]

    def mean(key: str) -> float:
        values = [a[key] for a in anns if a.get(key) is not None]
        return float(np.mean(values)) if values else math.nan

    return {"num_frames": len(labels.get("images", [])),
            "mean_percent_in_fov": mean("percent_in_fov"),
            "mean_percent_occlusion": mean("percent_occlusion")}


def summarize_batch_results_as_dataframe(folder: str | Path) -> pd.DataFrame:
    """One row per downloaded job: ``job_id``, ``kind`` (video/preview), ``num_frames``,
    the person's mean ``percent_in_fov`` and ``percent_occlusion`` over the frames, then
    every parameter from job.json."""
    rows = []
    for job_dir in job_folders(folder):
        job = _read_json(job_dir / "job.json")
        labels_path = job_dir / "labels.json"
        stats = _label_stats(_read_json(labels_path)) if labels_path.is_file() else \
            dict.fromkeys(LABEL_STATS, math.nan)
        kind = "video" if (job_dir / "video.mp4").is_file() else "preview"
        rows.append({"job_id": job_dir.name, "kind": kind, **stats, **job.get("params", {})})
    columns = ["job_id", "kind", *LABEL_STATS]
    df = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=columns)
    return df


def visualize_batch_results(folder_or_df: str | Path | pd.DataFrame, ncols: int = 4) -> Figure:
    """Histograms of the label statistics (orange, first) and of the parameters (blue) of
    a downloaded batch, from its folder or from
    :func:`summarize_batch_results_as_dataframe`'s DataFrame."""
    df = folder_or_df if isinstance(folder_or_df, pd.DataFrame) else \
        summarize_batch_results_as_dataframe(folder_or_df)
    if df.empty:
        raise ValueError("no downloaded jobs to plot: the batch folder holds no job folders "
                         "yet (download the batch first)")
    stats = [c for c in LABEL_STATS if c in df.columns and df[c].notna().any()]
    params = [c for c in df.columns if c not in (*LABEL_STATS, "job_id")]
    colors = dict.fromkeys(stats, _STAT_COLOR)
    return _small_multiples(df, stats + params, colors,
                            f"Batch results: {len(df)} jobs (label statistics in orange)",
                            ncols)


# --------------------------------------------------------------------------------------------
# Images: previews, frames, label overlays
# --------------------------------------------------------------------------------------------


def _caption(params: Mapping[str, Any], caption_params: Sequence[str]) -> str:
    return " / ".join(str(params[p]) for p in caption_params if p in params)


def view_previews(folder: str | Path, max_n: int = 16, ncols: int = 4,
                  caption_params: Sequence[str] = ("scene", "exercise")) -> Figure:
    """A grid of the first ``max_n`` jobs' ``video_preview.png``, each captioned with its
    ``caption_params`` (scene / exercise) and the start of its job id."""
    if max_n < 1 or ncols < 1:
        raise ValueError("max_n and ncols must be at least 1")
    jobs = [d for d in job_folders(folder) if (d / "video_preview.png").is_file()]
    if not jobs:
        raise ValueError(f"no job in {folder} has a video_preview.png (download the batch "
                         f"first)")
    shown = jobs[:max_n]
    ncols = min(ncols, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 3.5 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, job_dir in zip(axes, shown, strict=False):
        with Image.open(job_dir / "video_preview.png") as im:
            ax.imshow(np.asarray(im.convert("RGB")))
        params = _read_json(job_dir / "job.json").get("params", {})
        ax.set_title(f"{_caption(params, caption_params)}\n{job_dir.name[:8]}", fontsize=8)
        ax.set_axis_off()
    for ax in axes[len(shown):]:
        ax.remove()
    more = f" (first {len(shown)} of {len(jobs)})" if len(jobs) > len(shown) else ""
    fig.suptitle(f"Previews{more}", fontsize=11)
    return fig


def video_frames(video: str | Path) -> Iterator[np.ndarray]:
    """Every frame of an mp4 as an RGB array, decoded once, in order."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video), pix_fmt="rgb24")
    try:
        width, height = next(reader)["size"]
        for data in reader:
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def read_frame(job_folder: str | Path, frame: int = 0) -> np.ndarray:
    """Frame ``frame`` of a job as an RGB array: decoded from video.mp4 for a video job,
    video_preview.png for a preview (which has only frame 0)."""
    job_dir = Path(job_folder)
    video = job_dir / "video.mp4"
    if video.is_file():
        if frame < 0:
            raise IndexError(f"frame must be >= 0, got {frame}")
        count = 0
        for count, data in enumerate(video_frames(video), start=1):
            if count == frame + 1:
                return data.copy()
        raise IndexError(f"frame {frame} is past the end of {video} ({count} frames)")
    preview = job_dir / "video_preview.png"
    if not preview.is_file():
        raise FileNotFoundError(f"{job_dir} has neither video.mp4 nor video_preview.png; is it "
                                f"a downloaded job folder?")
    if frame != 0:
        raise IndexError(f"{job_dir.name} is a preview job: it has only frame 0")
    with Image.open(preview) as im:
        return np.asarray(im.convert("RGB"))


def _instance_mask(job_dir: Path, frame_number: int) -> np.ndarray | None:
    """The frame's instance mask (RGB) from segmentation.zip, or None when absent."""
    name = f"image.{frame_number:06d}.iseg.png"
    archive = job_dir / "segmentation.zip"
    if archive.is_file():
        with zipfile.ZipFile(archive) as z:
            match = [n for n in z.namelist() if n.rsplit("/", 1)[-1] == name]
            if match:
                with Image.open(io.BytesIO(z.read(match[0]))) as im:
                    return np.asarray(im.convert("RGB"))
    loose = job_dir / name
    if loose.is_file():
        with Image.open(loose) as im:
            return np.asarray(im.convert("RGB"))
    return None


def _mask_from_rle(anns: Sequence[Mapping[str, Any]], height: int, width: int) -> np.ndarray:
    """An instance mask painted from the annotations' RLE and colours (when no PNG)."""
    from pycocotools import mask as mask_utils

    canvas = np.zeros((height, width, 3), np.uint8)
    for ann in anns:
        rle = ann.get("segmentation")
        if not isinstance(rle, Mapping):
            continue
        rle = dict(rle)
        if isinstance(rle.get("counts"), str):
            rle["counts"] = rle["counts"].encode()
        canvas[mask_utils.decode(rle).astype(bool)] = ann.get("color", (255, 255, 255))[:3]
    return canvas


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


def visualize_all_labels(job_folder: str | Path, frame: int = 0) -> Figure:
    """Frame ``frame`` of a job with its labels, in three panels: bounding boxes and the
    person's skeleton (visible keypoints filled, hidden ones hollow and dashed), the
    instances' 3D cuboids, and the instance segmentation as a translucent overlay."""
    job_dir = Path(job_folder)
    labels = _read_json(job_dir / "labels.json")
    images = labels.get("images", [])
    if not 0 <= frame < len(images):
        raise IndexError(f"frame {frame} is out of range: {job_dir.name} has {len(images)} "
                         f"frame(s), 0 to {len(images) - 1}")
    image_info = images[frame]
    rgb = read_frame(job_dir, frame)
    height, width = rgb.shape[:2]
    cats = {c["id"]: c for c in labels.get("categories", [])}
    person_id = _person_category(labels)["id"]
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

    mask = _instance_mask(job_dir, int(image_info.get("frame_number", frame)))
    source = "iseg PNG"
    if mask is None:
        mask, source = _mask_from_rle(anns, height, width), "RLE"
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

    params = _read_json(job_dir / "job.json").get("params", {}) \
        if (job_dir / "job.json").is_file() else {}
    caption = _caption(params, ("scene", "exercise"))
    fig.suptitle(f"{caption}  ·  job {job_dir.name[:8]}  ·  frame {frame + 1} of {len(images)}"
                 f"  ·  {width}x{height}", fontsize=11)
    return fig


def display_video(job_folder: str | Path, width: int | None = None) -> Any:
    """The job's video.mp4 as an inline player (embedded, so it survives in a saved
    notebook), looping, muted, with controls."""
    from IPython.display import Video

    job_dir = Path(job_folder)
    video = job_dir / "video.mp4"
    if not video.is_file():
        hint = " (it is a preview job: look at it with view_previews, or rerun it as a video)" \
            if (job_dir / "video_preview.png").is_file() else ""
        raise FileNotFoundError(f"{video} does not exist{hint}")
    return Video(str(video), embed=True, width=width, mimetype="video/mp4",
                 html_attributes="controls loop muted playsinline")
