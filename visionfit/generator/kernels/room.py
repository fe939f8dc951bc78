"""The room's kernels, run once per job: the shell and boxes cast, and their shading."""

from __future__ import annotations

import numpy as np

from .body import lamp_light, srgb8
from .cache import jit

__all__ = ["cast_room", "shade_room"]


@jit
def cast_room(dirs: np.ndarray, origin: np.ndarray, planes: np.ndarray, box_lo: np.ndarray,
              box_hi: np.ndarray, box_instance: np.ndarray, box_ranges: np.ndarray,
              near: float, depth: np.ndarray, surface: np.ndarray, box_axis: np.ndarray,
              inst: np.ndarray, alone: np.ndarray) -> None:
    """Rays origin + t dirs[y, x] (t is the depth) against the room's shell and its boxes.

    Shell: rows of ``planes`` are (axis, position, the direction sign that reaches it); a ray
    leaves the convex room through the nearest plane ahead of it (surface = plane index).
    Boxes (slab test, each only inside its pixel range ``box_ranges``): a nearer entry wins
    (surface = number of planes + box index, ``box_axis`` = entry axis, ``inst`` = the box's
    instance); ``alone[k]`` counts the pixels instance k covers drawn on its own (its boxes
    must be consecutive).
    """
    h, w = depth.shape
    n_planes = planes.shape[0]
    for y in range(h):
        for x in range(w):
            best, best_s = np.inf, 0
            for s in range(n_planes):
                axis = int(planes[s, 0])
                comp = dirs[y, x, axis]
                if comp * planes[s, 2] > 0.0:
                    t = (planes[s, 1] - origin[axis]) / comp
                    if t < best:
                        best, best_s = t, s
            depth[y, x] = best
            surface[y, x] = best_s
    stamp = np.full((h, w), -1, dtype=np.int64)
    for b in range(box_lo.shape[0]):
        x0, x1, y0, y1 = box_ranges[b, 0], box_ranges[b, 1], box_ranges[b, 2], box_ranges[b, 3]
        k = box_instance[b]
        for y in range(y0, y1):
            for x in range(x0, x1):
                t_near, t_far, entry = -np.inf, np.inf, 0
                for axis in range(3):
                    inv = 1.0 / dirs[y, x, axis]
                    t1 = (box_lo[b, axis] - origin[axis]) * inv
                    t2 = (box_hi[b, axis] - origin[axis]) * inv
                    lo_t = t2 if np.isnan(t1) else (t1 if np.isnan(t2) else min(t1, t2))
                    hi_t = t2 if np.isnan(t1) else (t1 if np.isnan(t2) else max(t1, t2))
                    if lo_t > t_near or axis == 0:
                        t_near, entry = lo_t, axis
                    t_far = min(t_far, hi_t)
                if not (t_near <= t_far and t_near > near):
                    continue
                if stamp[y, x] != k:
                    stamp[y, x] = k
                    alone[k] += 1
                if t_near < depth[y, x]:
                    depth[y, x] = t_near
                    surface[y, x] = n_planes + b
                    box_axis[y, x] = entry
                    inst[y, x] = k


@jit
def shade_room(albedo: np.ndarray, normal: np.ndarray, points: np.ndarray,
               floor: np.ndarray, sky_hidden: np.ndarray, lamp_hidden: np.ndarray,
               light: np.ndarray, ambient: float, diffuse: float, falloff_ref2: float,
               lut: np.ndarray, rgb: np.ndarray, linear: np.ndarray,
               direct_share: np.ndarray) -> None:
    """The room's pixels (flattened): linear ``albedo`` lit by ambient plus the
    lamp (:func:`lamp_light`; unit ``normal``), quantised to 8-bit sRGB in ``rgb``. Floor
    pixels lose the shares of the sky and of the lamp that furniture hides, and keep their
    linear radiance (``linear``) and the lamp's share of their light (``direct_share``) for
    the person's shadow; elsewhere those two are 0."""
    for i in range(albedo.shape[0]):
        direct = lamp_light(points[i, 0], points[i, 1], points[i, 2], normal[i, 0],
                            normal[i, 1], normal[i, 2], light, diffuse, falloff_ref2)
        sky = ambient
        if floor[i]:
            direct *= 1.0 - lamp_hidden[i]
            sky *= 1.0 - sky_hidden[i]
        total = sky + direct
        for c in range(3):
            lin = albedo[i, c] * total
            rgb[i, c] = srgb8(lin, lut)
            linear[i, c] = lin if floor[i] else 0.0
        direct_share[i] = direct / total if floor[i] and total > 0.0 else 0.0


