"""The renderer: exact per-pixel ray casting in NumPy.

The camera does not move during a job, so the room, furniture and wall art are cast once
into colour, depth and instance buffers (:func:`render_static`). Each frame then casts
only the body's capsules and ellipsoids, each inside its own screen rectangle
(:func:`render_body`), and the frame is the per-pixel depth test of the two, over the room
darkened by the person's shadow (:func:`shadowed_room`, model in :mod:`.shadow`). Every ray is
``(dx, dy, 1)`` in camera coordinates, so a ray's parameter is the depth z itself; masks,
occlusion figures and keypoint visibility all come from these same depth buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Primitives
from .camera import NEAR, Camera
from .scene import FRONT_Y, Room, art_albedo, floor_albedo, wall_albedo
from .shadow import body_shadow, furniture_occlusion

__all__ = [
    "BodyLayer",
    "StaticLayer",
    "body_coverage",
    "instance_depths",
    "irradiance",
    "linear_to_srgb8",
    "render_body",
    "render_static",
    "shadowed_room",
    "srgb_to_linear",
]

_AMBIENT = 0.28
_DIFFUSE = 0.85
_FALLOFF_REF2 = 6.0  # squared distance (m^2) inside which the light does not fall off
_LUT = np.round(255.0 * np.where(
    np.linspace(0, 1, 4096) <= 0.0031308, 12.92 * np.linspace(0, 1, 4096),
    1.055 * np.linspace(0, 1, 4096) ** (1 / 2.4) - 0.055)).clip(0, 255).astype(np.uint8)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb8(lin: np.ndarray) -> np.ndarray:
    """Linear radiance (clipped to 0..1) to 8-bit sRGB through a lookup table."""
    idx = np.clip(lin * 4095.0 + 0.5, 0, 4095).astype(np.int32)
    return _LUT[idx]


def _irradiance_parts(normal: np.ndarray, points: np.ndarray, light: np.ndarray, power: float
                      ) -> tuple[float, np.ndarray]:
    """:func:`irradiance` split into its ambient (scalar) and direct (per point) terms; the
    floor needs them apart, since a shadow hides a different share of each."""
    to = light - points
    d2 = np.einsum("ij,ij->i", to, to)
    cos = np.maximum(np.einsum("ij,ij->i", normal, to), 0.0) / np.sqrt(d2)
    scale = power / 100.0
    return scale * _AMBIENT, scale * _DIFFUSE * cos * np.minimum(1.0, _FALLOFF_REF2 / d2)


def irradiance(normal: np.ndarray, points: np.ndarray, light: np.ndarray, power: float
               ) -> np.ndarray:
    """Diffuse light from a point source plus ambient, scaled by ``lighting_power``/100."""
    ambient, direct = _irradiance_parts(normal, points, light, power)
    return ambient + direct


# ---------------------------------------------------------------------------------------
# Screen rectangles.
def _project_rects(cam: Camera, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Pixel bounds (P, 4: x0, x1, y0, y1 as floats) of camera-space boxes.

    Boxes reaching in front of the near plane get infinite bounds; boxes entirely behind
    it get an empty rectangle.
    """
    n = len(lo)
    out = np.empty((n, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.stack([lo[:, 2], hi[:, 2]], axis=1)
        xs = cam.focal * np.stack([lo[:, 0], hi[:, 0]], axis=1)[:, :, None] / zs[:, None, :]
        ys = cam.focal * np.stack([lo[:, 1], hi[:, 1]], axis=1)[:, :, None] / zs[:, None, :]
    out[:, 0] = xs.reshape(n, -1).min(axis=1) + cam.cx
    out[:, 1] = xs.reshape(n, -1).max(axis=1) + cam.cx
    out[:, 2] = ys.reshape(n, -1).min(axis=1) + cam.cy
    out[:, 3] = ys.reshape(n, -1).max(axis=1) + cam.cy
    straddle = lo[:, 2] <= NEAR
    out[straddle] = (-np.inf, np.inf, -np.inf, np.inf)
    behind = hi[:, 2] <= NEAR
    out[behind] = (0.0, -1.0, 0.0, -1.0)
    return out


def _pixel_range(rect: np.ndarray, limit: tuple[int, int, int, int]) -> tuple[int, int, int,
                                                                             int]:
    """Integer pixel range [x0, x1) x [y0, y1) of pixel centres inside ``rect``, clipped."""
    lx0, lx1, ly0, ly1 = limit
    x0 = int(max(lx0, np.ceil(max(rect[0], -1e9))))
    x1 = int(min(lx1, np.floor(min(rect[1], 1e9)) + 1))
    y0 = int(max(ly0, np.ceil(max(rect[2], -1e9))))
    y1 = int(min(ly1, np.floor(min(rect[3], 1e9)) + 1))
    return x0, x1, y0, y1


# ---------------------------------------------------------------------------------------
# Ray casts in camera space from the origin; dx (w,), dy (h,) -> depth (h, w), inf = miss.
def _cast_capsule(dx: np.ndarray, dy: np.ndarray, a: np.ndarray, b: np.ndarray, r: float
                  ) -> np.ndarray:
    """Nearest front hit of rays (dx, dy, 1) with the capsule a-b of radius r.

    The capsule is a finite cylinder and two end spheres; its first hit is the nearest of
    the cylinder's lateral hit (if it falls between the ends) and the two sphere hits.
    """
    ba = b - a
    baba = ba @ ba
    dd = (dx * dx)[None, :] + (dy * dy)[:, None] + 1.0
    da = (a[0] * dx)[None, :] + (a[1] * dy)[:, None] + a[2]  # d . a
    db = (b[0] * dx)[None, :] + (b[1] * dy)[:, None] + b[2]  # d . b
    inf = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        # Spheres: |t d - c|^2 = r^2, first root.
        ca = a @ a - r * r
        cb = b @ b - r * r
        ha = da * da - dd * ca
        hb = db * db - dd * cb
        ta = (da - np.sqrt(ha)) / dd
        tb = (db - np.sqrt(hb)) / dd
        t = np.where((ha >= 0) & (ta > NEAR), ta, inf)
        t = np.minimum(t, np.where((hb >= 0) & (tb > NEAR), tb, inf))
        if baba > 1e-12:
            bard = db - da  # ba . d
            baoa = -(ba @ a)  # ba . (o - a), o = 0
            rdoa = -da  # d . (o - a)
            qa = baba * dd - bard * bard
            qb = baba * rdoa - baoa * bard
            qc = baba * (a @ a) - baoa * baoa - r * r * baba
            h = qb * qb - qa * qc
            tc = (-qb - np.sqrt(h)) / qa
            y = baoa + tc * bard
            ok = (h >= 0) & (qa > 1e-12) & (y > 0) & (y < baba) & (tc > NEAR)
            t = np.minimum(t, np.where(ok, tc, inf))
    return t


def _cast_ellipsoid(dx: np.ndarray, dy: np.ndarray, c: np.ndarray, minv: np.ndarray
                    ) -> np.ndarray:
    """Nearest front hit with the ellipsoid {c + M u : |u| = 1}; minv = M^-1."""
    o = minv @ (-c)
    d0 = minv[0, 0] * dx[None, :] + minv[0, 1] * dy[:, None] + minv[0, 2]
    d1 = minv[1, 0] * dx[None, :] + minv[1, 1] * dy[:, None] + minv[1, 2]
    d2 = minv[2, 0] * dx[None, :] + minv[2, 1] * dy[:, None] + minv[2, 2]
    qa = d0 * d0 + d1 * d1 + d2 * d2
    qb = o[0] * d0 + o[1] * d1 + o[2] * d2
    qc = o @ o - 1.0
    h = qb * qb - qa * qc
    with np.errstate(invalid="ignore"):
        t = (-qb - np.sqrt(h)) / qa
    return np.where((h >= 0) & (t > NEAR), t, np.inf)


@dataclass
class _BodyPrims:
    """One frame's primitives in camera space, flattened for casting."""

    cap_a: np.ndarray
    cap_b: np.ndarray
    cap_r: np.ndarray
    ell_c: np.ndarray
    ell_minv: np.ndarray
    rgb: np.ndarray  # (P, 3) linear albedo, capsules first
    lo: np.ndarray  # (P, 3) camera-space bounds
    hi: np.ndarray

    @classmethod
    def of(cls, prims: Primitives) -> _BodyPrims:
        a, b, r = prims.cap_a[0], prims.cap_b[0], prims.cap_r
        c, m = prims.ell_c[0], prims.ell_m[0]
        half = np.linalg.norm(m, axis=2)
        lo = np.concatenate([np.minimum(a, b) - r[:, None], c - half])
        hi = np.concatenate([np.maximum(a, b) + r[:, None], c + half])
        return cls(a, b, r, c, np.linalg.inv(m), np.concatenate([prims.cap_rgb, prims.ell_rgb]),
                   lo, hi)

    @property
    def count(self) -> int:
        return len(self.rgb)

    def cast(self, k: int, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        nc = len(self.cap_r)
        if k < nc:
            return _cast_capsule(dx, dy, self.cap_a[k], self.cap_b[k], float(self.cap_r[k]))
        return _cast_ellipsoid(dx, dy, self.ell_c[k - nc], self.ell_minv[k - nc])

    def normals(self, pid: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Unit surface normals at hit points p (n,3) of primitives pid (n,)."""
        nc = len(self.cap_r)
        n = np.empty_like(p)
        cap = pid < nc
        if cap.any():
            k = pid[cap]
            a, ba = self.cap_a[k], self.cap_b[k] - self.cap_a[k]
            pa = p[cap] - a
            baba = np.maximum(np.einsum("ij,ij->i", ba, ba), 1e-12)
            q = np.clip(np.einsum("ij,ij->i", pa, ba) / baba, 0.0, 1.0)
            n[cap] = pa - q[:, None] * ba
        if (~cap).any():
            k = pid[~cap] - nc
            minv = self.ell_minv[k]
            u = np.einsum("nij,nj->ni", minv, p[~cap] - self.ell_c[k])
            n[~cap] = np.einsum("nji,nj->ni", minv, u)
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


@dataclass
class BodyLayer:
    """The body cast into the rectangle [x0, x1) x [y0, y1) of the image."""

    x0: int
    x1: int
    y0: int
    y1: int
    depth: np.ndarray  # (h, w) camera z, inf where the body is not hit
    pid: np.ndarray  # (h, w) primitive index, -1 where not hit
    rgb: np.ndarray | None  # (h, w, 3) uint8 shaded colour
    in_fov_pct: float  # share of the body's whole silhouette that lies inside the image

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def render_body(cam: Camera, prims_cam: Primitives, light_cam: np.ndarray, power: float,
                shade: bool = True, fov: bool = True) -> BodyLayer:
    """Cast one frame's body (primitives in camera coordinates) into its screen rectangle."""
    bp = _BodyPrims.of(prims_cam)
    rects = _project_rects(cam, bp.lo, bp.hi)
    image = (0, cam.width, 0, cam.height)
    ranges = [_pixel_range(r, image) for r in rects]
    live = [k for k, (x0, x1, y0, y1) in enumerate(ranges) if x1 > x0 and y1 > y0]
    if live:
        ux0 = min(ranges[k][0] for k in live)
        ux1 = max(ranges[k][1] for k in live)
        uy0 = min(ranges[k][2] for k in live)
        uy1 = max(ranges[k][3] for k in live)
    else:
        ux0 = ux1 = uy0 = uy1 = 0
    h, w = uy1 - uy0, ux1 - ux0
    depth = np.full((h, w), np.inf)
    pid = np.full((h, w), -1, dtype=np.int16)
    for k in live:
        x0, x1, y0, y1 = ranges[k]
        dx, dy = cam.ray_steps(x0, x1, y0, y1)
        t = bp.cast(k, dx, dy)
        sub = depth[y0 - uy0:y1 - uy0, x0 - ux0:x1 - ux0]
        closer = t < sub
        sub[closer] = t[closer]
        pid[y0 - uy0:y1 - uy0, x0 - ux0:x1 - ux0][closer] = k

    rgb = None
    if shade:
        rgb = np.zeros((h, w, 3), dtype=np.uint8)
        rows, cols = np.nonzero(pid >= 0)
        if len(rows):
            z = depth[rows, cols]
            dx, dy = cam.ray_steps(ux0, ux1, uy0, uy1)
            p = np.stack([dx[cols] * z, dy[rows] * z, z], axis=1)
            k = pid[rows, cols].astype(np.intp)
            normal = bp.normals(k, p)
            e = irradiance(normal, p, light_cam, power)
            rgb[rows, cols] = linear_to_srgb8(bp.rgb[k] * e[:, None])
    in_fov = 100.0
    if fov:
        inside = int(np.count_nonzero(pid >= 0))
        outside = _outside_coverage(cam, bp, rects)
        in_fov = 100.0 * inside / (inside + outside) if inside + outside > 0 else 0.0
    return BodyLayer(ux0, ux1, uy0, uy1, depth, pid, rgb, in_fov)


def _outside_coverage(cam: Camera, bp: _BodyPrims, rects: np.ndarray) -> float:
    """Estimated silhouette pixels outside the image (strided cast on an extended canvas).

    Only a body that reaches past the image edge pays for this; the canvas is limited to two
    image sizes beyond each edge.
    """
    W, H = cam.width, cam.height
    limit = (-2 * W, 3 * W, -2 * H, 3 * H)
    ranges = [_pixel_range(r, limit) for r in rects]
    live = [k for k, (x0, x1, y0, y1) in enumerate(ranges) if x1 > x0 and y1 > y0]
    if not live:
        return 0.0
    ux0 = min(ranges[k][0] for k in live)
    ux1 = max(ranges[k][1] for k in live)
    uy0 = min(ranges[k][2] for k in live)
    uy1 = max(ranges[k][3] for k in live)
    if ux0 >= 0 and uy0 >= 0 and ux1 <= W and uy1 <= H:
        return 0.0
    area = (ux1 - ux0) * (uy1 - uy0)
    stride = max(1, int(np.ceil(np.sqrt(area / (W * H / 4.0)))))
    dx, dy = cam.ray_steps(ux0, ux1, uy0, uy1, stride)
    cols = np.arange(ux0, ux1, stride)
    rows = np.arange(uy0, uy1, stride)
    covered = np.zeros((len(rows), len(cols)), dtype=bool)
    for k in live:
        x0, x1, y0, y1 = ranges[k]
        c0, c1 = np.searchsorted(cols, [x0, x1])
        r0, r1 = np.searchsorted(rows, [y0, y1])
        if c1 > c0 and r1 > r0:
            covered[r0:r1, c0:c1] |= np.isfinite(bp.cast(k, dx[c0:c1], dy[r0:r1]))
    out = ~(((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))[None, :])
    return float(np.count_nonzero(covered & out)) * stride * stride


def body_coverage(cam: Camera, prims_cam: Primitives) -> np.ndarray:
    """Full-image body depth (H, W), inf where not hit: for low-resolution estimates."""
    layer = render_body(cam, prims_cam, np.zeros(3), 0.0, shade=False, fov=False)
    depth = np.full((cam.height, cam.width), np.inf)
    depth[layer.slices] = layer.depth
    return depth


# ---------------------------------------------------------------------------------------
@dataclass
class StaticLayer:
    """The room as the camera sees it, without the person."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 camera z
    inst: np.ndarray  # (H, W) uint8 palette index (0: room)
    alone_pixels: dict[int, int]  # instance -> pixels it covers when drawn on its own
    in_fov_pct: dict[int, float]  # instance -> share of its silhouette inside the image
    floor: np.ndarray  # (H, W) bool: the pixel shows the floor
    linear: np.ndarray  # (H, W, 3) float32 linear radiance before quantising (floor only)
    direct_share: np.ndarray  # (H, W) float32 share of the floor's light that is the lamp's


def _world_dirs(cam: Camera, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """World directions (h, w, 3) of camera rays (dx, dy, 1); their parameter is depth."""
    r = cam.rotation
    return dx[None, :, None] * r[0] + dy[:, None, None] * r[1] + r[2]


def _cast_box(o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Slab test: entry depth (inf = miss) and entry axis of rays o + t d with a box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (lo - o) * inv
        t2 = (hi - o) * inv
    tmin = np.fmin(t1, t2)
    tmax = np.fmax(t1, t2)
    axis = np.argmax(tmin, axis=-1)
    tnear = np.take_along_axis(tmin, axis[..., None], axis=-1)[..., 0]
    tfar = tmax.min(axis=-1)
    hit = (tnear <= tfar) & (tnear > NEAR)
    return np.where(hit, tnear, np.inf), axis


def render_static(cam: Camera, room: Room, power: float) -> StaticLayer:
    W, H = cam.width, cam.height
    scene = room.scene
    o = cam.position
    dx, dy = cam.ray_steps(0, W, 0, H)
    d = _world_dirs(cam, dx, dy)
    hw = room.half_width
    # Room shell: the ray leaves the (convex) room through the nearest plane ahead of it.
    planes = [(2, 0.0, -1), (2, scene.height, 1), (1, scene.depth, 1), (1, FRONT_Y, -1),
              (0, -hw, -1), (0, hw, 1)]  # (axis, position, direction sign that reaches it)
    ts = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis, pos, sign in planes:
            comp = d[..., axis]
            t = (pos - o[axis]) / comp
            ts.append(np.where(comp * sign > 0, t, np.inf))
    ts = np.stack(ts)
    surface = np.argmin(ts, axis=0).astype(np.int32)
    depth = np.take_along_axis(ts, surface[None], axis=0)[0]
    box_axis = np.zeros((H, W), dtype=np.int8)
    inst = np.zeros((H, W), dtype=np.uint8)
    alone: dict[int, np.ndarray] = {}

    lo = np.array([b.lo for b in room.boxes]).reshape(-1, 3)
    hi = np.array([b.hi for b in room.boxes]).reshape(-1, 3)
    rects = _box_rects(cam, lo, hi)
    for i, box in enumerate(room.boxes):
        x0, x1, y0, y1 = _pixel_range(rects[i], (0, W, 0, H))
        if x1 <= x0 or y1 <= y0:
            alone.setdefault(box.instance, np.zeros((H, W), dtype=bool))
            continue
        t, axis = _cast_box(o, d[y0:y1, x0:x1], box.lo, box.hi)
        cover = alone.setdefault(box.instance, np.zeros((H, W), dtype=bool))
        cover[y0:y1, x0:x1] |= np.isfinite(t)
        sub = depth[y0:y1, x0:x1]
        closer = t < sub
        sub[closer] = t[closer]
        surface[y0:y1, x0:x1][closer] = len(planes) + i
        box_axis[y0:y1, x0:x1][closer] = axis[closer]
        inst[y0:y1, x0:x1][closer] = box.instance

    # Shading: albedo per surface, diffuse light from the room's lamp.
    p = o + d * depth[..., None]
    normal = np.zeros((H, W, 3))
    albedo = np.zeros((H, W, 3))
    for s in np.unique(surface):
        m = surface == s
        pts = p[m]
        if s < len(planes):
            axis, _pos, sign = planes[s]
            normal[m, axis] = -sign
            if axis == 2:
                albedo[m] = floor_albedo(scene, pts) if s == 0 else scene.ceiling_rgb
            else:
                along = pts[:, 0] if axis == 1 else pts[:, 1]
                albedo[m] = wall_albedo(scene, pts, along, back=(s == 2))
        else:
            box = room.boxes[s - len(planes)]
            ax = box_axis[m]
            dsign = np.take_along_axis(d[m], ax[:, None].astype(np.intp), axis=1)[:, 0]
            nrm = np.zeros_like(pts)
            nrm[np.arange(len(pts)), ax] = -np.sign(dsign)
            normal[m] = nrm
            albedo[m] = box.rgb
            if box.art is not None:
                a = box.art.facing  # wall normal axis: 1 back wall, 0 side wall
                front = ax == a
                across = 0 if a == 1 else 1
                u = (pts[:, across] - box.lo[across]) / (box.hi[across] - box.lo[across])
                v = (pts[:, 2] - box.lo[2]) / (box.hi[2] - box.lo[2])
                col = albedo[m]
                col[front] = art_albedo(box.art, u[front], v[front])
                albedo[m] = col
    ambient, direct = _irradiance_parts(normal.reshape(-1, 3), p.reshape(-1, 3), room.light,
                                        power)
    floor = surface == 0
    # Furniture hides part of the sky and of the lamp from the floor around it.
    sky_hidden, lamp_hidden = furniture_occlusion(cam, room.boxes, room.light)
    direct = direct * np.where(floor, 1.0 - lamp_hidden, 1.0).reshape(-1)
    flat = ambient * np.where(floor, 1.0 - sky_hidden, 1.0).reshape(-1) + direct
    linear = srgb_to_linear(albedo) * flat.reshape(H, W)[..., None]
    rgb = linear_to_srgb8(linear)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(flat > 0.0, direct / flat, 0.0).reshape(H, W)
    fov = {k: _box_fov(cam, room, k, int(v.sum())) for k, v in alone.items()}
    return StaticLayer(rgb, depth.astype(np.float32), inst,
                       {k: int(v.sum()) for k, v in alone.items()}, fov, floor,
                       np.where(floor[..., None], linear, 0.0).astype(np.float32),
                       np.where(floor, share, 0.0).astype(np.float32))


def shadowed_room(st: StaticLayer, cam: Camera, prims_world: Primitives, light: np.ndarray
                  ) -> np.ndarray:
    """A copy of the room's colour with the person's shadow on the floor (one frame).

    Only floor pixels inside the shadow's screen rectangle are touched: their linear radiance
    loses the hidden shares of the lamp and of the sky (see :mod:`.shadow`).
    """
    rgb = st.rgb.copy()
    shadow = body_shadow(cam, prims_world, light, st.floor)
    if shadow is None:
        return rgb
    ys, xs = shadow.slices
    share = st.direct_share[ys, xs]
    keep = 1.0 - share * shadow.direct - (1.0 - share) * shadow.ambient
    dark = st.floor[ys, xs] & (keep < 0.998)
    if dark.any():
        sub = rgb[ys, xs]
        sub[dark] = linear_to_srgb8(st.linear[ys, xs][dark] * np.maximum(keep[dark], 0.0)[:, None])
    return rgb


def _box_rects(cam: Camera, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Screen rectangles of world boxes (via their camera-space bounding boxes)."""
    if len(lo) == 0:
        return np.zeros((0, 4))
    corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(8, 3)
    pts = np.where(corners[None].astype(bool), hi[:, None, :], lo[:, None, :])  # (B, 8, 3)
    c = cam.to_camera(pts)
    return _project_rects(cam, c.min(axis=1), c.max(axis=1))


def _box_fov(cam: Camera, room: Room, instance: int, inside: int) -> float:
    """Share of an instance's silhouette inside the image, from a strided extended cast."""
    boxes = [b for b in room.boxes if b.instance == instance]
    lo = np.array([b.lo for b in boxes])
    hi = np.array([b.hi for b in boxes])
    W, H = cam.width, cam.height
    limit = (-W, 2 * W, -H, 2 * H)
    ranges = [_pixel_range(r, limit) for r in _box_rects(cam, lo, hi)]
    ranges = [r for r in ranges if r[1] > r[0] and r[3] > r[2]]
    if not ranges:
        return 100.0 if inside else 0.0
    x0, x1 = min(r[0] for r in ranges), max(r[1] for r in ranges)
    y0, y1 = min(r[2] for r in ranges), max(r[3] for r in ranges)
    if x0 >= 0 and y0 >= 0 and x1 <= W and y1 <= H:
        return 100.0 if inside else 0.0
    stride = max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / (W * H / 16.0)))))
    dx, dy = cam.ray_steps(x0, x1, y0, y1, stride)
    d = _world_dirs(cam, dx, dy)
    covered = np.zeros(d.shape[:2], dtype=bool)
    for b in boxes:
        covered |= np.isfinite(_cast_box(cam.position, d, b.lo, b.hi)[0])
    cols = np.arange(x0, x1, stride)
    rows = np.arange(y0, y1, stride)
    out = ~(((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))[None, :])
    outside = float(np.count_nonzero(covered & out)) * stride * stride
    return 100.0 * inside / (inside + outside) if inside + outside > 0 else 0.0


def instance_depths(cam: Camera, room: Room, category: str = "furniture"
                    ) -> dict[int, np.ndarray]:
    """Depth (H, W) of each instance of ``category`` drawn on its own (inf: not covered)."""
    W, H = cam.width, cam.height
    dx, dy = cam.ray_steps(0, W, 0, H)
    d = _world_dirs(cam, dx, dy)
    wanted = {i.index for i in room.instances if i.category == category}
    out = {k: np.full((H, W), np.inf) for k in wanted}
    boxes = [b for b in room.boxes if b.instance in wanted]
    if not boxes:
        return out
    rects = _box_rects(cam, np.array([b.lo for b in boxes]), np.array([b.hi for b in boxes]))
    for box, rect in zip(boxes, rects, strict=True):
        x0, x1, y0, y1 = _pixel_range(rect, (0, W, 0, H))
        if x1 > x0 and y1 > y0:
            t, _ = _cast_box(cam.position, d[y0:y1, x0:x1], box.lo, box.hi)
            sub = out[box.instance][y0:y1, x0:x1]
            np.minimum(sub, t, out=sub)
    return out
