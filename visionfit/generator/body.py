"""The articulated body: skeleton, proportions, forward kinematics and solid primitives.

The skeleton has 26 joints (the 17 COCO keypoints plus pelvis, spine, chest, neck, head,
hands and feet). Poses are arrays of DOFs (see :data:`catalog.DOFS`); forward kinematics
is batched over frames. The body's surface is a set of capsules and ellipsoids attached to
joints, sized by gender, identity, height and weight and coloured by the outfit; the
renderer ray-casts them exactly, so the masks and the joints agree to the pixel.

Body frame: x = the person's right, y = forward, z = up; the pelvis is the root. One module,
past 400 lines, because the skeleton, its proportions and its primitives are sized together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import DOFS, HAIR_COLOURS, OUTFITS, SKIN_TONES, Outfit

__all__ = [
    "COCO_KEYPOINTS",
    "COCO_SKELETON",
    "JOINT_NAMES",
    "JOINT_PARENTS",
    "BodyModel",
    "BodyShape",
    "Looks",
    "Primitives",
    "rot_x",
    "rot_y",
    "rot_z",
]

_DOF = {name: i for i, name in enumerate(DOFS)}

# (name, parent, kind, side, offset from parent in units of body height, flesh tolerance)
# The offset is expressed in the parent's frame; ``kind`` chooses which DOFs rotate the
# joint's own frame; ``side`` is +1 for left limbs and -1 for right ones (mirror signs);
# the tolerance (x height) is how deep a joint sits under its own surface, used to tell
# "hidden by another body part" from "seen through its own flesh".
_SKELETON: tuple[tuple[str, str | None, str, int, tuple[float, float, float], float], ...] = (
    ("pelvis", None, "root", 0, (0.0, 0.0, 0.0), 0.075),
    ("spine", "pelvis", "spine", 0, (0.0, -0.005, 0.095), 0.07),
    ("chest", "spine", "spine", 0, (0.0, 0.0, 0.11), 0.075),
    ("neck", "chest", "neck", 0, (0.0, 0.0, 0.085), 0.04),
    ("head", "neck", "fixed", 0, (0.0, 0.01, 0.08), 0.08),
    ("nose", "head", "fixed", 0, (0.0, 0.06, -0.005), 0.03),
    ("left_eye", "head", "fixed", 1, (-0.022, 0.052, 0.018), 0.03),
    ("right_eye", "head", "fixed", -1, (0.022, 0.052, 0.018), 0.03),
    ("left_ear", "head", "fixed", 1, (-0.054, 0.0, 0.0), 0.03),
    ("right_ear", "head", "fixed", -1, (0.054, 0.0, 0.0), 0.03),
    ("left_shoulder", "chest", "shoulder", 1, (-0.10, 0.0, 0.068), 0.05),
    ("right_shoulder", "chest", "shoulder", -1, (0.10, 0.0, 0.068), 0.05),
    ("left_elbow", "left_shoulder", "elbow", 1, (0.0, 0.0, -0.186), 0.032),
    ("right_elbow", "right_shoulder", "elbow", -1, (0.0, 0.0, -0.186), 0.032),
    ("left_wrist", "left_elbow", "wrist", 1, (0.0, 0.0, -0.146), 0.03),
    ("right_wrist", "right_elbow", "wrist", -1, (0.0, 0.0, -0.146), 0.03),
    ("left_hand", "left_wrist", "fixed", 1, (0.0, 0.0, -0.05), 0.03),
    ("right_hand", "right_wrist", "fixed", -1, (0.0, 0.0, -0.05), 0.03),
    ("left_hip", "pelvis", "hip", 1, (-0.052, 0.0, -0.035), 0.07),
    ("right_hip", "pelvis", "hip", -1, (0.052, 0.0, -0.035), 0.07),
    ("left_knee", "left_hip", "knee", 1, (0.0, 0.0, -0.245), 0.04),
    ("right_knee", "right_hip", "knee", -1, (0.0, 0.0, -0.245), 0.04),
    ("left_ankle", "left_knee", "ankle", 1, (0.0, 0.0, -0.245), 0.03),
    ("right_ankle", "right_knee", "ankle", -1, (0.0, 0.0, -0.245), 0.03),
    ("left_foot", "left_ankle", "fixed", 1, (0.0, 0.105, -0.03), 0.03),
    ("right_foot", "right_ankle", "fixed", -1, (0.0, 0.105, -0.03), 0.03),
)
JOINT_NAMES: tuple[str, ...] = tuple(j[0] for j in _SKELETON)
# Each joint's parent in the armature (None for the root), the bones a skeleton is drawn with.
JOINT_PARENTS: dict[str, str | None] = {j[0]: j[1] for j in _SKELETON}
_J = {name: i for i, name in enumerate(JOINT_NAMES)}
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)


# ---------------------------------------------------------------------------------------
# Rotations, batched: angle arrays (N,) in radians -> (N, 3, 3).
def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def rot_x(a: np.ndarray) -> np.ndarray:
    return _rot(0, a)


def rot_y(a: np.ndarray) -> np.ndarray:
    return _rot(1, a)


def rot_z(a: np.ndarray) -> np.ndarray:
    return _rot(2, a)


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BodyShape:
    """Proportions: height in metres and dimensionless scale factors."""

    height: float
    girth: float  # limb and trunk thickness
    shoulder_width: float
    hip_width: float
    head_scale: float
    female: bool

    @classmethod
    def from_params(cls, gender: str, identity: int, rel_height: float,
                    rel_weight: float) -> BodyShape:
        """Deterministic in its inputs: an identity is a fixed look, not a random draw."""
        female = gender == "FEMALE"
        # Identity varies proportions by a few percent along fixed, well-spread sequences.
        u = [((identity * k * 0.6180339887) + 0.5 * k) % 1.0 - 0.5 for k in (1, 2, 3, 5)]
        base_h = 1.64 if female else 1.77
        sd_h = 0.065 if female else 0.07
        return cls(
            height=base_h + sd_h * rel_height + 0.04 * u[0],
            girth=float(np.clip((0.93 if female else 1.0) * (1.0 + 0.09 * rel_weight)
                                * (1.0 + 0.12 * u[1]), 0.6, 1.45)),
            shoulder_width=(0.9 if female else 1.0) * (1.0 + 0.1 * u[2])
            * (1.0 + 0.03 * rel_weight),
            hip_width=(1.1 if female else 1.0) * (1.0 + 0.08 * u[3])
            * (1.0 + 0.05 * rel_weight),
            head_scale=1.0 + 0.08 * u[1],
            female=female,
        )


@dataclass(frozen=True)
class Looks:
    """Colours and hair: from the identity, outfit and the appearance switches."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str  # "short", "buzz", "long", "bun"
    outfit: Outfit
    hide_shoes: bool
    add_socks: bool

    @classmethod
    def from_params(cls, params: dict, rng: np.random.Generator) -> Looks:
        identity = int(params["avatar_identity"])
        female = params["gender"] == "FEMALE"
        # Draws happen unconditionally so toggling a switch does not shift other draws.
        skin_draw = int(rng.integers(len(SKIN_TONES)))
        outfit_draw = int(rng.integers(len(OUTFITS)))
        skin = skin_draw if params["randomize_skin_tone"] else (identity * 7 + 2) % len(
            SKIN_TONES)
        outfit = outfit_draw if params["outfit"] == -1 else int(params["outfit"])
        styles = ("long", "bun", "long", "short") if female else ("short", "buzz", "short",
                                                                  "long")
        return cls(
            skin=SKIN_TONES[skin],
            hair=HAIR_COLOURS[(identity * 3 + 1) % len(HAIR_COLOURS)],
            hair_style=styles[identity % len(styles)],
            outfit=OUTFITS[outfit],
            hide_shoes=bool(params["hide_shoes"]),
            add_socks=bool(params["add_socks"]),
        )


@dataclass
class Primitives:
    """Body surface for N frames: capsules (a, b, radius) and ellipsoids (centre, axes)."""

    cap_a: np.ndarray  # (N, C, 3)
    cap_b: np.ndarray  # (N, C, 3)
    cap_r: np.ndarray  # (C,)
    cap_rgb: np.ndarray  # (C, 3) linear albedo
    ell_c: np.ndarray  # (N, E, 3)
    ell_m: np.ndarray  # (N, E, 3, 3): columns are the semi-axes (rotation @ diag(radii))
    ell_rgb: np.ndarray  # (E, 3)

    def transformed(self, rot: np.ndarray, shift: np.ndarray) -> Primitives:
        """Apply p -> rot @ p + shift (rot (3,3) or (N,3,3); shift (3,) or (N,3))."""
        rot = np.asarray(rot)
        shift = np.asarray(shift, dtype=np.float64)
        sh = shift[:, None, :] if shift.ndim == 2 else shift
        if rot.ndim == 2:
            def pts(p):
                return p @ rot.T + sh
            m = np.einsum("ij,nejk->neik", rot, self.ell_m)
        else:
            def pts(p):
                return np.einsum("nij,npj->npi", rot, p) + sh
            m = np.einsum("nij,nejk->neik", rot, self.ell_m)
        return Primitives(pts(self.cap_a), pts(self.cap_b), self.cap_r, self.cap_rgb,
                          pts(self.ell_c), m, self.ell_rgb)

    def frame(self, i: int) -> Primitives:
        return Primitives(self.cap_a[i:i + 1], self.cap_b[i:i + 1], self.cap_r, self.cap_rgb,
                          self.ell_c[i:i + 1], self.ell_m[i:i + 1], self.ell_rgb)

    def lowest_z(self) -> np.ndarray:
        """Per frame, the lowest point of the surface (N,)."""
        cz = np.minimum(self.cap_a[..., 2], self.cap_b[..., 2]) - self.cap_r
        ez = self.ell_c[..., 2] - np.linalg.norm(self.ell_m[..., 2, :], axis=-1)
        return np.minimum(cz.min(axis=1), ez.min(axis=1) if ez.shape[1] else np.inf)

    def extent_in(self, basis: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, min and max corner (N,3) of the surface in an orthonormal frame."""
        ca = (self.cap_a - origin[:, None, :]) @ basis
        cb = (self.cap_b - origin[:, None, :]) @ basis
        r = self.cap_r[None, :, None]
        lo = np.minimum(ca, cb) - r
        hi = np.maximum(ca, cb) + r
        ec = (self.ell_c - origin[:, None, :]) @ basis
        # Half-extent of an ellipsoid along axis e: |M^T e|.
        half = np.linalg.norm(np.einsum("ji,nejk->neik", basis, self.ell_m), axis=-1)
        lo = np.concatenate([lo, ec - half], axis=1).min(axis=1)
        hi = np.concatenate([hi, ec + half], axis=1).max(axis=1)
        return lo, hi


def _srgb_to_linear(rgb) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


class BodyModel:
    """One person: proportions, looks and, through :meth:`pose`, joints and surface."""

    def __init__(self, shape: BodyShape, looks: Looks, dumbbells: bool) -> None:
        self.shape = shape
        self.looks = looks
        self.dumbbells = dumbbells
        h = shape.height
        scale_x = {"shoulder": shape.shoulder_width, "hip": shape.hip_width}
        offsets = []
        for name, _parent, _kind, _side, off, _tol in _SKELETON:
            o = np.array(off) * h
            if name.endswith("_shoulder"):
                o[0] *= scale_x["shoulder"]
            elif name.endswith("_hip"):
                o[0] *= scale_x["hip"]
            elif name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head"):
                o *= shape.head_scale
            offsets.append(o)
        self.offsets = np.array(offsets)
        self.parents = np.array([-1 if p is None else _J[p] for _, p, *_ in _SKELETON])
        girth_tol = np.array([t for *_, t in _SKELETON]) * h
        self.tolerance = girth_tol * np.where(np.arange(len(_SKELETON)) < 5, shape.girth,
                                              1.0) + 0.015
        self._build_surface()

    # -- kinematics -----------------------------------------------------------------------
    def _local_rotation(self, kind: str, side: int, pose: np.ndarray) -> np.ndarray | None:
        def d(name: str) -> np.ndarray:
            return np.radians(pose[:, _DOF[name]])

        p = "l_" if side > 0 else "r_"
        s = float(side)
        if kind == "root":
            return rot_z(d("yaw")) @ rot_y(d("roll")) @ rot_x(-d("pitch"))
        if kind == "spine":  # lumbar and thoracic joints share the bend
            return (rot_z(0.5 * d("spine_twist")) @ rot_y(0.5 * d("spine_side"))
                    @ rot_x(-0.5 * d("spine_flex")))
        if kind == "neck":
            return rot_z(d("neck_twist")) @ rot_x(-d("neck_flex"))
        if kind == "shoulder":
            return (rot_z(-s * d(p + "sh_horiz")) @ rot_y(s * d(p + "sh_abd"))
                    @ rot_x(d(p + "sh_flex")) @ rot_z(s * d(p + "sh_twist")))
        if kind == "elbow":
            return rot_x(d(p + "elbow"))
        if kind == "wrist":
            return rot_x(d(p + "wrist"))
        if kind == "hip":
            return (rot_z(-s * d(p + "hip_twist")) @ rot_y(s * d(p + "hip_abd"))
                    @ rot_x(d(p + "hip_flex")))
        if kind == "knee":
            return rot_x(-d(p + "knee"))
        if kind == "ankle":
            return rot_x(d(p + "ankle"))
        return None  # fixed

    def skeleton(self, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint positions (N,J,3) and frames (N,J,3,3), pelvis at the origin."""
        n = pose.shape[0]
        nj = len(_SKELETON)
        pos = np.zeros((n, nj, 3))
        rot = np.zeros((n, nj, 3, 3))
        for j, (_name, _parent, kind, side, _off, _tol) in enumerate(_SKELETON):
            parent = self.parents[j]
            local = self._local_rotation(kind, side, pose)
            if parent < 0:
                pos[:, j] = 0.0
                rot[:, j] = local
                continue
            prot = rot[:, parent]
            pos[:, j] = pos[:, parent] + prot @ self.offsets[j]
            rot[:, j] = prot if local is None else prot @ local
        return pos, rot

    # -- surface --------------------------------------------------------------------------
    def _build_surface(self) -> None:
        """Capsule and ellipsoid specs: (joint, local offset) endpoints, radii, material."""
        sh, lk = self.shape, self.looks
        h, g = sh.height, sh.girth
        out = lk.outfit
        skin = lk.skin
        feet = lk.outfit.shoes if not lk.hide_shoes else (out.socks if lk.add_socks else skin)
        sleeve_len = {"none": 0.0, "short": 0.45, "long": 1.0}[out.sleeves]
        leg_len = {"shorts": 0.55, "capris": 1.6, "long": 2.0}[out.legs]

        caps: list[tuple[str, tuple, str, tuple, float, tuple]] = []
        ells: list[tuple[str, tuple, tuple, tuple]] = []

        def cap(ja, oa, jb, ob, r, rgb):
            caps.append((ja, tuple(np.array(oa) * h), jb, tuple(np.array(ob) * h), r * h, rgb))

        def ell(j, o, radii, rgb):
            ells.append((j, tuple(np.array(o) * h), tuple(np.array(radii) * h), rgb))

        # Trunk and head.
        ell("pelvis", (0, 0, -0.02), (0.092 * sh.hip_width * g, 0.062 * g, 0.068), out.bottom)
        ell("spine", (0, 0.0, 0.0), (0.08 * g, 0.056 * g, 0.085), out.top)
        chest_depth = 0.068 if sh.female else 0.064
        ell("chest", (0, 0.004, -0.01), (0.094 * sh.shoulder_width * g, chest_depth * g, 0.112),
            out.top)
        for side in (-1, 1):
            name = "left_shoulder" if side < 0 else "right_shoulder"
            # Trapezius and deltoid: joins the chest to the arm.
            cap("chest", (side * 0.03, 0, 0.055), name, (0, 0, -0.005),
                0.034 * g, out.top if out.sleeves != "none" else skin)
        cap("neck", (0, 0, -0.01), "neck", (0, 0.006, 0.055), 0.027 * g ** 0.5, skin)
        hs = sh.head_scale
        ell("head", (0, 0, 0), (0.056 * hs, 0.064 * hs, 0.072 * hs), skin)
        hair_specs = {
            "short": [((0, -0.01, 0.021), (0.061, 0.064, 0.07))],
            "buzz": [((0, -0.006, 0.01), (0.0575, 0.064, 0.07))],
            "long": [((0, -0.014, 0.014), (0.062, 0.064, 0.072)),
                     ((0, -0.05, -0.07), (0.058, 0.03, 0.09))],
            "bun": [((0, -0.012, 0.016), (0.06, 0.062, 0.068)),
                    ((0, -0.07, 0.04), (0.03, 0.03, 0.03))],
        }[lk.hair_style]
        for off, radii in hair_specs:
            ell("head", np.array(off) * hs, np.array(radii) * hs, lk.hair)
        for name in ("left_eye", "right_eye"):
            cap(name, (0, 0.004, 0), name, (0, 0.004, 0), 0.007 * hs, (0.12, 0.09, 0.08))
        cap("nose", (0, -0.004, 0), "nose", (0, 0.004, -0.01), 0.011 * hs, skin)

        for side in ("left", "right"):
            sign = -1 if side == "left" else 1
            # Arms: skin all the way, with a slightly thicker sleeve over the upper part.
            ua = 0.025 * g
            fa = 0.02 * g
            cap(f"{side}_shoulder", (0, 0, 0), f"{side}_elbow", (0, 0, 0), ua,
                out.top if sleeve_len >= 1.0 else skin)
            if 0.0 < sleeve_len < 1.0:
                cap(f"{side}_shoulder", (0, 0, 0), f"{side}_shoulder",
                    (0, 0, -0.186 * sleeve_len), ua * 1.22, out.top)
            cap(f"{side}_elbow", (0, 0, 0), f"{side}_wrist", (0, 0, 0), fa,
                out.top if sleeve_len >= 1.0 else skin)
            cap(f"{side}_wrist", (0, 0, 0), f"{side}_hand", (0, 0, -0.012), 0.017, skin)
            cap(f"{side}_hand", (sign * 0.012, 0.012, 0.0), f"{side}_hand",
                (sign * 0.012, 0.012, 0.0), 0.012, skin)  # thumb
            # Legs: trousers to leg_len (in thigh lengths), skin below.
            th = 0.047 * g
            sn = 0.031 * g
            cap(f"{side}_hip", (0, 0, 0), f"{side}_knee", (0, 0, 0), th,
                out.bottom if leg_len >= 1.0 else skin)
            if leg_len < 1.0:
                cap(f"{side}_hip", (0, 0, 0.01), f"{side}_hip", (0, 0, -0.245 * leg_len),
                    th * 1.12, out.bottom)
            cap(f"{side}_knee", (0, 0, 0), f"{side}_ankle", (0, 0, 0), sn,
                out.bottom if leg_len >= 2.0 else skin)
            if 1.0 < leg_len < 2.0:
                cap(f"{side}_knee", (0, 0, 0.01), f"{side}_knee", (0, 0, -0.245 * (leg_len - 1)),
                    sn * 1.12, out.bottom)
            if lk.add_socks and leg_len < 2.0:
                cap(f"{side}_ankle", (0, 0, 0.0), f"{side}_ankle", (0, 0, 0.05), sn * 0.95,
                    out.socks)
            cap(f"{side}_ankle", (0, -0.018, -0.012), f"{side}_foot", (0, 0.005, 0.006), 0.022,
                feet)
            if self.dumbbells:
                grey, dark = (0.45, 0.46, 0.48), (0.10, 0.10, 0.11)
                cap(f"{side}_hand", (-0.045, 0, 0), f"{side}_hand", (0.045, 0, 0), 0.008, grey)
                for end in (-1, 1):
                    cap(f"{side}_hand", (end * 0.045, 0, 0), f"{side}_hand", (end * 0.065, 0, 0),
                        0.024, dark)

        self._caps = caps
        self._ells = ells
        self.cap_rgb = _srgb_to_linear([c[5] for c in caps])
        self.ell_rgb = _srgb_to_linear([e[3] for e in ells])
        self.cap_r = np.array([c[4] for c in caps])

    def surface(self, pos: np.ndarray, rot: np.ndarray) -> Primitives:
        """Primitives for joints (N,J,3) and frames (N,J,3,3), in the same coordinates."""
        def point(joint: str, off) -> np.ndarray:
            j = _J[joint]
            return pos[:, j] + rot[:, j] @ np.asarray(off)

        cap_a = np.stack([point(c[0], c[1]) for c in self._caps], axis=1)
        cap_b = np.stack([point(c[2], c[3]) for c in self._caps], axis=1)
        ell_c = np.stack([point(e[0], e[1]) for e in self._ells], axis=1)
        ell_m = np.stack([rot[:, _J[e[0]]] * np.asarray(e[2])[None, None, :]
                          for e in self._ells], axis=1)
        return Primitives(cap_a, cap_b, self.cap_r, self.cap_rgb, ell_c, ell_m, self.ell_rgb)
