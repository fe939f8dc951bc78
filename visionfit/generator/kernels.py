"""The renderer's per-pixel inner loops, compiled with Numba and cached on disk.

Each frame casts ~35 capsules and ellipsoids into their screen rectangles, shades the hits
and darkens the floor under the person's shadow. In NumPy that is thousands of small array
calls per frame; here each is one loop over the pixels it concerns (a primitive's rectangle,
the body's hits, the shadow's floor pixels), with the same formulas as the NumPy reference
in the docstrings of :mod:`.raster` and :mod:`.shadow`.

Compiled code is cached on disk (``cache=True``) so a fresh worker process loads it instead of
compiling: in ``NUMBA_CACHE_DIR`` if set, else the user's cache folder, else the temporary
folder (an installed package's own folder may be read-only, and nothing is written there).
No fast-math: results are the same run to run and process to process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numba
import numpy as np
from platformdirs import user_cache_dir

__all__ = ["CACHE_DIR", "bilinear", "cast_primitives", "darken_floor", "shade_hits",
           "shadow_grid"]


def _writable_cache_dir() -> str | None:
    """The first folder kernels can be cached in, or None (then they compile per process)."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    for folder in (Path(user_cache_dir("infinity-workflows")) / "numba",
                   Path(tempfile.gettempdir()) / f"infinity-workflows-numba-{uid}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError:
            continue
        return str(folder)
    return None


if not numba.config.CACHE_DIR:
    numba.config.CACHE_DIR = _writable_cache_dir() or ""
CACHE_DIR: str = numba.config.CACHE_DIR
_jit = numba.njit(cache=bool(CACHE_DIR), nogil=True, error_model="numpy")


# ---------------------------------------------------------------------------------------
# Body: ray casts (rays (dx, dy, 1) from the camera, so a ray's parameter is the depth z).
@_jit
def _capsule_t(dx: float, dy: float, a: np.ndarray, b: np.ndarray, r: float,
               near: float) -> float:
    """Nearest front hit of the ray with the capsule a-b of radius r (inf: miss): the
    nearest of the two end spheres' first roots and the cylinder's lateral hit between
    the ends."""
    dd = dx * dx + dy * dy + 1.0
    da = a[0] * dx + a[1] * dy + a[2]
    db = b[0] * dx + b[1] * dy + b[2]
    aa = a[0] * a[0] + a[1] * a[1] + a[2] * a[2]
    bb = b[0] * b[0] + b[1] * b[1] + b[2] * b[2]
    t = np.inf
    ha = da * da - dd * (aa - r * r)
    if ha >= 0.0:
        ta = (da - np.sqrt(ha)) / dd
        if ta > near:
            t = ta
    hb = db * db - dd * (bb - r * r)
    if hb >= 0.0:
        tb = (db - np.sqrt(hb)) / dd
        if tb > near and tb < t:
            t = tb
    ba0, ba1, ba2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    baba = ba0 * ba0 + ba1 * ba1 + ba2 * ba2
    if baba > 1e-12:
        bard = db - da
        baoa = -(ba0 * a[0] + ba1 * a[1] + ba2 * a[2])
        qa = baba * dd - bard * bard
        qb = baba * -da - baoa * bard
        qc = baba * aa - baoa * baoa - r * r * baba
        h = qb * qb - qa * qc
        if h >= 0.0 and qa > 1e-12:
            tc = (-qb - np.sqrt(h)) / qa
            y = baoa + tc * bard
            if y > 0.0 and y < baba and tc > near and tc < t:
                t = tc
    return t


@_jit
def _ellipsoid_t(dx: float, dy: float, o: np.ndarray, minv: np.ndarray,
                 near: float) -> float:
    """Nearest front hit with the ellipsoid {c + M u : |u| = 1}; minv = M^-1, o = minv(-c)."""
    d0 = minv[0, 0] * dx + minv[0, 1] * dy + minv[0, 2]
    d1 = minv[1, 0] * dx + minv[1, 1] * dy + minv[1, 2]
    d2 = minv[2, 0] * dx + minv[2, 1] * dy + minv[2, 2]
    qa = d0 * d0 + d1 * d1 + d2 * d2
    qb = o[0] * d0 + o[1] * d1 + o[2] * d2
    qc = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] - 1.0
    h = qb * qb - qa * qc
    if h < 0.0:
        return np.inf
    t = (-qb - np.sqrt(h)) / qa
    return t if t > near else np.inf


@_jit
def cast_primitives(dx: np.ndarray, dy: np.ndarray, ranges: np.ndarray, cap_a: np.ndarray,
                    cap_b: np.ndarray, cap_r: np.ndarray, ell_o: np.ndarray,
                    ell_minv: np.ndarray, near: float, depth: np.ndarray,
                    pid: np.ndarray) -> None:
    """Depth-test every primitive k into ``depth``/``pid`` over its own index rectangle
    ``ranges[k]`` = (x0, x1, y0, y1) of the canvas whose rays are (dx[x], dy[y], 1).

    Capsules come first (k < len(cap_r)), then ellipsoids; a nearer hit wins, ties keep
    the lower k. ``depth`` starts at inf and ``pid`` at -1.
    """
    nc = cap_r.shape[0]
    for k in range(ranges.shape[0]):
        x0, x1, y0, y1 = ranges[k, 0], ranges[k, 1], ranges[k, 2], ranges[k, 3]
        for y in range(y0, y1):
            for x in range(x0, x1):
                if k < nc:
                    t = _capsule_t(dx[x], dy[y], cap_a[k], cap_b[k], cap_r[k], near)
                else:
                    t = _ellipsoid_t(dx[x], dy[y], ell_o[k - nc], ell_minv[k - nc], near)
                if t < depth[y, x]:
                    depth[y, x] = t
                    pid[y, x] = k


@_jit
def _srgb8(lin: float, lut: np.ndarray) -> np.uint8:
    idx = lin * 4095.0 + 0.5
    idx = min(max(idx, 0.0), 4095.0)
    return lut[int(idx)]


@_jit
def shade_hits(dx: np.ndarray, dy: np.ndarray, depth: np.ndarray, pid: np.ndarray,
               cap_a: np.ndarray, cap_b: np.ndarray, ell_c: np.ndarray, ell_minv: np.ndarray,
               albedo: np.ndarray, light: np.ndarray, ambient: float, diffuse: float,
               falloff_ref2: float, lut: np.ndarray, rgb: np.ndarray) -> None:
    """8-bit sRGB of every hit pixel (pid >= 0): the unit normal of primitive pid at the hit
    point, diffuse light from the point lamp ``light`` plus ambient, times the linear
    albedo (the formulas of :func:`raster.irradiance`)."""
    nc = cap_a.shape[0]
    h, w = depth.shape
    n = np.empty(3)
    for y in range(h):
        for x in range(w):
            k = pid[y, x]
            if k < 0:
                continue
            z = depth[y, x]
            p0, p1, p2 = dx[x] * z, dy[y] * z, z
            if k < nc:
                a, b = cap_a[k], cap_b[k]
                ba0, ba1, ba2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
                pa0, pa1, pa2 = p0 - a[0], p1 - a[1], p2 - a[2]
                baba = max(ba0 * ba0 + ba1 * ba1 + ba2 * ba2, 1e-12)
                q = min(max((pa0 * ba0 + pa1 * ba1 + pa2 * ba2) / baba, 0.0), 1.0)
                n[0], n[1], n[2] = pa0 - q * ba0, pa1 - q * ba1, pa2 - q * ba2
            else:
                m, c = ell_minv[k - nc], ell_c[k - nc]
                r0, r1, r2 = p0 - c[0], p1 - c[1], p2 - c[2]
                u0 = m[0, 0] * r0 + m[0, 1] * r1 + m[0, 2] * r2
                u1 = m[1, 0] * r0 + m[1, 1] * r1 + m[1, 2] * r2
                u2 = m[2, 0] * r0 + m[2, 1] * r1 + m[2, 2] * r2
                for i in range(3):
                    n[i] = m[0, i] * u0 + m[1, i] * u1 + m[2, i] * u2
            norm = max(np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), 1e-12)
            t0, t1, t2 = light[0] - p0, light[1] - p1, light[2] - p2
            d2 = t0 * t0 + t1 * t1 + t2 * t2
            cos = max((n[0] * t0 + n[1] * t1 + n[2] * t2) / norm, 0.0) / np.sqrt(d2)
            e = ambient + diffuse * cos * min(1.0, falloff_ref2 / d2)
            for i in range(3):
                rgb[y, x, i] = _srgb8(albedo[k, i] * e, lut)


# ---------------------------------------------------------------------------------------
# Shadows on the floor (model in :mod:`.shadow`).
@_jit
def shadow_grid(p: np.ndarray, pa: np.ndarray, pb: np.ndarray, rho_a: np.ndarray,
                rho_b: np.ndarray, sig_a: np.ndarray, sig_b: np.ndarray, reach: np.ndarray,
                a3: np.ndarray, b3: np.ndarray, r3: np.ndarray, far: np.ndarray,
                direct: np.ndarray, ambient: np.ndarray) -> None:
    """Per floor point p[i] (x, y): the largest share of the lamp hidden by the projected
    capsules pa-pb (radii rho, penumbrae sigma, linear along each), and the largest share of
    the sky hidden by the capsules a3-b3 (radius r3) near the floor.

    A capsule is skipped where it cannot reach: beyond ``reach`` (rho + sigma) of its
    projected box, or beyond ``far`` (where its sky share is under the faint limit) of its
    floor box; both shares are exactly 0 or negligible there."""
    for i in range(p.shape[0]):
        px, py = p[i, 0], p[i, 1]
        best = 0.0
        for k in range(pa.shape[0]):
            if (px < min(pa[k, 0], pb[k, 0]) - reach[k] or px > max(pa[k, 0], pb[k, 0]) + reach[k]
                    or py < min(pa[k, 1], pb[k, 1]) - reach[k]
                    or py > max(pa[k, 1], pb[k, 1]) + reach[k]):
                continue
            ab0, ab1 = pb[k, 0] - pa[k, 0], pb[k, 1] - pa[k, 1]
            abab = max(ab0 * ab0 + ab1 * ab1, 1e-12)
            rx, ry = px - pa[k, 0], py - pa[k, 1]
            t = min(max((rx * ab0 + ry * ab1) / abab, 0.0), 1.0)
            ex, ey = rx - t * ab0, ry - t * ab1
            d = np.sqrt(ex * ex + ey * ey)
            rho = rho_a[k] + t * (rho_b[k] - rho_a[k])
            sig = sig_a[k] + t * (sig_b[k] - sig_a[k])
            hidden = (min(d + sig, rho) - max(d - sig, -rho)) / (2.0 * sig)
            if hidden > best:
                best = min(hidden, 1.0)
        direct[i] = best
        best = 0.0
        for k in range(a3.shape[0]):
            if (px < min(a3[k, 0], b3[k, 0]) - far[k] or px > max(a3[k, 0], b3[k, 0]) + far[k]
                    or py < min(a3[k, 1], b3[k, 1]) - far[k]
                    or py > max(a3[k, 1], b3[k, 1]) + far[k]):
                continue
            ab0, ab1, ab2 = b3[k, 0] - a3[k, 0], b3[k, 1] - a3[k, 1], b3[k, 2] - a3[k, 2]
            l2 = max(ab0 * ab0 + ab1 * ab1 + ab2 * ab2, 1e-12)
            qx, qy, qz = px - a3[k, 0], py - a3[k, 1], -a3[k, 2]
            s = min(max((qx * ab0 + qy * ab1 + qz * ab2) / l2, 0.0), 1.0)
            ex, ey = qx - s * ab0, qy - s * ab1
            height = max(a3[k, 2] + s * ab2, 1e-3)
            dist2 = ex * ex + ey * ey + height * height
            f = min(r3[k] * r3[k] * height / (dist2 * np.sqrt(dist2)), 1.0)
            if f > best:
                best = f
        ambient[i] = best


@_jit
def bilinear(grid: np.ndarray, i: np.ndarray, wy: np.ndarray, j: np.ndarray, wx: np.ndarray,
             out: np.ndarray) -> None:
    """out[y, x] = the grid interpolated between samples i[y], i[y]+1 (weight wy[y] on the
    second) and j[x], j[x]+1 (weight wx[x]); the grid's last row and column repeat."""
    gh, gw = grid.shape
    for y in range(out.shape[0]):
        i0 = i[y]
        i1 = min(i0 + 1, gh - 1)
        for x in range(out.shape[1]):
            j0 = j[x]
            j1 = min(j0 + 1, gw - 1)
            top = grid[i0, j0] + (grid[i1, j0] - grid[i0, j0]) * wy[y]
            bottom = grid[i0, j1] + (grid[i1, j1] - grid[i0, j1]) * wy[y]
            out[y, x] = top + (bottom - top) * wx[x]


@_jit
def darken_floor(rgb: np.ndarray, linear: np.ndarray, share: np.ndarray, floor: np.ndarray,
                 direct: np.ndarray, ambient: np.ndarray, x0: int, y0: int,
                 lut: np.ndarray) -> None:
    """Floor pixels of the rectangle at (x0, y0) the size of ``direct`` keep
    ``1 - share * direct - (1 - share) * ambient`` of their linear radiance; ``rgb``,
    ``linear``, ``share`` and ``floor`` are whole images. Faint changes are skipped."""
    for y in range(direct.shape[0]):
        for x in range(direct.shape[1]):
            if not floor[y0 + y, x0 + x]:
                continue
            s = share[y0 + y, x0 + x]
            keep = 1.0 - s * direct[y, x] - (1.0 - s) * ambient[y, x]
            if keep < 0.998:
                keep = max(keep, 0.0)
                for c in range(3):
                    rgb[y0 + y, x0 + x, c] = _srgb8(linear[y0 + y, x0 + x, c] * keep, lut)
