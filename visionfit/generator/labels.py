"""COCO labels: categories, masks as compressed RLE, keypoints with visibility, cuboids.

Everything here reads the renderer's own buffers (instance ids and depths), so a label can
never disagree with the pixels of the frame it describes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools.mask as mask_utils

from .body import COCO_KEYPOINTS, COCO_SKELETON, JOINT_NAMES
from .camera import NEAR, Camera

__all__ = [
    "CATEGORIES",
    "CATEGORY_IDS",
    "CUBOID_CORNER_ORDER",
    "box_corners",
    "cuboid",
    "encode_mask",
    "WindowEncoder",
    "encode_window",
    "joint_visibility",
    "person_keypoints",
]

CATEGORY_IDS = {"person": 1, "furniture": 2, "wall_art": 3}
CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINTS),
     "skeleton": [list(pair) for pair in COCO_SKELETON], "color": [220, 20, 60]},
    {"id": 2, "name": "furniture", "supercategory": "object", "color": [65, 105, 225]},
    {"id": 3, "name": "wall_art", "supercategory": "object", "color": [255, 165, 0]},
]
# Corner k of a cuboid has its (x, y, z) at the box's (max if bit else min) along each of
# the box's own axes, bits taken from k as (k >> 2 & 1, k >> 1 & 1, k & 1).
CUBOID_CORNER_ORDER = "corner k: axis0 = bit 2 of k, axis1 = bit 1, axis2 = bit 0 (1 = max)"
_BITS = np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], dtype=bool)
_COCO_INDEX = [JOINT_NAMES.index(n) for n in COCO_KEYPOINTS]


def encode_mask(mask: np.ndarray) -> tuple[dict[str, Any], list[float], int]:
    """Compressed RLE (JSON-ready), bbox [x, y, w, h] of the mask's extent and pixel count."""
    return _encode_fortran(np.asfortranarray(mask, dtype=np.uint8))


class WindowEncoder:
    """:func:`encode_mask` of (H, W) masks that are empty outside a window (the body's screen
    rectangle): each window is written straight into one reused column-major byte buffer, the
    layout the encoder reads, and only the previous window is cleared; casting a full-image
    copy per mask would cost twice as much."""

    def __init__(self, shape: tuple[int, int]) -> None:
        h, w = shape
        self._buffer = np.zeros((w, h), dtype=np.uint8).T
        self._last: tuple[slice, slice] = (slice(0, 0), slice(0, 0))

    def __call__(self, window: np.ndarray, slices: tuple[slice, slice]
                 ) -> tuple[dict[str, Any], list[float], int]:
        self._buffer[self._last] = 0
        self._buffer[slices] = window
        self._last = slices
        return _encode_fortran(self._buffer)


def encode_window(window: np.ndarray, slices: tuple[slice, slice], shape: tuple[int, int]
                  ) -> tuple[dict[str, Any], list[float], int]:
    """:func:`encode_mask` of an (H, W) ``shape`` mask that is ``window`` at ``slices`` and
    empty elsewhere."""
    return WindowEncoder(shape)(window, slices)


def _encode_fortran(mask: np.ndarray) -> tuple[dict[str, Any], list[float], int]:
    rle = mask_utils.encode(mask)
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    area = int(mask_utils.area(rle))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")
            }, bbox, area


def box_corners(lo: np.ndarray, hi: np.ndarray, basis: np.ndarray | None = None,
                origin: np.ndarray | None = None) -> np.ndarray:
    """World corners (8, 3) of a box given in a frame (columns of ``basis``) at ``origin``."""
    local = np.where(_BITS, hi, lo)
    if basis is None:
        return local
    return origin + local @ basis.T


def cuboid(cam: Camera, corners: np.ndarray) -> list[dict[str, float]]:
    """The eight corners as image x, y (pixels) and depth z (metres)."""
    p = cam.project(corners)
    return [{"x": round(float(x), 3), "y": round(float(y), 3), "z": round(float(z), 4)}
            for x, y, z in p]


def joint_visibility(cam: Camera, proj: np.ndarray, tolerance: np.ndarray, inst: np.ndarray,
                     body_depth: np.ndarray, static_depth: np.ndarray) -> np.ndarray:
    """COCO visibility per joint from the frame's buffers.

    0: behind the camera or outside the image. 2: the pixel holding the joint (or, at a
    silhouette edge, one of its 8 neighbours) shows the person, and the body surface there
    is no nearer than the joint's own flesh (``tolerance`` m). 1: inside the image but
    something is in front: furniture, or another part of the body.
    ``body_depth`` is the full-image body depth (inf where the body is not hit).
    """
    H, W = inst.shape
    x, y, z = proj[:, 0], proj[:, 1], proj[:, 2]
    inside = (z > NEAR) & (x >= -0.5) & (x < W - 0.5) & (y >= -0.5) & (y < H - 0.5)
    v = np.zeros(len(proj), dtype=np.int64)
    for j in np.nonzero(inside)[0]:
        c = min(max(int(np.floor(x[j] + 0.5)), 0), W - 1)
        r = min(max(int(np.floor(y[j] + 0.5)), 0), H - 1)
        limit = z[j] - tolerance[j]
        if inst[r, c] == 1 and body_depth[r, c] >= limit:
            v[j] = 2
            continue
        if min(body_depth[r, c], static_depth[r, c]) < limit or static_depth[r, c] < z[j]:
            v[j] = 1
            continue
        r0, r1, c0, c1 = max(r - 1, 0), min(r + 2, H), max(c - 1, 0), min(c + 2, W)
        near = (inst[r0:r1, c0:c1] == 1) & (body_depth[r0:r1, c0:c1] >= limit)
        v[j] = 2 if near.any() else 1
    return v


def person_keypoints(cam: Camera, joints: np.ndarray, visibility: np.ndarray
                     ) -> tuple[list[float], int, dict[str, dict[str, float]]]:
    """COCO keypoints (17 x (x, y, v)), their count with v > 0, and every joint's record."""
    proj = cam.project(joints)
    jr = np.round(joints, 4).tolist()
    pr = np.round(proj, 3).tolist()
    zr = np.round(proj[:, 2], 4).tolist()
    vis = visibility.tolist()
    armature = {
        name: {"x": pr[j][0], "y": pr[j][1], "v": vis[j], "z": zr[j], "x_global": jr[j][0],
               "y_global": jr[j][1], "z_global": jr[j][2]}
        for j, name in enumerate(JOINT_NAMES)
    }
    keypoints: list[float] = []
    for j in _COCO_INDEX:
        keypoints.extend((pr[j][0], pr[j][1], vis[j]))
    return keypoints, int(sum(1 for j in _COCO_INDEX if vis[j] > 0)), armature
