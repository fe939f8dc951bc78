"""Per-instance statistics of COCO annotations: a user's own data as a target, and the
per-frame statistics of any generator whose labels are COCO (VisionFit's are).

One row per annotation of the chosen category (crowd annotations left out), with the
image's size from its ``images`` entry. Standard library and NumPy only, so a generator
plug-in may call it without loading the client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["COCO_STATISTICS", "coco_statistics", "match_coco", "read_coco"]

# name -> meaning; every reader of COCO data in this package uses these names.
COCO_STATISTICS: dict[str, str] = {
    "bbox_area_fraction": "box width x height / image area",
    "bbox_width_fraction": "box width / image width",
    "bbox_height_fraction": "box height / image height",
    "bbox_center_x": "box centre x / image width (0 left, 1 right)",
    "bbox_center_y": "box centre y / image height (0 top, 1 bottom)",
    "visible_keypoint_fraction": "share of the category's keypoints with v = 2",
    "labelled_keypoint_fraction": "share of keypoints with v > 0 (in the image, seen or not)",
    "wrist_hidden": "1 if a wrist keypoint is not visible (v < 2), else 0",
    "percent_occlusion": "% of the instance hidden (where the annotation says)",
}
_WRISTS = ("left_wrist", "right_wrist")


def read_coco(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read COCO annotations from {path}: {exc}") from exc
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise DataError(f"{path} is not a COCO annotations file (no images/annotations)")
    return data


def coco_statistics(coco: Mapping[str, Any], category: str = "person"
                    ) -> dict[str, np.ndarray]:
    """The :data:`COCO_STATISTICS` of every ``category`` annotation in ``coco`` (a COCO
    dict), as arrays of equal length (NaN where an annotation lacks what one needs)."""
    cat = next((c for c in coco.get("categories", []) if c.get("name") == category), None)
    if cat is None:
        return {name: np.zeros(0) for name in COCO_STATISTICS}
    names = list(cat.get("keypoints") or [])
    wrists = [names.index(n) for n in _WRISTS if n in names]
    sizes = {img["id"]: (float(img["width"]), float(img["height"]))
             for img in coco.get("images", []) if img.get("width") and img.get("height")}
    rows: list[tuple[float, ...]] = []
    for ann in coco.get("annotations", []):
        if ann.get("category_id") != cat.get("id") or ann.get("iscrowd"):
            continue
        size = sizes.get(ann.get("image_id"))
        box = ann.get("bbox")
        if size is None or not box or len(box) != 4:
            continue
        (width, height), (x, y, w, h) = size, (float(v) for v in box)
        v = np.asarray(ann.get("keypoints") or [], float).reshape(-1, 3)[:, 2] \
            if names and ann.get("keypoints") else None
        if v is not None and len(v) == len(names):
            visible, labelled = float((v == 2).mean()), float((v > 0).mean())
            wrist = float((v[wrists] < 2).any()) if wrists else math.nan
        else:
            visible = labelled = wrist = math.nan
        rows.append((w * h / (width * height), w / width, h / height, (x + w / 2) / width,
                     (y + h / 2) / height, visible, labelled, wrist,
                     float(ann.get("percent_occlusion", math.nan))))
    table = np.array(rows, float).reshape(-1, len(COCO_STATISTICS))
    return {name: table[:, i] for i, name in enumerate(COCO_STATISTICS)}


def match_coco(path: str | Path, statistics: Sequence[str] = ("bbox_area_fraction",),
               category: str = "person") -> dict[str, Any]:
    """Targets that match a COCO file: for each of ``statistics``, the distribution of its
    ``category`` annotations' values (an :class:`~.targets.Empirical` target)."""
    from .targets import Empirical

    stats = coco_statistics(read_coco(path), category)
    unknown = [s for s in statistics if s not in stats]
    if unknown:
        raise DataError(f"unknown COCO statistics {unknown}; known: {list(COCO_STATISTICS)}")
    targets = {}
    for name in statistics:
        values = stats[name][np.isfinite(stats[name])]
        if len(values) < 2:
            raise DataError(f"{path}: fewer than two {category} annotations with a "
                            f"{name} (found {len(values)})")
        targets[name] = Empirical(values, source=Path(path).name)
    return targets
