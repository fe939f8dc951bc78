"""Joint rotations as labels: per-joint quaternions and the rest pose they act on.

The body model (:mod:`.body`) is a tree of 26 joints. Each frame, a joint's world frame is
its parent's world frame times its own local rotation, and its position is its parent's
position plus the parent's world frame applied to a fixed rest offset. Publishing the local
rotations (as unit quaternions, w first) and the rest offsets is therefore enough to rebuild
every joint exactly; the root (pelvis) carries the body's world rotation, and its position is
its ``*_global`` coordinates.

Why 26 joints: the 17 COCO keypoints plus the pelvis, spine, chest, neck, head, both hands and
both feet are every joint the body model articulates or attaches a surface to. Infinity's
armature had the 55 joints of SMPL-X (including 30 finger joints, the jaw and the collar
bones); this body has rigid hands and no jaw, fingers or collar bones, so reporting those
joints would mean inventing motion the pixels do not show.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .body import JOINT_NAMES, BodyModel

__all__ = ["JOINTS_NOTE", "QUATERNION_CONVENTION", "armature_info", "local_rotations",
           "matrix_to_quaternion"]

JOINTS_NOTE = (
    "26 joints: the 17 COCO keypoints plus pelvis (the root), spine, chest, neck, head, hands "
    "and feet, which is every joint this body model has. Infinity's SMPL-X armature had 55 "
    "(jaw, collar bones and 30 finger joints among them); this body has rigid hands and no "
    "jaw, fingers or collar bones, so those are not reported rather than invented")

QUATERNION_CONVENTION = (
    "quaternions[joint] = [w, x, y, z], unit, w >= 0: the joint's rotation relative to its "
    "parent's frame (the root, pelvis: relative to the world). World frame G[j] = "
    "G[parent] @ R(q[j]); world position p[j] = p[parent] + G[parent] @ rest_offsets[j] "
    "(metres); p[pelvis] is the pelvis's x/y/z_global. Joint frames: x = the person's right, "
    "y = forward, z = up in the rest pose (standing, arms down)")


def local_rotations(frames: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Per-joint rotations (N, J, 3, 3) relative to the parent (root: world) from world
    frames (N, J, 3, 3)."""
    local = frames.copy()
    child = parents >= 0
    parent_frames = frames[:, parents[child]]
    local[:, child] = np.einsum("njki,njkl->njil", parent_frames, frames[:, child])
    return local


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) as w, x, y, z with w >= 0.

    Each quaternion is taken from whichever of its four components is largest, so the
    division never loses precision (the usual branch-per-case method, vectorised).
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    radicands = np.stack([1.0 + m00 + m11 + m22, 1.0 + m00 - m11 - m22,
                          1.0 - m00 + m11 - m22, 1.0 - m00 - m11 + m22], axis=-1)
    case = np.argmax(radicands, axis=-1)
    s = 2.0 * np.sqrt(np.maximum(np.take_along_axis(radicands, case[..., None], -1)[..., 0],
                                 1e-300))  # 4 * the largest component
    candidates = np.stack([
        np.stack([0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s], -1),
        np.stack([(m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s], -1),
        np.stack([(m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s], -1),
        np.stack([(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s], -1),
    ], axis=-2)
    q = np.take_along_axis(candidates, case[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0.0, -q, q)


def armature_info(body: BodyModel) -> dict[str, Any]:
    """The job's skeleton for labels.json's ``info.armature``: joints, parents, rest pose."""
    parents = {name: (JOINT_NAMES[p] if p >= 0 else None)
               for name, p in zip(JOINT_NAMES, body.parents.tolist(), strict=True)}
    offsets = np.round(body.offsets, 6).tolist()
    return {
        "joints": list(JOINT_NAMES),
        "joints_note": JOINTS_NOTE,
        "parents": parents,
        "rest_offsets": dict(zip(JOINT_NAMES, offsets, strict=True)),
        "quaternion_convention": QUATERNION_CONVENTION,
    }
