"""A room laid out for one job: walls, floor, furniture, wall art and procedural materials.

Furniture and wall art are axis-aligned boxes; each piece is one labelled instance. The
layout is drawn from the job's furniture and wall-art random streams with a fixed number
of draws per item, so that switching one option leaves every other piece where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import FurnitureSpec, Scene

__all__ = [
    "FRONT_Y",
    "ArtPiece",
    "Box",
    "Instance",
    "Room",
    "art_albedo",
    "build_room",
    "floor_albedo",
    "wall_albedo",
]

FRONT_Y = -12.0  # the room continues this far on the camera side
_ATTEMPTS = 8


@dataclass(frozen=True)
class ArtPiece:
    """A framed picture: what it shows and its colours."""

    kind: str  # "abstract", "landscape" (non_human) or "figure", "portrait" (misc_human)
    colours: np.ndarray  # (5, 3) sRGB
    knobs: np.ndarray  # (6,) shape parameters in 0..1
    facing: int  # axis of the wall normal (0: side wall, 1: back wall)


@dataclass
class Box:
    lo: np.ndarray
    hi: np.ndarray
    rgb: tuple[float, float, float]
    instance: int  # palette index of its instance
    art: ArtPiece | None = None


@dataclass
class Instance:
    """One labelled object (furniture piece or picture)."""

    index: int  # palette index in the instance masks (the person is 1)
    category: str  # "furniture" or "wall_art"
    name: str
    lo: np.ndarray
    hi: np.ndarray


@dataclass
class Room:
    scene: Scene
    person_xy: np.ndarray
    light: np.ndarray  # point light position
    boxes: list[Box] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)

    @property
    def half_width(self) -> float:
        return self.scene.width / 2.0


def _item_boxes(spec: FurnitureSpec, centre: np.ndarray, wall: str
                ) -> list[tuple[np.ndarray, np.ndarray, tuple]]:
    """Parts in room coordinates: the item's local y axis points out of its wall."""
    out = []
    for cx, cy, cz, sx, sy, sz, rgb in spec.parts:
        if wall == "left":
            c, s = (cy, cx, cz), (sy, sx, sz)
        elif wall == "right":
            c, s = (-cy, -cx, cz), (sy, sx, sz)
        elif wall == "back":
            c, s = (cx, -cy, cz), (sx, sy, sz)
        else:
            c, s = (cx, cy, cz), (sx, sy, sz)
        c = centre + np.array(c)
        half = np.array(s) / 2
        out.append((c - half, c + half, rgb))
    return out


def _local_extent(spec: FurnitureSpec) -> tuple[np.ndarray, np.ndarray]:
    parts = np.array([p[:6] for p in spec.parts], dtype=np.float64)
    return (parts[:, :3] - parts[:, 3:] / 2).min(axis=0), (parts[:, :3] + parts[:, 3:] / 2
                                                           ).max(axis=0)


def _candidate_centre(spec: FurnitureSpec, scene: Scene, person: np.ndarray,
                      jitter: np.ndarray) -> np.ndarray:
    lo, hi = _local_extent(spec)
    gap = 0.03
    along = spec.along + spec.jitter * jitter[0]
    hw = scene.width / 2
    if spec.wall == "back":
        return np.array([person[0] + along, scene.depth - gap - hi[1], 0.0])
    if spec.wall == "left":
        return np.array([-hw + gap - lo[1], person[1] + along, 0.0])
    if spec.wall == "right":
        return np.array([hw - gap - lo[1], person[1] + along, 0.0])
    return np.array([person[0] + along, person[1] + spec.out + spec.jitter * jitter[1], 0.0])


def _fits(lo: np.ndarray, hi: np.ndarray, scene: Scene, person: np.ndarray, clear: float,
          taken: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    hw = scene.width / 2
    if lo[0] < -hw or hi[0] > hw or hi[1] > scene.depth or lo[1] < FRONT_Y + 1:
        return False
    # Keep the person's exercise space free.
    nearest = np.clip(person, lo[:2], hi[:2])
    if np.hypot(*(nearest - person)) < clear:
        return False
    return all(lo[0] >= top[0] or hi[0] <= low[0] or lo[1] >= top[1] or hi[1] <= low[1]
               for low, top in taken)


def _place_art(scene: Scene, person: np.ndarray, kind: str, rng: np.random.Generator,
               first_index: int) -> tuple[list[Box], list[Instance]]:
    """One to three pictures on the back and side walls, none overlapping."""
    count = int(rng.integers(1, 4))
    draws = rng.random((3, _ATTEMPTS, 5))
    looks = rng.random((3, 5, 3))
    knobs = rng.random((3, 6))
    kinds = ("landscape", "abstract") if kind == "non_human" else ("figure", "portrait")
    boxes, instances, spans = [], [], []
    hw = scene.width / 2
    for i in range(3):
        for a in range(_ATTEMPTS):
            wall_pick, along_u, w_u, h_u, z_u = draws[i, a]
            w, h = 0.45 + 0.6 * w_u, 0.35 + 0.45 * h_u
            zc = 1.35 + 0.4 * z_u
            wall = ("back", "back", "left", "right")[int(wall_pick * 4) % 4]
            if wall == "back":
                x = -hw + w / 2 + 0.2 + along_u * (scene.width - w - 0.4)
                lo = np.array([x - w / 2, scene.depth - 0.03, zc - h / 2])
                hi = np.array([x + w / 2, scene.depth - 0.002, zc + h / 2])
                span = (wall, x - w / 2, x + w / 2)
            else:
                y0 = max(person[1] - 1.5, 0.3)
                y = y0 + w / 2 + along_u * max(scene.depth - 0.3 - w - y0, 0.0)
                xin = -hw if wall == "left" else hw - 0.028
                lo = np.array([xin + 0.002, y - w / 2, zc - h / 2])
                hi = np.array([xin + 0.028, y + w / 2, zc + h / 2])
                span = (wall, y - w / 2, y + w / 2)
            if any(s[0] == span[0] and not (span[2] + 0.15 < s[1] or span[1] > s[2] + 0.15)
                   for s in spans):
                continue
            if i < count:
                spans.append(span)
                index = first_index + len(instances)
                art = ArtPiece(kinds[int(knobs[i, 0] * 2) % 2], looks[i], knobs[i],
                               1 if wall == "back" else 0)
                boxes.append(Box(lo, hi, (0.1, 0.1, 0.1), index, art))
                instances.append(Instance(index, "wall_art", f"{art.kind}_{i + 1}", lo, hi))
            break
    return boxes, instances


def build_room(scene: Scene, furniture_rng: np.random.Generator, art_rng: np.random.Generator,
               add_wall_art: bool, wall_art_type: str, clear_radius: float,
               leave_out: frozenset[str] = frozenset()) -> Room:
    """Lay out ``scene``; ``leave_out`` names furniture removed to limit occlusion."""
    person = np.array([scene.person_spot[0], scene.depth - scene.person_spot[1]])
    light = np.array([person[0], person[1] - 1.2, scene.height - 0.25])
    room = Room(scene, person, light)
    taken: list[tuple[np.ndarray, np.ndarray]] = []
    index = 2
    for spec in scene.furniture:
        jitters = furniture_rng.uniform(-1.0, 1.0, (_ATTEMPTS, 2))
        if spec.name in leave_out:
            continue
        for jitter in jitters:
            centre = _candidate_centre(spec, scene, person, jitter)
            parts = _item_boxes(spec, centre, spec.wall)
            lo = np.min([p[0] for p in parts], axis=0)
            hi = np.max([p[1] for p in parts], axis=0)
            if _fits(lo, hi, scene, person, clear_radius, taken):
                taken.append((lo, hi))
                room.boxes.extend(Box(a, b, rgb, index) for a, b, rgb in parts)
                room.instances.append(Instance(index, "furniture", spec.name, lo, hi))
                index += 1
                break
    # Wall art draws from its own stream, so toggling it leaves the furniture alone.
    boxes, instances = _place_art(scene, person, wall_art_type, art_rng, index)
    if add_wall_art:
        room.boxes.extend(boxes)
        room.instances.extend(instances)
    return room


# ---------------------------------------------------------------------------------------
# Procedural materials: sRGB albedo (n, 3) for hit points (n, 3).
def _hash(*ints: np.ndarray) -> np.ndarray:
    """A cheap deterministic hash of integer cells to 0..1."""
    h = np.zeros(np.broadcast(*ints).shape, dtype=np.uint32)
    for k, v in zip((73856093, 19349663, 83492791), ints, strict=False):
        h ^= (v.astype(np.int64) * k).astype(np.uint32)
    h = (h ^ (h >> 13)) * np.uint32(1274126177)
    return ((h ^ (h >> 16)) & np.uint32(0xFFFF)).astype(np.float64) / 65535.0


def floor_albedo(scene: Scene, p: np.ndarray) -> np.ndarray:
    base, accent = (np.asarray(c) for c in scene.floor_rgb)
    x, y = p[:, 0], p[:, 1]
    kind = scene.floor
    if kind == "boards":
        board = np.floor(x / 0.14).astype(np.int64)
        off = _hash(board, np.zeros_like(board)) * 1.3
        plank = np.floor((y + off) / 1.3).astype(np.int64)
        tone = _hash(board, plank)[:, None]
        grain = 0.05 * np.sin(y * 35.0 + tone[:, 0] * 20 + np.sin(x * 9.0))[:, None]
        col = base + (accent - base) * tone + grain * base
        seam = (np.mod(x, 0.14) < 0.006) | (np.mod(y + off, 1.3) < 0.008)
        col[seam] *= 0.55
    elif kind == "herringbone":
        colw = 0.36
        c = np.floor(x / colw).astype(np.int64)
        s = y + np.where(c % 2 == 0, 1.0, -1.0) * np.mod(x, colw)
        idx = np.floor(s / 0.12).astype(np.int64)
        tone = _hash(c, idx)[:, None]
        col = base + (accent - base) * tone
        seam = (np.mod(s, 0.12) < 0.008) | (np.mod(x, colw) < 0.006)
        col[seam] *= 0.6
    elif kind == "tiles":
        tx, ty = np.floor(x / 0.6).astype(np.int64), np.floor(y / 0.6).astype(np.int64)
        tone = 0.06 * (_hash(tx, ty) - 0.5)[:, None]
        col = base * (1.0 + tone)
        grout = (np.mod(x, 0.6) < 0.01) | (np.mod(y, 0.6) < 0.01)
        col[grout] = accent
    elif kind == "rubber":
        tx, ty = np.floor(x / 1.0).astype(np.int64), np.floor(y / 1.0).astype(np.int64)
        col = base * (1.0 + 0.08 * (_hash(tx, ty) - 0.5))[:, None]
        speck = _hash(np.floor(x * 90).astype(np.int64), np.floor(y * 90).astype(np.int64))
        col = np.where((speck > 0.93)[:, None], accent, col)
        seam = (np.mod(x, 1.0) < 0.008) | (np.mod(y, 1.0) < 0.008)
        col[seam] *= 0.5
    else:  # carpet
        n = _hash(np.floor(x * 60).astype(np.int64), np.floor(y * 60).astype(np.int64))
        col = base + (accent - base) * n[:, None]
    return np.clip(col, 0.0, 1.0)


def wall_albedo(scene: Scene, p: np.ndarray, along: np.ndarray, back: bool) -> np.ndarray:
    """Walls: paint, stripes, concrete blocks or panelling, with a skirting board."""
    base = np.asarray(scene.back_wall_rgb if back else scene.wall_rgb)
    z = p[:, 2]
    col = np.broadcast_to(base, p.shape).copy()
    pattern = scene.wall_pattern
    if pattern == "stripes":
        col[np.mod(along, 0.3) < 0.15] *= 0.92
    elif pattern == "blocks":
        row = np.floor(z / 0.2).astype(np.int64)
        shift = np.where(row % 2 == 0, 0.0, 0.2)
        col *= (1.0 + 0.05 * (_hash(row, np.floor((along + shift) / 0.4).astype(np.int64))
                               - 0.5))[:, None]
        mortar = (np.mod(z, 0.2) < 0.012) | (np.mod(along + shift, 0.4) < 0.012)
        col[mortar] *= 0.8
    elif pattern == "panels":
        low = z < 0.9
        col[low] = np.clip(base * 1.12 + 0.05, 0.0, 1.0)
        col[low & (np.mod(along, 0.5) < 0.012)] *= 0.8
        col[(z > 0.88) & (z < 0.93)] = (0.95, 0.95, 0.93)
    col[z < 0.1] = (0.92, 0.92, 0.9) if pattern != "blocks" else (0.25, 0.25, 0.27)
    return col


def art_albedo(art: ArtPiece, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A picture in its frame; u, v in 0..1 across and up the picture."""
    c = art.colours
    k = art.knobs
    frame = (u < 0.05) | (u > 0.95) | (v < 0.05) | (v > 0.95)
    uu = (u - 0.05) / 0.9
    vv = (v - 0.05) / 0.9
    if art.kind == "landscape":
        sky = c[0] * 0.5 + 0.5 * np.array([0.55, 0.75, 0.95])
        col = sky + (1.0 - vv)[:, None] * 0.15
        hill = vv < 0.35 + 0.12 * np.sin(uu * (4 + 6 * k[1]) + k[2] * 6)
        col[hill] = c[1] * 0.4 + np.array([0.15, 0.45, 0.15])
        sun = (uu - 0.2 - 0.6 * k[3]) ** 2 + (vv - 0.75) ** 2 < 0.01
        col[sun] = (1.0, 0.9, 0.5)
    elif art.kind == "abstract":
        col = np.broadcast_to(c[0], (len(u), 3)).copy()
        col[(uu > k[1] * 0.5) & (vv > k[2] * 0.5)] = c[1]
        col[(uu - k[3]) ** 2 + (vv - k[4]) ** 2 < 0.04 + 0.05 * k[5]] = c[2]
        col[np.abs(uu - vv - (k[5] - 0.5)) < 0.06] = c[3]
    else:
        col = np.broadcast_to(c[0] * 0.6 + 0.35, (len(u), 3)).copy()
        person = c[1] * 0.7
        cx = 0.5 + 0.2 * (k[1] - 0.5)
        if art.kind == "portrait":
            head = ((uu - cx) / 0.2) ** 2 + ((vv - 0.6) / 0.26) ** 2 < 1.0
            body = ((uu - cx) / 0.42) ** 2 + ((vv + 0.05) / 0.4) ** 2 < 1.0
            col[body] = c[2] * 0.8
            col[head] = (0.85, 0.68, 0.55)
            col[head & (vv > 0.75)] = c[3] * 0.4
        else:
            head = (uu - cx) ** 2 + (vv - 0.78) ** 2 < 0.006
            trunk = (np.abs(uu - cx) < 0.05) & (vv > 0.38) & (vv < 0.7)
            legs = (np.abs(np.abs(uu - cx) - 0.1 * (0.55 - vv)) < 0.025) & (vv < 0.4) & (vv > 0.1)
            arms = (np.abs(vv - 0.62 - (k[2] - 0.5) * 2 * np.abs(uu - cx)) < 0.025) & (
                np.abs(uu - cx) < 0.17)
            col[head | trunk | legs | arms] = person
    col[frame] = (0.12, 0.1, 0.08) if k[0] < 0.5 else (0.85, 0.8, 0.65)
    return np.clip(col, 0.0, 1.0)
