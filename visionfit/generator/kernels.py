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

__all__ = ["CACHE_DIR", "bilinear", "cast_primitives", "cast_room", "channel_sums", "darken_floor",
           "draw_body",
           "floor_points", "floor_rect_pixels", "floor_window", "furniture_fields", "shade_hits",
           "shade_room", "shadow_casters", "shadow_grid"]


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
def _cast_capsule(dx: np.ndarray, dy: np.ndarray, x0: int, x1: int, y0: int, y1: int,
                  a: np.ndarray, b: np.ndarray, r: float, near: float, k: int,
                  depth: np.ndarray, pid: np.ndarray) -> None:
    """Nearest front hits of rays (dx, dy, 1) with the capsule a-b of radius r: the nearest
    of the two end spheres' first roots |t d - c| = r and the cylinder's lateral hit when it
    falls between the ends; depth-tested into the canvas."""
    a0, a1, a2, b0, b1, b2 = a[0], a[1], a[2], b[0], b[1], b[2]
    aa = a0 * a0 + a1 * a1 + a2 * a2
    ca = aa - r * r
    cb = b0 * b0 + b1 * b1 + b2 * b2 - r * r
    ba0, ba1, ba2 = b0 - a0, b1 - a1, b2 - a2
    baba = ba0 * ba0 + ba1 * ba1 + ba2 * ba2
    baoa = -(ba0 * a0 + ba1 * a1 + ba2 * a2)
    qc = baba * aa - baoa * baoa - r * r * baba
    for y in range(y0, y1):
        ry = dy[y]
        for x in range(x0, x1):
            rx = dx[x]
            dd = rx * rx + ry * ry + 1.0
            da = a0 * rx + a1 * ry + a2
            db = b0 * rx + b1 * ry + b2
            t = np.inf
            ha = da * da - dd * ca
            if ha >= 0.0:
                ta = (da - np.sqrt(ha)) / dd
                if ta > near:
                    t = ta
            hb = db * db - dd * cb
            if hb >= 0.0:
                tb = (db - np.sqrt(hb)) / dd
                if tb > near and tb < t:
                    t = tb
            if baba > 1e-12:
                bard = db - da
                qa = baba * dd - bard * bard
                qb = baba * -da - baoa * bard
                h = qb * qb - qa * qc
                if h >= 0.0 and qa > 1e-12:
                    tc = (-qb - np.sqrt(h)) / qa
                    yy = baoa + tc * bard
                    if yy > 0.0 and yy < baba and tc > near and tc < t:
                        t = tc
            if t < depth[y, x]:
                depth[y, x] = t
                pid[y, x] = k


@_jit
def _cast_ellipsoid(dx: np.ndarray, dy: np.ndarray, x0: int, x1: int, y0: int, y1: int,
                    o: np.ndarray, m: np.ndarray, near: float, k: int, depth: np.ndarray,
                    pid: np.ndarray) -> None:
    """Nearest front hits with the ellipsoid {c + M u : |u| = 1} (m = M^-1, o = m(-c)):
    the unit sphere's first root in its own frame; depth-tested into the canvas."""
    o0, o1, o2 = o[0], o[1], o[2]
    qc = o0 * o0 + o1 * o1 + o2 * o2 - 1.0
    for y in range(y0, y1):
        ry = dy[y]
        for x in range(x0, x1):
            rx = dx[x]
            d0 = m[0, 0] * rx + m[0, 1] * ry + m[0, 2]
            d1 = m[1, 0] * rx + m[1, 1] * ry + m[1, 2]
            d2 = m[2, 0] * rx + m[2, 1] * ry + m[2, 2]
            qa = d0 * d0 + d1 * d1 + d2 * d2
            qb = o0 * d0 + o1 * d1 + o2 * d2
            h = qb * qb - qa * qc
            if h >= 0.0:
                t = (-qb - np.sqrt(h)) / qa
                if t > near and t < depth[y, x]:
                    depth[y, x] = t
                    pid[y, x] = k


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
        if x1 <= x0 or y1 <= y0:
            continue
        if k < nc:
            _cast_capsule(dx, dy, x0, x1, y0, y1, cap_a[k], cap_b[k], cap_r[k], near, k,
                          depth, pid)
        else:
            _cast_ellipsoid(dx, dy, x0, x1, y0, y1, ell_o[k - nc], ell_minv[k - nc], near, k,
                            depth, pid)


@_jit
def _srgb8(lin: float, lut: np.ndarray) -> np.uint8:
    idx = lin * 4095.0 + 0.5
    idx = min(max(idx, 0.0), 4095.0)
    return lut[int(idx)]


@_jit
def _lamp_light(p0: float, p1: float, p2: float, n0: float, n1: float, n2: float,
               light: np.ndarray, diffuse: float, falloff_ref2: float) -> float:
    """The lamp's direct light at point p with unit normal n: Lambert's cosine, no fall-off
    within ``falloff_ref2`` (squared metres) of the lamp and inverse-square beyond; the
    scene's light is ``ambient`` (a constant) plus this, both scaled by lighting_power/100."""
    t0, t1, t2 = light[0] - p0, light[1] - p1, light[2] - p2
    d2 = t0 * t0 + t1 * t1 + t2 * t2
    cos = max(n0 * t0 + n1 * t1 + n2 * t2, 0.0) / np.sqrt(d2)
    return diffuse * cos * min(1.0, falloff_ref2 / d2)


@_jit
def shade_hits(dx: np.ndarray, dy: np.ndarray, depth: np.ndarray, pid: np.ndarray,
               cap_a: np.ndarray, cap_b: np.ndarray, ell_c: np.ndarray, ell_minv: np.ndarray,
               albedo: np.ndarray, light: np.ndarray, ambient: float, diffuse: float,
               falloff_ref2: float, lut: np.ndarray, rgb: np.ndarray) -> None:
    """8-bit sRGB of every hit pixel (pid >= 0): the unit normal of primitive pid at the hit
    point, diffuse light from the point lamp ``light`` (:func:`_lamp_light`) plus ambient,
    times the linear albedo."""
    nc = cap_a.shape[0]
    h, w = depth.shape
    for y in range(h):
        for x in range(w):
            k = pid[y, x]
            if k < 0:
                continue
            z = depth[y, x]
            p0, p1, p2 = dx[x] * z, dy[y] * z, z
            if k < nc:
                a0, a1, a2 = cap_a[k, 0], cap_a[k, 1], cap_a[k, 2]
                ba0, ba1, ba2 = cap_b[k, 0] - a0, cap_b[k, 1] - a1, cap_b[k, 2] - a2
                pa0, pa1, pa2 = p0 - a0, p1 - a1, p2 - a2
                baba = max(ba0 * ba0 + ba1 * ba1 + ba2 * ba2, 1e-12)
                q = min(max((pa0 * ba0 + pa1 * ba1 + pa2 * ba2) / baba, 0.0), 1.0)
                n0, n1, n2 = pa0 - q * ba0, pa1 - q * ba1, pa2 - q * ba2
            else:
                e = k - nc
                r0, r1, r2 = p0 - ell_c[e, 0], p1 - ell_c[e, 1], p2 - ell_c[e, 2]
                u0 = ell_minv[e, 0, 0] * r0 + ell_minv[e, 0, 1] * r1 + ell_minv[e, 0, 2] * r2
                u1 = ell_minv[e, 1, 0] * r0 + ell_minv[e, 1, 1] * r1 + ell_minv[e, 1, 2] * r2
                u2 = ell_minv[e, 2, 0] * r0 + ell_minv[e, 2, 1] * r1 + ell_minv[e, 2, 2] * r2
                n0 = ell_minv[e, 0, 0] * u0 + ell_minv[e, 1, 0] * u1 + ell_minv[e, 2, 0] * u2
                n1 = ell_minv[e, 0, 1] * u0 + ell_minv[e, 1, 1] * u1 + ell_minv[e, 2, 1] * u2
                n2 = ell_minv[e, 0, 2] * u0 + ell_minv[e, 1, 2] * u1 + ell_minv[e, 2, 2] * u2
            norm = max(np.sqrt(n0 * n0 + n1 * n1 + n2 * n2), 1e-12)
            light_in = ambient + _lamp_light(p0, p1, p2, n0 / norm, n1 / norm, n2 / norm, light,
                                            diffuse, falloff_ref2)
            for i in range(3):
                rgb[y, x, i] = _srgb8(albedo[k, i] * light_in, lut)


# ---------------------------------------------------------------------------------------
# Shadows on the floor (model in :mod:`.shadow`).
@_jit
def floor_points(rows: np.ndarray, cols: np.ndarray, position: np.ndarray,
                 rotation: np.ndarray, focal: float, cx: float, cy: float,
                 out: np.ndarray) -> None:
    """Where the rays of pixels (rows x cols) meet the floor z = 0: out (rows * cols, 2).
    Rays that never reach it (level or rising) get a point far away, where nothing
    occludes."""
    i = 0
    for r in rows:
        dy = (r - cy) / focal
        for c in cols:
            dx = (c - cx) / focal
            d0 = dx * rotation[0, 0] + dy * rotation[1, 0] + rotation[2, 0]
            d1 = dx * rotation[0, 1] + dy * rotation[1, 1] + rotation[2, 1]
            d2 = dx * rotation[0, 2] + dy * rotation[1, 2] + rotation[2, 2]
            if d2 < -1e-9:
                t = -position[2] / d2
                out[i, 0] = position[0] + d0 * t
                out[i, 1] = position[1] + d1 * t
            else:
                out[i, 0] = 1e6
                out[i, 1] = 1e6
            i += 1


@_jit
def shadow_grid(p: np.ndarray, a: np.ndarray, b: np.ndarray, r: np.ndarray,
                proj: np.ndarray, near: np.ndarray, far: np.ndarray, direct: np.ndarray,
                ambient: np.ndarray) -> None:
    """Per floor point p[i] (x, y): the largest share of the lamp hidden by the casters'
    projections (``proj`` of :func:`shadow_casters`: radii rho and penumbrae sigma linear
    along each), and the largest share of the sky hidden by the ``near`` casters a-b
    (radius r).

    A caster is skipped where it cannot reach: beyond ``reach`` (rho + sigma) of its
    projected box, or beyond ``far`` (where its sky share is under the faint limit) of its
    floor box; both shares are exactly 0 or negligible there."""
    n = p.shape[0]
    direct[:] = 0.0
    ambient[:] = 0.0
    for k in range(proj.shape[0]):
        ax, ay, bx, by = proj[k, 0], proj[k, 1], proj[k, 2], proj[k, 3]
        rho_a, rho_b, sig_a, sig_b, reach = proj[k, 4], proj[k, 5], proj[k, 6], proj[k, 7], \
            proj[k, 8]
        ab0, ab1 = bx - ax, by - ay
        abab = max(ab0 * ab0 + ab1 * ab1, 1e-12)
        lo_x, hi_x = min(ax, bx) - reach, max(ax, bx) + reach
        lo_y, hi_y = min(ay, by) - reach, max(ay, by) + reach
        for i in range(n):
            px, py = p[i, 0], p[i, 1]
            if px < lo_x or px > hi_x or py < lo_y or py > hi_y:
                continue
            rx, ry = px - ax, py - ay
            t = min(max((rx * ab0 + ry * ab1) / abab, 0.0), 1.0)
            ex, ey = rx - t * ab0, ry - t * ab1
            d = np.sqrt(ex * ex + ey * ey)
            rho = rho_a + t * (rho_b - rho_a)
            sig = sig_a + t * (sig_b - sig_a)
            hidden = min((min(d + sig, rho) - max(d - sig, -rho)) / (2.0 * sig), 1.0)
            if hidden > direct[i]:
                direct[i] = hidden
    for k in range(a.shape[0]):
        if not near[k]:
            continue
        ax, ay, az = a[k, 0], a[k, 1], a[k, 2]
        ab0, ab1, ab2 = b[k, 0] - ax, b[k, 1] - ay, b[k, 2] - az
        l2 = max(ab0 * ab0 + ab1 * ab1 + ab2 * ab2, 1e-12)
        lo_x, hi_x = min(ax, b[k, 0]) - far[k], max(ax, b[k, 0]) + far[k]
        lo_y, hi_y = min(ay, b[k, 1]) - far[k], max(ay, b[k, 1]) + far[k]
        rr = r[k] * r[k]
        for i in range(n):
            px, py = p[i, 0], p[i, 1]
            if px < lo_x or px > hi_x or py < lo_y or py > hi_y:
                continue
            qx, qy, qz = px - ax, py - ay, -az
            s = min(max((qx * ab0 + qy * ab1 + qz * ab2) / l2, 0.0), 1.0)
            ex, ey = qx - s * ab0, qy - s * ab1
            height = max(az + s * ab2, 1e-3)
            dist2 = ex * ex + ey * ey + height * height
            f = min(rr * height / (dist2 * np.sqrt(dist2)), 1.0)
            if f > ambient[i]:
                ambient[i] = f


@_jit
def _interp_axis(samples: np.ndarray, start: int, count: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """For pixels start..start+count-1: the sample before each (index, at most n - 2) and
    the weight of the next (0..1); a single sample gets weight 0."""
    n = samples.shape[0]
    index = np.zeros(count, dtype=np.int64)
    weight = np.zeros(count)
    if n == 1:
        return index, weight
    i = 0
    for k in range(count):
        px = float(start + k)
        while i < n - 2 and samples[i + 1] <= px:
            i += 1
        index[k] = i
        weight[k] = min(max((px - samples[i]) / (samples[i + 1] - samples[i]), 0.0), 1.0)
    return index, weight


@_jit
def bilinear(grids: np.ndarray, rows: np.ndarray, cols: np.ndarray, x0: int, y0: int,
             out: np.ndarray) -> None:
    """out[k, y, x]: grid k sampled at pixel rows ``rows`` and columns ``cols`` (increasing,
    floats) interpolated bilinearly to pixel (y0 + y, x0 + x); clamped at the ends."""
    i, wy = _interp_axis(rows, y0, out.shape[1])
    j, wx = _interp_axis(cols, x0, out.shape[2])
    gh, gw = grids.shape[1], grids.shape[2]
    for k in range(grids.shape[0]):
        for y in range(out.shape[1]):
            i0 = i[y]
            i1 = min(i0 + 1, gh - 1)
            for x in range(out.shape[2]):
                j0 = j[x]
                j1 = min(j0 + 1, gw - 1)
                top = grids[k, i0, j0] + (grids[k, i1, j0] - grids[k, i0, j0]) * wy[y]
                bottom = grids[k, i0, j1] + (grids[k, i1, j1] - grids[k, i0, j1]) * wy[y]
                out[k, y, x] = top + (bottom - top) * wx[x]


@_jit
def floor_rect_pixels(lo_x: float, lo_y: float, hi_x: float, hi_y: float,
                      position: np.ndarray, rotation: np.ndarray, focal: float, cx: float,
                      cy: float, width: int, height: int, near: float
                      ) -> tuple[int, int, int, int]:
    """Pixel rectangle [x0, x1) x [y0, y1) of the floor rectangle lo..hi (x, y at z = 0),
    clipped to the image; the whole image if it reaches behind the camera, nothing if it
    lies wholly behind it."""
    u_lo, u_hi, v_lo, v_hi = np.inf, -np.inf, np.inf, -np.inf
    behind = 0
    for corner in range(4):
        px = (hi_x if corner & 1 else lo_x) - position[0]
        py = (hi_y if corner & 2 else lo_y) - position[1]
        pz = -position[2]
        c0 = rotation[0, 0] * px + rotation[0, 1] * py + rotation[0, 2] * pz
        c1 = rotation[1, 0] * px + rotation[1, 1] * py + rotation[1, 2] * pz
        c2 = rotation[2, 0] * px + rotation[2, 1] * py + rotation[2, 2] * pz
        if c2 <= near:
            behind += 1
            continue
        u, v = focal * c0 / c2 + cx, focal * c1 / c2 + cy
        u_lo, u_hi, v_lo, v_hi = min(u_lo, u), max(u_hi, u), min(v_lo, v), max(v_hi, v)
    if behind == 4:
        return 0, 0, 0, 0
    if behind:
        return 0, width, 0, height
    return (max(0, int(np.floor(u_lo))), min(width, int(np.ceil(u_hi)) + 1),
            max(0, int(np.floor(v_lo))), min(height, int(np.ceil(v_hi)) + 1))


@_jit
def floor_window(floor: np.ndarray, x0: int, x1: int, y0: int, y1: int
                 ) -> tuple[int, int, int, int]:
    """The smallest rectangle inside [x0, x1) x [y0, y1) holding every ``floor`` pixel of
    it (all 0 if it holds none)."""
    rx0, rx1, ry0, ry1 = x1, x0, y1, y0
    for y in range(y0, y1):
        for x in range(x0, x1):
            if floor[y, x]:
                rx0, rx1 = min(rx0, x), max(rx1, x + 1)
                ry0, ry1 = min(ry0, y), max(ry1, y + 1)
    if rx1 <= rx0:
        return 0, 0, 0, 0
    return rx0, rx1, ry0, ry1


@_jit
def shadow_casters(cap_a: np.ndarray, cap_b: np.ndarray, cap_r: np.ndarray,
                   ell_c: np.ndarray, ell_m: np.ndarray, light: np.ndarray,
                   lamp_radius: float, min_penumbra: float, clearance: float, faint: float,
                   a: np.ndarray, b: np.ndarray, r: np.ndarray, proj: np.ndarray,
                   near: np.ndarray, far: np.ndarray) -> tuple[float, float, float, float]:
    """One frame's primitives as shadow casters (the model of :mod:`.shadow`).

    Capsules are kept and each ellipsoid becomes the capsule along its longest semi-axis
    with the mean of the other two as radius: ``a``, ``b``, ``r``. Per caster, ``proj``
    holds its ends seen from the lamp's centre on the floor (pa x, pa y, pb x, pb y), their
    shadow radii rho_a, rho_b, penumbrae sigma_a, sigma_b and ``reach`` = max(rho + sigma);
    ``near`` says whether it is low enough to hide a visible share of the sky and ``far``
    how far from its floor box that share stays above ``faint``. Returns the floor box
    (lo x, lo y, hi x, hi y) everything reaches.
    """
    nc = cap_r.shape[0]
    for k in range(nc):
        for d in range(3):
            a[k, d], b[k, d] = cap_a[k, d], cap_b[k, d]
        r[k] = cap_r[k]
    for e in range(ell_c.shape[0]):
        lens = np.empty(3)
        for col in range(3):
            lens[col] = np.sqrt(ell_m[e, 0, col] ** 2 + ell_m[e, 1, col] ** 2
                                + ell_m[e, 2, col] ** 2)
        longest_axis = np.argmax(lens)
        longest = lens[longest_axis]
        radius = (lens[0] + lens[1] + lens[2] - longest) / 2.0
        half = max(longest - radius, 0.0) / max(longest, 1e-12)
        for d in range(3):
            step = half * ell_m[e, d, longest_axis]
            a[nc + e, d] = ell_c[e, d] - step
            b[nc + e, d] = ell_c[e, d] + step
        r[nc + e] = radius
    top = light[2]
    lo_x, lo_y, hi_x, hi_y = np.inf, np.inf, -np.inf, -np.inf
    for k in range(r.shape[0]):
        ha = min(max(a[k, 2], 0.0), top - clearance)
        hb = min(max(b[k, 2], 0.0), top - clearance)
        ma, mb = top / (top - ha), top / (top - hb)
        proj[k, 0] = light[0] + (a[k, 0] - light[0]) * ma
        proj[k, 1] = light[1] + (a[k, 1] - light[1]) * ma
        proj[k, 2] = light[0] + (b[k, 0] - light[0]) * mb
        proj[k, 3] = light[1] + (b[k, 1] - light[1]) * mb
        proj[k, 4], proj[k, 5] = r[k] * ma, r[k] * mb
        proj[k, 6] = max(lamp_radius * ha / (top - ha), min_penumbra)
        proj[k, 7] = max(lamp_radius * hb / (top - hb), min_penumbra)
        reach = max(proj[k, 4] + proj[k, 6], proj[k, 5] + proj[k, 7])
        proj[k, 8] = reach
        lo_x = min(lo_x, min(proj[k, 0], proj[k, 2]) - reach)
        hi_x = max(hi_x, max(proj[k, 0], proj[k, 2]) + reach)
        lo_y = min(lo_y, min(proj[k, 1], proj[k, 3]) - reach)
        hi_y = max(hi_y, max(proj[k, 1], proj[k, 3]) + reach)
        z_lo = max(min(a[k, 2], b[k, 2]), 1e-3)
        z_hi = max(max(a[k, 2], b[k, 2]), 1e-3)
        near[k] = r[k] * r[k] / (z_lo * z_lo) >= faint
        far[k] = 0.0
        if near[k]:
            far[k] = np.cbrt(r[k] ** 2 * z_hi / faint)  # the share < faint beyond this
            lo_x = min(lo_x, min(a[k, 0], b[k, 0]) - far[k])
            hi_x = max(hi_x, max(a[k, 0], b[k, 0]) + far[k])
            lo_y = min(lo_y, min(a[k, 1], b[k, 1]) - far[k])
            hi_y = max(hi_y, max(a[k, 1], b[k, 1]) + far[k])
    return lo_x, lo_y, hi_x, hi_y


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


# ---------------------------------------------------------------------------------------
# Furniture's darkening of the floor, once per job (model in :mod:`.shadow`).
@_jit
def _corner_factor(x: float, y: float) -> float:
    """Form factor from a floor point to the rectangle [0, x] x [0, y] one unit above it
    (signed: odd in x and in y, so rectangles add up from their corners)."""
    sx, sy = np.sqrt(1.0 + x * x), np.sqrt(1.0 + y * y)
    return (x / sx * np.arctan(y / sx) + y / sy * np.arctan(x / sy)) / (2.0 * np.pi)


@_jit
def furniture_fields(p: np.ndarray, needed: np.ndarray, standing: np.ndarray,
                     raised: np.ndarray, slices: np.ndarray, sky: np.ndarray,
                     lamp: np.ndarray) -> None:
    """Per floor point p[i] with needed[i] (others get 0): ``sky``, the largest share of the
    sky hidden by a box standing on the floor (rows of ``standing``: lo x, lo y, hi x, hi y,
    height) or by the underside of a raised box (rows of ``raised``: lo x, lo y, hi x, hi y,
    bottom height); ``lamp``, the largest share of the square lamp hidden by a box slice's
    shadow rectangle (rows of ``slices``: lo x, lo y, hi x, hi y, penumbra sigma)."""
    for i in range(p.shape[0]):
        sky[i] = 0.0
        lamp[i] = 0.0
        if not needed[i]:
            continue
        px, py = p[i, 0], p[i, 1]
        best = 0.0
        for b in range(standing.shape[0]):
            lx, ly, hx, hy, height = (standing[b, 0], standing[b, 1], standing[b, 2],
                                      standing[b, 3], standing[b, 4])
            gx = max(max(lx - px, px - hx), 0.0)
            gy = max(max(ly - py, py - hy), 0.0)
            d = np.sqrt(gx * gx + gy * gy)
            wall = 0.5 * (1.0 - d / np.sqrt(d * d + height * height))
            if wall <= best:  # theta <= pi: this box cannot raise the maximum
                continue
            theta = np.pi
            if d > 0.0:
                # The spread of the corners' bearings, measured from the bearing of the
                # footprint's centre (which lies inside it, so nothing wraps round).
                cx, cy = (lx + hx) / 2 - px, (ly + hy) / 2 - py
                lo_b, hi_b = np.inf, -np.inf
                for corner in range(4):
                    vx = (hx if corner & 1 else lx) - px
                    vy = (hy if corner & 2 else ly) - py
                    bearing = np.arctan2(cx * vy - cy * vx, cx * vx + cy * vy)
                    lo_b, hi_b = min(lo_b, bearing), max(hi_b, bearing)
                theta = hi_b - lo_b
            best = max(best, wall * theta / np.pi)
        for b in range(raised.shape[0]):
            c = raised[b, 4]
            # Bound: every point of the underside is at least the footprint's distance g
            # away, so the form factor (1/pi) int c^2 / (c^2 + rho^2)^2 dA is at most this.
            gx = max(max(raised[b, 0] - px, px - raised[b, 2]), 0.0)
            gy = max(max(raised[b, 1] - py, py - raised[b, 3]), 0.0)
            area = (raised[b, 2] - raised[b, 0]) * (raised[b, 3] - raised[b, 1])
            if area * c * c / (np.pi * (c * c + gx * gx + gy * gy) ** 2) <= best:
                continue
            x0, x1 = (raised[b, 0] - px) / c, (raised[b, 2] - px) / c
            y0, y1 = (raised[b, 1] - py) / c, (raised[b, 3] - py) / c
            f = (_corner_factor(x1, y1) - _corner_factor(x0, y1) - _corner_factor(x1, y0)
                 + _corner_factor(x0, y0))
            best = max(best, f)
        sky[i] = best
        best = 0.0
        for s in range(slices.shape[0]):
            sig = slices[s, 4]
            ox = min(px + sig, slices[s, 2]) - max(px - sig, slices[s, 0])
            if ox <= 0.0:
                continue
            oy = min(py + sig, slices[s, 3]) - max(py - sig, slices[s, 1])
            if oy <= 0.0:
                continue
            hidden = min(ox / (2.0 * sig), 1.0) * min(oy / (2.0 * sig), 1.0)
            best = max(best, hidden)
        lamp[i] = best


# ---------------------------------------------------------------------------------------
# The room, once per job.
@_jit
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


@_jit
def shade_room(albedo: np.ndarray, normal: np.ndarray, points: np.ndarray,
               floor: np.ndarray, sky_hidden: np.ndarray, lamp_hidden: np.ndarray,
               light: np.ndarray, ambient: float, diffuse: float, falloff_ref2: float,
               lut: np.ndarray, rgb: np.ndarray, linear: np.ndarray,
               direct_share: np.ndarray) -> None:
    """The room's pixels (flattened): linear ``albedo`` lit by ambient plus the
    lamp (:func:`_lamp_light`; unit ``normal``), quantised to 8-bit sRGB in ``rgb``. Floor
    pixels lose the shares of the sky and of the lamp that furniture hides, and keep their
    linear radiance (``linear``) and the lamp's share of their light (``direct_share``) for
    the person's shadow; elsewhere those two are 0."""
    for i in range(albedo.shape[0]):
        direct = _lamp_light(points[i, 0], points[i, 1], points[i, 2], normal[i, 0],
                            normal[i, 1], normal[i, 2], light, diffuse, falloff_ref2)
        sky = ambient
        if floor[i]:
            direct *= 1.0 - lamp_hidden[i]
            sky *= 1.0 - sky_hidden[i]
        total = sky + direct
        for c in range(3):
            lin = albedo[i, c] * total
            rgb[i, c] = _srgb8(lin, lut)
            linear[i, c] = lin if floor[i] else 0.0
        direct_share[i] = direct / total if floor[i] and total > 0.0 else 0.0


@_jit
def draw_body(body_depth: np.ndarray, body_rgb: np.ndarray, room_depth: np.ndarray,
              x0: int, y0: int, rgb: np.ndarray, inst: np.ndarray, person: int,
              visible: np.ndarray) -> None:
    """The per-pixel depth test of the body (its rectangle at (x0, y0)) against the room:
    where the body is nearer, ``visible`` is set and the frame's ``rgb`` and ``inst``
    (whole images) take the body's colour and the ``person`` index."""
    for y in range(body_depth.shape[0]):
        for x in range(body_depth.shape[1]):
            seen = body_depth[y, x] < room_depth[y0 + y, x0 + x]
            visible[y, x] = seen
            if seen:
                for c in range(3):
                    rgb[y0 + y, x0 + x, c] = body_rgb[y, x, c]
                inst[y0 + y, x0 + x] = person


@_jit
def channel_sums(rgb: np.ndarray, x0: int, y0: int, visible: np.ndarray, frame: np.ndarray,
                 body: np.ndarray) -> int:
    """Per-channel sums of the whole frame (``frame``) and of its visible body pixels
    (``body``; ``visible`` over the rectangle at (x0, y0)); returns the body pixel count."""
    h, w = rgb.shape[0], rgb.shape[1]
    frame[:] = 0
    body[:] = 0
    for y in range(h):
        for x in range(w):
            for c in range(3):
                frame[c] += rgb[y, x, c]
    count = 0
    for y in range(visible.shape[0]):
        for x in range(visible.shape[1]):
            if visible[y, x]:
                count += 1
                for c in range(3):
                    body[c] += rgb[y0 + y, x0 + x, c]
    return count
