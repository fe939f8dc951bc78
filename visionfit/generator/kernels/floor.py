"""Kernels for the floor's darkening (model in :mod:`..shadow`): the person's shadow per
frame and the furniture's once per job, on coarse grids of floor points interpolated to
pixels."""

from __future__ import annotations

import numpy as np

from .body import srgb8
from .cache import jit

__all__ = ["bilinear", "darken_floor", "floor_points", "floor_rect_pixels", "floor_window",
           "furniture_fields", "shadow_casters", "shadow_grid"]


@jit
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


@jit
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


@jit
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


@jit
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


@jit
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


@jit
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


@jit
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


@jit
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
                    rgb[y0 + y, x0 + x, c] = srgb8(linear[y0 + y, x0 + x, c] * keep, lut)




@jit
def _corner_factor(x: float, y: float) -> float:
    """Form factor from a floor point to the rectangle [0, x] x [0, y] one unit above it
    (signed: odd in x and in y, so rectangles add up from their corners)."""
    sx, sy = np.sqrt(1.0 + x * x), np.sqrt(1.0 + y * y)
    return (x / sx * np.arctan(y / sx) + y / sy * np.arctan(x / sy)) / (2.0 * np.pi)


@jit
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


