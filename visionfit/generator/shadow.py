"""Shadows on the floor: the person's, per frame, and the furniture's contact darkening, per job.

Model. The floor's irradiance is the ambient (sky) term plus the lamp's direct term of
:func:`raster.irradiance`; a shadow takes away a share of each:

* Direct light: the lamp is a disc of radius :data:`LAMP_RADIUS` at height ``H``. Each body
  primitive is a capsule (ellipsoids become capsules along their longest axis). Seen from the
  lamp's centre, a point at height ``h`` lands on the floor magnified by ``m = H / (H - h)``,
  so a capsule of radius ``r`` casts a capsule of radius ``rho = r m``; the lamp's image
  through that point is a disc of radius ``sigma = R h / (H - h)`` (similar triangles). The
  share of the lamp hidden at a floor point ``d`` from the projected axis is the overlap of
  ``[d - sigma, d + sigma]`` with ``[-rho, rho]`` over ``2 sigma``: whole and sharp under a foot
  on the floor, at most ``rho / sigma`` and wide under a raised arm, and always on the side
  away from the lamp.
* Ambient light: the cosine-weighted form factor of a sphere of radius ``r`` at distance ``D``
  and elevation ``cos t`` is ``r^2 cos t / D^2``; taking the sphere at the nearest point of
  the primitive's axis gives 1 under a foot that touches the floor, falling off as ``D^-3``.
* Furniture (once per job): a box resting on the floor hides the sky like a wall of its
  height ``h`` seen across its footprint, ``1/2 (1 - d / sqrt(d^2 + h^2)) * theta / pi``, with ``d``
  the distance to the footprint and ``theta`` the angle the footprint subtends in the floor
  plane; so the floor darkens towards the foot of a wardrobe, much less beside a table leg.
  A raised box (a table top, a seat) hides the sky through its underside: the exact form
  factor of a rectangle parallel to the floor, so the floor under a table darkens.
  Furniture also hides the lamp: seen from the lamp's centre, a horizontal slice of a box at
  height ``z`` lands on the floor as an axis-aligned rectangle scaled by ``m``, and the share of
  a square lamp of half-size ``sigma`` that it hides is the product of the 1D overlaps along x
  and y; a box is a stack of such slices (enough that their shadows join).

Overlapping occluders take the largest share (no seams where limbs overlap). The caller
multiplies the floor's linear radiance by ``1 - f_dir occ_dir - f_amb occ_amb`` with ``f`` the
two terms' shares of its irradiance, so a dark room stays dark and no colour goes negative.
Shadows are smooth, so each field is evaluated on a coarse screen grid (a few thousand floor
points) over the shadow's screen rectangle and interpolated bilinearly to pixels.
"""

from __future__ import annotations

import numpy as np

from .body import Primitives
from .camera import NEAR, Camera
from .kernels import bilinear, shadow_grid
from .scene import Box

__all__ = ["LAMP_RADIUS", "BodyShadow", "body_shadow", "furniture_occlusion"]

LAMP_RADIUS = 0.3  # m: the lamp's shade, which sets how fast shadows soften with height
_MIN_PENUMBRA = 0.012  # m: even contact shadows get a soft (anti-aliased) edge
_LAMP_CLEARANCE = 0.1  # m: occluders are taken at least this far below the lamp
_FAINT = 0.01  # a primitive hiding less of the sky than this is left out of the ambient term
_BODY_POINTS = 1800  # coarse grid points for the person's shadow per frame
_ROOM_POINTS = 96 * 96  # coarse grid points for the furniture's darkening per job
_ON_FLOOR = 0.02  # m: boxes whose bottom is this low rest on the floor


class BodyShadow:
    """The person's occlusion of the floor inside the screen rectangle [x0, x1) x [y0, y1)."""

    def __init__(self, x0: int, x1: int, y0: int, y1: int, direct: np.ndarray,
                 ambient: np.ndarray) -> None:
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.direct = direct  # (h, w) share of the lamp hidden
        self.ambient = ambient  # (h, w) share of the sky hidden

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


# ---------------------------------------------------------------------------------------
# Coarse grids on the screen and their floor points.
def _grid_axes(x0: int, x1: int, y0: int, y1: int, max_points: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sample rows and columns (floats) spanning [y0, y1-1] x [x0, x1-1], both ends kept."""
    step = max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / max_points))))

    def axis(a: int, b: int) -> np.ndarray:
        pts = np.arange(a, b - 1, step, dtype=np.float64)
        return np.append(pts, b - 1.0)

    return axis(y0, y1), axis(x0, x1)


def _floor_xy(cam: Camera, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Where the rays of pixels (rows x cols) meet the floor z = 0: (h, w, 2).

    Rays that never reach it (level or rising) get a point far away, where nothing occludes.
    """
    dx = (cols - cam.cx) / cam.focal
    dy = (rows - cam.cy) / cam.focal
    r = cam.rotation
    d = dx[None, :, None] * r[0] + dy[:, None, None] * r[1] + r[2]
    down = d[..., 2] < -1e-9
    t = np.where(down, -cam.position[2] / np.where(down, d[..., 2], -1.0), 0.0)
    xy = cam.position[:2] + d[..., :2] * t[..., None]
    xy[~down] = 1e6
    return xy


def _interp_weights(samples: np.ndarray, start: int, stop: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """For pixels start..stop-1: the sample before each (index) and the weight of the next."""
    n = len(samples)
    px = np.arange(start, stop, dtype=np.float64)
    if n == 1:
        return np.zeros(len(px), dtype=np.intp), np.zeros(len(px))
    i = np.clip(np.searchsorted(samples, px, side="right") - 1, 0, n - 2)
    return i, np.clip((px - samples[i]) / (samples[i + 1] - samples[i]), 0.0, 1.0)


def _upsample(grid: np.ndarray, rows: np.ndarray, cols: np.ndarray, x0: int, x1: int, y0: int,
              y1: int) -> np.ndarray:
    """Bilinear interpolation of a coarse grid to every pixel of [x0, x1) x [y0, y1)."""
    i, wy = _interp_weights(rows, y0, y1)
    j, wx = _interp_weights(cols, x0, x1)
    out = np.empty((y1 - y0, x1 - x0))
    bilinear(np.ascontiguousarray(grid, dtype=np.float64), i, wy, j, wx, out)
    return out


# ---------------------------------------------------------------------------------------
# The person.
def _capsules(prims: Primitives) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame's primitives as capsules (a, b, r); an ellipsoid becomes the capsule along
    its longest semi-axis with the mean of the other two as radius."""
    m = prims.ell_m[0]  # (E, 3, 3), columns are the semi-axes
    lens = np.linalg.norm(m, axis=1)  # (E, 3)
    k = np.argmax(lens, axis=1)
    e = np.arange(len(k))
    longest = lens[e, k]
    radius = (lens.sum(axis=1) - longest) / 2.0
    unit = m[e, :, k] / np.maximum(longest, 1e-12)[:, None]
    half = np.maximum(longest - radius, 0.0)[:, None] * unit
    c = prims.ell_c[0]
    return (np.concatenate([prims.cap_a[0], c - half]),
            np.concatenate([prims.cap_b[0], c + half]),
            np.concatenate([prims.cap_r, radius]))


def _screen_rect(cam: Camera, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int]:
    """Pixel rectangle [x0, x1) x [y0, y1) of the floor rectangle lo..hi (x, y), clipped."""
    corners = np.array([[lo[0], lo[1], 0.0], [hi[0], lo[1], 0.0], [lo[0], hi[1], 0.0],
                        [hi[0], hi[1], 0.0]])
    c = cam.to_camera(corners)
    if (c[:, 2] <= NEAR).any():  # the footprint reaches behind the camera: clip to the image
        front = c[c[:, 2] > NEAR]
        if len(front) == 0:
            return 0, 0, 0, 0
        return 0, cam.width, 0, cam.height
    u = cam.focal * c[:, 0] / c[:, 2] + cam.cx
    v = cam.focal * c[:, 1] / c[:, 2] + cam.cy
    x0 = max(0, int(np.floor(u.min())))
    x1 = min(cam.width, int(np.ceil(u.max())) + 1)
    y0 = max(0, int(np.floor(v.min())))
    y1 = min(cam.height, int(np.ceil(v.max())) + 1)
    return x0, x1, y0, y1


def body_shadow(cam: Camera, prims: Primitives, light: np.ndarray,
                floor: np.ndarray | None = None) -> BodyShadow | None:
    """The person's direct and ambient occlusion of the floor for one frame.

    ``prims`` is one frame in world coordinates; ``light`` the lamp's centre; ``floor`` the
    (H, W) pixels that show the floor, to which the work is cropped. None when the shadow
    misses the image's floor.
    """
    a, b, r = _capsules(prims)
    top = float(light[2])
    ha = np.clip(a[:, 2], 0.0, top - _LAMP_CLEARANCE)
    hb = np.clip(b[:, 2], 0.0, top - _LAMP_CLEARANCE)
    # Direct: capsules projected from the lamp's centre onto the floor.
    ma, mb = top / (top - ha), top / (top - hb)
    pa = light[:2] + (a[:, :2] - light[:2]) * ma[:, None]
    pb = light[:2] + (b[:, :2] - light[:2]) * mb[:, None]
    rho_a, rho_b = r * ma, r * mb
    sig_a = np.maximum(LAMP_RADIUS * ha / (top - ha), _MIN_PENUMBRA)
    sig_b = np.maximum(LAMP_RADIUS * hb / (top - hb), _MIN_PENUMBRA)
    reach = np.maximum(rho_a + sig_a, rho_b + sig_b)
    lo = np.minimum(pa, pb) - reach[:, None]
    hi = np.maximum(pa, pb) + reach[:, None]
    # Ambient: only primitives low enough to hide a visible share of the sky.
    z_lo = np.maximum(np.minimum(a[:, 2], b[:, 2]), 1e-3)
    z_hi = np.maximum(np.maximum(a[:, 2], b[:, 2]), 1e-3)
    near = r * r / (z_lo * z_lo) >= _FAINT
    far = np.cbrt(r[near] ** 2 * z_hi[near] / _FAINT)  # F < faint beyond this distance
    if near.any():
        amb_lo = np.minimum(a[near, :2], b[near, :2]) - far[:, None]
        amb_hi = np.maximum(a[near, :2], b[near, :2]) + far[:, None]
        lo = np.concatenate([lo, amb_lo])
        hi = np.concatenate([hi, amb_hi])
    x0, x1, y0, y1 = _screen_rect(cam, lo.min(axis=0), hi.max(axis=0))
    if x1 <= x0 or y1 <= y0:
        return None
    if floor is not None:  # crop to the floor pixels' extent inside the rectangle
        sub = floor[y0:y1, x0:x1]
        rows_on = np.flatnonzero(sub.any(axis=1))
        if len(rows_on) == 0:
            return None
        cols_on = np.flatnonzero(sub[rows_on[0]:rows_on[-1] + 1].any(axis=0))
        x0, x1 = x0 + int(cols_on[0]), x0 + int(cols_on[-1]) + 1
        y0, y1 = y0 + int(rows_on[0]), y0 + int(rows_on[-1]) + 1
    rows, cols = _grid_axes(x0, x1, y0, y1, _BODY_POINTS)
    p = _floor_xy(cam, rows, cols).reshape(-1, 2)
    direct = np.empty(len(p))
    ambient = np.empty(len(p))
    shadow_grid(p, pa, pb, rho_a, rho_b, sig_a, sig_b, reach,
                *(np.ascontiguousarray(x[near]) for x in (a, b, r)), far, direct, ambient)
    shape = (len(rows), len(cols))
    return BodyShadow(x0, x1, y0, y1,
                      _upsample(direct.reshape(shape), rows, cols, x0, x1, y0, y1),
                      _upsample(ambient.reshape(shape), rows, cols, x0, x1, y0, y1))


# ---------------------------------------------------------------------------------------
# The furniture.
def _corner_factor(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Form factor from a floor point to the rectangle [0, x] x [0, y] one unit above it
    (signed: odd in x and in y, so rectangles add up from their corners)."""
    sx, sy = np.sqrt(1.0 + x * x), np.sqrt(1.0 + y * y)
    return (x / sx * np.arctan(y / sx) + y / sy * np.arctan(x / sy)) / (2.0 * np.pi)


def _underside_occlusion(p: np.ndarray, raised: list[Box]) -> np.ndarray:
    """Largest form factor (points,) of the undersides of raised boxes seen from floor points."""
    lo = np.array([bx.lo for bx in raised])
    hi = np.array([bx.hi for bx in raised])
    c = lo[:, 2]
    x0, x1 = (lo[:, 0] - p[:, 0:1]) / c, (hi[:, 0] - p[:, 0:1]) / c  # (points, B)
    y0, y1 = (lo[:, 1] - p[:, 1:2]) / c, (hi[:, 1] - p[:, 1:2]) / c
    f = (_corner_factor(x1, y1) - _corner_factor(x0, y1) - _corner_factor(x1, y0)
         + _corner_factor(x0, y0))
    return f.max(axis=1)


def furniture_occlusion(cam: Camera, boxes: list[Box], light: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the sky (ambient) and of the lamp (direct) that furniture hides from the
    floor, each (H, W).

    Defined for every pixel through its ray's floor point; only floor pixels use them.
    """
    W, H = cam.width, cam.height
    furniture = [bx for bx in boxes if bx.art is None]
    standing = [bx for bx in furniture if bx.lo[2] <= _ON_FLOOR]
    raised = [bx for bx in furniture if bx.lo[2] > _ON_FLOOR]
    if not furniture:
        return np.zeros((H, W)), np.zeros((H, W))
    rows, cols = _grid_axes(0, W, 0, H, _ROOM_POINTS)
    p = _floor_xy(cam, rows, cols).reshape(-1, 1, 2)
    sky = _underside_occlusion(p[:, 0], raised) if raised else np.zeros(len(p))
    if standing:
        sky = np.maximum(sky, _standing_occlusion(p, standing))
    lamp = _lamp_occlusion(p[:, 0], furniture, light)
    shape = (len(rows), len(cols))
    return (_upsample(sky.reshape(shape), rows, cols, 0, W, 0, H),
            _upsample(lamp.reshape(shape), rows, cols, 0, W, 0, H))


def _lamp_occlusion(p: np.ndarray, boxes: list[Box], light: np.ndarray) -> np.ndarray:
    """Largest share of the lamp (points,) hidden by horizontal slices of the boxes."""
    top = float(light[2])
    lo_s, hi_s, z_s = [], [], []
    for bx in boxes:
        z0 = min(bx.lo[2], top - _LAMP_CLEARANCE)
        z1 = min(bx.hi[2], top - _LAMP_CLEARANCE)
        # Slices close enough that consecutive shadows overlap by half the box's width.
        far = np.abs(np.array([bx.lo[:2], bx.hi[:2]]) - light[:2]).max()
        shift = far * (top / (top - z1) - top / (top - z0))
        size = max(min(bx.hi[0] - bx.lo[0], bx.hi[1] - bx.lo[1]), 1e-3)
        n = int(np.clip(np.ceil(2.0 * shift / size), 1, 12)) + 1
        for z in np.linspace(z0, z1, n):
            lo_s.append(bx.lo[:2])
            hi_s.append(bx.hi[:2])
            z_s.append(z)
    z = np.array(z_s)
    m = (top / (top - z))[:, None]
    lo = light[:2] + (np.array(lo_s) - light[:2]) * m  # (S, 2) shadow rectangles
    hi = light[:2] + (np.array(hi_s) - light[:2]) * m
    sig = np.maximum(LAMP_RADIUS * z / (top - z), _MIN_PENUMBRA)
    hidden = np.ones((len(p), len(z)))
    for axis in (0, 1):
        q = p[:, axis:axis + 1]
        overlap = np.minimum(q + sig, hi[:, axis]) - np.maximum(q - sig, lo[:, axis])
        hidden *= np.clip(overlap / (2.0 * sig), 0.0, 1.0)
    return hidden.max(axis=1)


def _standing_occlusion(p: np.ndarray, standing: list[Box]) -> np.ndarray:
    """Largest share of the sky (points,) hidden by boxes resting on the floor."""
    lo = np.array([bx.lo[:2] for bx in standing])[None]  # (1, B, 2)
    hi = np.array([bx.hi[:2] for bx in standing])[None]
    height = np.array([bx.hi[2] for bx in standing])[None]
    gap = np.maximum(np.maximum(lo - p, p - hi), 0.0)
    d = np.hypot(gap[..., 0], gap[..., 1])  # (points, B)
    wall = 0.5 * (1.0 - d / np.sqrt(d * d + height * height))
    # Angle the footprint subtends: the spread of its corners' bearings, measured from the
    # bearing of its centre (which lies inside that spread, so nothing wraps round).
    cx, cy = (lo[..., 0] + hi[..., 0]) / 2 - p[..., 0], (lo[..., 1] + hi[..., 1]) / 2 - p[..., 1]
    lo_b, hi_b = np.full(d.shape, np.inf), np.full(d.shape, -np.inf)
    for x, y in ((lo[..., 0], lo[..., 1]), (hi[..., 0], lo[..., 1]), (lo[..., 0], hi[..., 1]),
                 (hi[..., 0], hi[..., 1])):
        vx, vy = x - p[..., 0], y - p[..., 1]
        bearing = np.arctan2(cx * vy - cy * vx, cx * vx + cy * vy)
        np.minimum(lo_b, bearing, out=lo_b)
        np.maximum(hi_b, bearing, out=hi_b)
    theta = np.where(d > 0.0, hi_b - lo_b, np.pi)
    return (wall * theta / np.pi).max(axis=1)
