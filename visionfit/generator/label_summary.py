"""VisionFit's declared label summary: per-job scalar statistics of a job's labels.

One formula for both readers: the plug-in's ``job_statistics`` (what the core's gallery and
design-to-target call for any generator) reads ``labels.json`` here with the standard
library and NumPy only, so the server and a sampling notebook never load the review
helpers; ``visionfit.utils.summary`` feeds the same :func:`statistics_of` from its
``JobLabels`` arrays, so its table and the core's agree to the last digit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["LABEL_STATS", "STATISTICS", "read_statistics", "statistics_of"]

# name -> what it means (the declared summary; image metrics add avg_<metric> after these).
STATISTICS: dict[str, str] = {
    "num_frames": "frames in the job",
    "final_rep_count": "repetitions counted at the last frame",
    "avg_percent_occlusion": "mean % of the person hidden by the room (over frames)",
    "min_percent_occlusion": "least % of the person hidden in any frame",
    "max_percent_occlusion": "most % of the person hidden in any frame",
    "avg_percent_in_fov": "mean % of the person inside the image",
    "min_percent_in_fov": "least % of the person inside the image in any frame",
    "avg_bbox_area_fraction": "mean person box area / image area",
    "min_bbox_area_fraction": "smallest person box area / image area",
    "max_bbox_area_fraction": "largest person box area / image area",
    "avg_visible_keypoint_fraction": "mean fraction of the 17 keypoints visible (v=2)",
    "min_visible_keypoint_fraction": "least fraction of keypoints visible in any frame",
    "avg_image_brightness": "mean luma of the image, 0-255",
    "avg_avatar_brightness": "mean luma of the person, 0-255",
}
LABEL_STATS = tuple(list(STATISTICS)[:12])  # every row has these; metrics follow


def _stat(values: np.ndarray, how: str) -> float:
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    return float({"avg": np.mean, "min": np.min, "max": np.max}[how](values))


def statistics_of(*, width: int, height: int, person_bbox: np.ndarray,
                  visible_keypoints: np.ndarray, percent_occlusion: np.ndarray,
                  percent_in_fov: np.ndarray, rep_count: np.ndarray,
                  metrics: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The statistics from per-frame arrays: ``person_bbox`` (N, 4) x, y, w, h (nan where no
    person), ``visible_keypoints`` (N,) fraction with v=2 (nan without keypoints), the two
    percentages and ``rep_count`` (N,), ``metrics`` name -> (N,)."""
    area_fraction = person_bbox[:, 2] * person_bbox[:, 3] / (width * height)
    series = {"percent_occlusion": percent_occlusion, "percent_in_fov": percent_in_fov,
              "bbox_area_fraction": area_fraction, "visible_keypoint_fraction": visible_keypoints}
    row: dict[str, float] = {"num_frames": len(rep_count),
                             "final_rep_count": float(rep_count[-1])}
    for column in LABEL_STATS[2:]:
        how, name = column.split("_", 1)
        row[column] = _stat(series[name], how)
    for metric, values in metrics.items():
        row[f"avg_{metric.removeprefix('mean_')}"] = _stat(values, "avg")
    return row


def read_statistics(job_folder: Path) -> dict[str, float]:
    """The statistics of one downloaded job folder, from its labels.json ({} without one)."""
    path = Path(job_folder) / "labels.json"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        labels = json.load(fh)
    images = labels.get("images", [])
    if not images:
        return {}
    person = next((c for c in labels.get("categories", []) if c.get("name") == "person"), {})
    person_id, has_keypoints = person.get("id"), bool(person.get("keypoints"))
    index = {img["id"]: i for i, img in enumerate(images)}
    n = len(images)
    bbox = np.full((n, 4), np.nan)
    # As in the JobLabels arrays: no keypoint visible where a frame has no person or its
    # annotation lists none; nan throughout when the person category declares no keypoints.
    visible = np.full(n, 0.0 if has_keypoints else np.nan)
    occlusion, in_fov = np.full(n, np.nan), np.full(n, np.nan)
    seen = np.zeros(n, bool)
    for ann in labels.get("annotations", []):
        i = index.get(ann.get("image_id"))
        if i is None or seen[i] or ann.get("category_id") != person_id:
            continue
        seen[i] = True  # the first person annotation of a frame, as JobLabels takes it
        bbox[i] = ann["bbox"]
        occlusion[i] = ann.get("percent_occlusion", math.nan)
        in_fov[i] = ann.get("percent_in_fov", math.nan)
        kp = ann.get("keypoints")
        if kp and has_keypoints:
            visible[i] = float((np.asarray(kp, float).reshape(-1, 3)[:, 2] == 2).mean())
    names = list(dict.fromkeys(m for img in images for m in img.get("metrics", {})))
    return statistics_of(
        width=int(images[0]["width"]), height=int(images[0]["height"]), person_bbox=bbox,
        visible_keypoints=visible, percent_occlusion=occlusion, percent_in_fov=in_fov,
        rep_count=np.array([img.get("rep_count_from_start", math.nan) for img in images],
                           float),
        metrics={m: np.array([img.get("metrics", {}).get(m, math.nan) for img in images],
                             float) for m in names})
