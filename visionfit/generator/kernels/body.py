"""The body's kernels: ray casts of capsules and ellipsoids, shading, drawing over the room
and the frame's colour sums. Rays are (dx, dy, 1) from the camera, so a ray's parameter is
the depth z."""

from __future__ import annotations

import numpy as np

from .cache import jit

__all__ = ["cast_primitives", "channel_sums", "draw_body", "lamp_light", "shade_hits",
           "srgb8"]


@jit
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


@jit
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


@jit
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


@jit
def srgb8(lin: float, lut: np.ndarray) -> np.uint8:
    idx = lin * 4095.0 + 0.5
    idx = min(max(idx, 0.0), 4095.0)
    return lut[int(idx)]


@jit
def lamp_light(p0: float, p1: float, p2: float, n0: float, n1: float, n2: float,
               light: np.ndarray, diffuse: float, falloff_ref2: float) -> float:
    """The lamp's direct light at point p with unit normal n: Lambert's cosine, no fall-off
    within ``falloff_ref2`` (squared metres) of the lamp and inverse-square beyond; the
    scene's light is ``ambient`` (a constant) plus this, both scaled by lighting_power/100."""
    t0, t1, t2 = light[0] - p0, light[1] - p1, light[2] - p2
    d2 = t0 * t0 + t1 * t1 + t2 * t2
    cos = max(n0 * t0 + n1 * t1 + n2 * t2, 0.0) / np.sqrt(d2)
    return diffuse * cos * min(1.0, falloff_ref2 / d2)


@jit
def shade_hits(dx: np.ndarray, dy: np.ndarray, depth: np.ndarray, pid: np.ndarray,
               cap_a: np.ndarray, cap_b: np.ndarray, ell_c: np.ndarray, ell_minv: np.ndarray,
               albedo: np.ndarray, light: np.ndarray, ambient: float, diffuse: float,
               falloff_ref2: float, lut: np.ndarray, rgb: np.ndarray) -> None:
    """8-bit sRGB of every hit pixel (pid >= 0): the unit normal of primitive pid at the hit
    point, diffuse light from the point lamp ``light`` (:func:`lamp_light`) plus ambient,
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
            light_in = ambient + lamp_light(p0, p1, p2, n0 / norm, n1 / norm, n2 / norm, light,
                                            diffuse, falloff_ref2)
            for i in range(3):
                rgb[y, x, i] = srgb8(albedo[k, i] * light_in, lut)




@jit
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


@jit
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
