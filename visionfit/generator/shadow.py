"""Shadows on the floor: the person's, per frame, and the furniture's contact darkening, per job.

Model. The floor's irradiance is the ambient (sky) term plus the lamp's direct term of
:func:`kernels.body.lamp_light`; a shadow takes away a share of each:

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
from .kernels import floor as floor_loops
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
    out = np.empty((len(rows), len(cols), 2))
    floor_loops.floor_points(
        np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64),
        np.ascontiguousarray(cam.position, dtype=np.float64),
        np.ascontiguousarray(cam.rotation, dtype=np.float64), float(cam.focal),
        float(cam.cx), float(cam.cy), out.reshape(-1, 2))
    return out


def _upsample(grids: np.ndarray, rows: np.ndarray, cols: np.ndarray, x0: int, x1: int,
              y0: int, y1: int) -> np.ndarray:
    """Bilinear interpolation of coarse grids (k, gh, gw) to every pixel of
    [x0, x1) x [y0, y1): (k, y1 - y0, x1 - x0)."""
    out = np.empty((len(grids), y1 - y0, x1 - x0))
    floor_loops.bilinear(np.ascontiguousarray(grids, dtype=np.float64), rows, cols, x0, y0, out)
    return out


def _screen_rect(cam: Camera, lo: tuple[float, float], hi: tuple[float, float]
                 ) -> tuple[int, int, int, int]:
    """Pixel rectangle [x0, x1) x [y0, y1) of the floor rectangle lo..hi (x, y), clipped."""
    return floor_loops.floor_rect_pixels(
        float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]),
        np.ascontiguousarray(cam.position, dtype=np.float64),
        np.ascontiguousarray(cam.rotation, dtype=np.float64),
        float(cam.focal), float(cam.cx), float(cam.cy), cam.width, cam.height, NEAR)


def body_shadow(cam: Camera, prims: Primitives, light: np.ndarray,
                floor: np.ndarray | None = None) -> BodyShadow | None:
    """The person's direct and ambient occlusion of the floor for one frame.

    ``prims`` is one frame in world coordinates; ``light`` the lamp's centre; ``floor`` the
    (H, W) pixels that show the floor, to which the work is cropped. None when the shadow
    misses the image's floor.
    """
    nc, ne = prims.cap_r.shape[0], prims.ell_c.shape[1]
    a, b = np.empty((nc + ne, 3)), np.empty((nc + ne, 3))
    r, far = np.empty(nc + ne), np.empty(nc + ne)
    proj, near = np.empty((nc + ne, 9)), np.empty(nc + ne, dtype=np.bool_)

    def c64(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=np.float64)

    bounds = floor_loops.shadow_casters(
        c64(prims.cap_a[0]), c64(prims.cap_b[0]), c64(prims.cap_r), c64(prims.ell_c[0]),
        c64(prims.ell_m[0]), c64(light), LAMP_RADIUS, _MIN_PENUMBRA, _LAMP_CLEARANCE, _FAINT,
        a, b, r, proj, near, far)
    x0, x1, y0, y1 = _screen_rect(cam, bounds[:2], bounds[2:])
    if x1 <= x0 or y1 <= y0:
        return None
    if floor is not None:  # crop to the floor pixels' extent inside the rectangle
        x0, x1, y0, y1 = floor_loops.floor_window(floor, x0, x1, y0, y1)
        if x1 <= x0:
            return None
    rows, cols = _grid_axes(x0, x1, y0, y1, _BODY_POINTS)
    p = _floor_xy(cam, rows, cols).reshape(-1, 2)
    grids = np.empty((2, len(p)))  # the lamp's and the sky's hidden shares
    floor_loops.shadow_grid(p, a, b, r, proj, near, far, grids[0], grids[1])
    fields = _upsample(grids.reshape(2, len(rows), len(cols)), rows, cols, x0, x1, y0, y1)
    return BodyShadow(x0, x1, y0, y1, fields[0], fields[1])


# ---------------------------------------------------------------------------------------
# The furniture.
def furniture_occlusion(cam: Camera, boxes: list[Box], light: np.ndarray,
                        floor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the sky (ambient) and of the lamp (direct) that furniture hides from the
    floor, each (H, W).

    Defined through each pixel's ray's floor point; evaluated on a coarse grid, only at
    the grid points whose interpolation reaches a pixel of ``floor`` (all if None), the
    only pixels that use them.
    """
    W, H = cam.width, cam.height
    furniture = [bx for bx in boxes if bx.art is None]
    if not furniture:
        return np.zeros((H, W)), np.zeros((H, W))
    rows, cols = _grid_axes(0, W, 0, H, _ROOM_POINTS)
    p = _floor_xy(cam, rows, cols).reshape(-1, 2)
    needed = (np.ones(len(p), dtype=bool) if floor is None
              else _samples_reaching(floor, rows, cols).reshape(-1))

    def table(bxs: list[Box], last) -> np.ndarray:
        return np.array([[bx.lo[0], bx.lo[1], bx.hi[0], bx.hi[1], last(bx)] for bx in bxs],
                        dtype=np.float64).reshape(-1, 5)

    standing = table([bx for bx in furniture if bx.lo[2] <= _ON_FLOOR], lambda bx: bx.hi[2])
    raised = table([bx for bx in furniture if bx.lo[2] > _ON_FLOOR], lambda bx: bx.lo[2])
    grids = np.empty((2, len(p)))  # the sky's and the lamp's hidden shares
    floor_loops.furniture_fields(p, needed, standing, raised, _lamp_slices(furniture, light),
                                 grids[0], grids[1])
    fields = _upsample(grids.reshape(2, len(rows), len(cols)), rows, cols, 0, W, 0, H)
    return fields[0], fields[1]


def _samples_reaching(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For a grid of samples (rows x cols, both ends kept), which ones bilinear
    interpolation uses at some pixel of ``mask``: those with a mask pixel between their
    neighbouring samples."""
    s = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    s[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)

    def bounds(samples: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        lo = np.concatenate([samples[:1], samples[:-1]])
        hi = np.concatenate([samples[1:], samples[-1:]])
        return np.ceil(lo).astype(np.int64), np.minimum(np.floor(hi).astype(np.int64) + 1,
                                                        size)

    r0, r1 = bounds(rows, mask.shape[0])
    c0, c1 = bounds(cols, mask.shape[1])
    count = (s[r1][:, c1] - s[r0][:, c1] - s[r1][:, c0] + s[r0][:, c0])
    return count > 0


def _lamp_slices(boxes: list[Box], light: np.ndarray) -> np.ndarray:
    """Horizontal slices of the boxes as seen from the lamp's centre on the floor: rows of
    shadow rectangle (lo x, lo y, hi x, hi y) and penumbra sigma."""
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
    lo = light[:2] + (np.array(lo_s) - light[:2]) * m
    hi = light[:2] + (np.array(hi_s) - light[:2]) * m
    sig = np.maximum(LAMP_RADIUS * z / (top - z), _MIN_PENUMBRA)
    return np.ascontiguousarray(np.column_stack([lo, hi, sig]), dtype=np.float64)
