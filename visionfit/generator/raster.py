"""The renderer: exact per-pixel ray casting.

The camera does not move during a job, so the room, furniture and wall art are cast once
(in NumPy) into colour, depth and instance buffers (:func:`render_static`). Each frame then
casts only the body's capsules and ellipsoids, each inside its own screen rectangle
(:func:`render_body`, compiled loops in :mod:`.kernels`), and the frame is the per-pixel
depth test of the two, over the room darkened by the person's shadow (:func:`shadowed_room`,
model in :mod:`.shadow`). Every ray is ``(dx, dy, 1)`` in camera coordinates, so a ray's
parameter is the depth z itself; masks, occlusion figures and keypoint visibility all come
from these same depth buffers, and so do the by-products :func:`person_coverage` (amodal
mask) and :func:`first_hit_depth` (depth map). Kept in one module, past 400 lines, because
every function here shares the buffers' layout and the ray convention above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Primitives
from .camera import NEAR, Camera
from .kernels import (
    cast_primitives,
    cast_room,
    channel_sums,
    darken_floor,
    draw_body,
    shade_hits,
    shade_room,
)
from .scene import FRONT_Y, Room, art_albedo, floor_albedo, wall_albedo
from .shadow import body_shadow, furniture_occlusion

__all__ = [
    "BodyFrames",
    "BodyLayer",
    "StaticLayer",
    "body_coverage",
    "composite",
    "first_hit_depth",
    "instance_depths",
    "mean_colours",
    "person_coverage",
    "render_body",
    "render_static",
    "shadowed_room",
]

_AMBIENT = 0.28
_DIFFUSE = 0.85
_FALLOFF_REF2 = 6.0  # squared distance (m^2) inside which the light does not fall off
# Linear radiance (0..1 in 4096 steps) to 8-bit sRGB, for the kernels.
_LUT = np.round(255.0 * np.where(
    np.linspace(0, 1, 4096) <= 0.0031308, 12.92 * np.linspace(0, 1, 4096),
    1.055 * np.linspace(0, 1, 4096) ** (1 / 2.4) - 0.055)).clip(0, 255).astype(np.uint8)


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


def _pixel_ranges(rects: np.ndarray, limit: tuple[int, int, int, int]) -> np.ndarray:
    """Integer pixel ranges [x0, x1) x [y0, y1) of the pixel centres inside each rectangle,
    clipped to ``limit``: (P, 4) int64 x0, x1, y0, y1."""
    lx0, lx1, ly0, ly1 = limit
    out = np.empty((len(rects), 4), dtype=np.int64)
    out[:, 0] = np.maximum(lx0, np.ceil(np.maximum(rects[:, 0], -1e9)))
    out[:, 1] = np.minimum(lx1, np.floor(np.minimum(rects[:, 1], 1e9)) + 1)
    out[:, 2] = np.maximum(ly0, np.ceil(np.maximum(rects[:, 2], -1e9)))
    out[:, 3] = np.minimum(ly1, np.floor(np.minimum(rects[:, 3], 1e9)) + 1)
    return out


def _union(ranges: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Which ranges are non-empty, and the rectangle around those (all 0 if none is)."""
    live = (ranges[:, 1] > ranges[:, 0]) & (ranges[:, 3] > ranges[:, 2])
    if not live.any():
        return live, (0, 0, 0, 0)
    r = ranges[live]
    return live, (int(r[:, 0].min()), int(r[:, 1].max()), int(r[:, 2].min()),
                  int(r[:, 3].max()))


@dataclass
class BodyLayer:
    """The body cast into the rectangle [x0, x1) x [y0, y1) of the image.

    ``depth`` is the body's own first hit per pixel with the room left out, so
    ``isfinite(depth)`` is the person's amodal (unoccluded) coverage and the frame's
    first-hit depth is its minimum with the room's: :func:`person_coverage`,
    :func:`first_hit_depth`.
    """

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


@dataclass
class BodyFrames:
    """Every frame's body primitives in camera space, prepared for casting in one batch:
    flattened, contiguous, ellipsoids inverted, and each primitive's screen rectangle
    found for all frames at once (so a frame costs its compiled loops, not array calls)."""

    cam: Camera
    cap_a: np.ndarray  # (N, C, 3)
    cap_b: np.ndarray
    cap_r: np.ndarray  # (C,)
    ell_c: np.ndarray  # (N, E, 3)
    ell_minv: np.ndarray  # (N, E, 3, 3)
    ell_o: np.ndarray  # (N, E, 3) ell_minv @ -ell_c: the camera's origin in each unit frame
    rgb: np.ndarray  # (P, 3) linear albedo, capsules first
    rects: np.ndarray  # (N, P, 4) screen bounds x0, x1, y0, y1 (floats)
    ranges: np.ndarray  # (N, P, 4) their pixel ranges inside the image
    windows: np.ndarray  # (N, 4) x0, x1, y0, y1: the rectangle around a frame's ranges
    local: np.ndarray  # (N, P, 4) the ranges relative to the window (empty ones all 0)
    inside: np.ndarray  # (N,) every rectangle of the frame lies within the image

    @classmethod
    def of(cls, cam: Camera, prims_cam: Primitives) -> BodyFrames:
        def c64(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(x, dtype=np.float64)

        a, b, r = c64(prims_cam.cap_a), c64(prims_cam.cap_b), c64(prims_cam.cap_r)
        c, m = c64(prims_cam.ell_c), c64(prims_cam.ell_m)
        n = len(a)
        half = np.linalg.norm(m, axis=-1)
        lo = np.concatenate([np.minimum(a, b) - r[:, None], c - half], axis=1)
        hi = np.concatenate([np.maximum(a, b) + r[:, None], c + half], axis=1)
        minv = c64(np.linalg.inv(m)) if m.shape[1] else np.zeros(m.shape)
        rects = _project_rects(cam, lo.reshape(-1, 3), hi.reshape(-1, 3)).reshape(n, -1, 4)
        ranges = _pixel_ranges(rects.reshape(-1, 4), (0, cam.width, 0, cam.height)
                               ).reshape(n, -1, 4)
        live = (ranges[..., 1] > ranges[..., 0]) & (ranges[..., 3] > ranges[..., 2])
        big = np.iinfo(np.int64).max
        windows = np.stack([np.where(live, ranges[..., 0], big).min(axis=1),
                            np.where(live, ranges[..., 1], -big).max(axis=1),
                            np.where(live, ranges[..., 2], big).min(axis=1),
                            np.where(live, ranges[..., 3], -big).max(axis=1)], axis=1)
        windows[~live.any(axis=1)] = 0
        offset = windows[:, [0, 0, 2, 2]][:, None, :]
        local = np.ascontiguousarray(np.where(live[..., None], ranges - offset, 0))
        inside = ((rects[..., 0].min(axis=1) >= -0.5) & (rects[..., 2].min(axis=1) >= -0.5)
                  & (rects[..., 1].max(axis=1) < cam.width - 0.5)
                  & (rects[..., 3].max(axis=1) < cam.height - 0.5))
        return cls(cam, a, b, r, c, minv, c64(np.einsum("neij,nej->nei", minv, -c)),
                   c64(np.concatenate([prims_cam.cap_rgb, prims_cam.ell_rgb])), rects,
                   ranges, windows, local, inside)

    def cast(self, i: int, dx: np.ndarray, dy: np.ndarray, ranges: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Frame i's depth (inf: miss) and primitive index (-1: miss) on the canvas of rays
        (dx[x], dy[y], 1), each primitive cast only inside its index range."""
        depth = np.full((len(dy), len(dx)), np.inf)
        pid = np.full(depth.shape, -1, dtype=np.int16)
        cast_primitives(dx, dy, ranges, self.cap_a[i], self.cap_b[i], self.cap_r, self.ell_o[i],
                        self.ell_minv[i], NEAR, depth, pid)
        return depth, pid

    def layer(self, i: int, light_cam: np.ndarray, power: float, shade: bool = True,
              fov: bool = True) -> BodyLayer:
        """Frame i cast into its screen rectangle: each primitive only inside its own
        rectangle (:func:`kernels.cast_primitives`), shading once per pixel the body wins
        (:func:`kernels.shade_hits`)."""
        cam = self.cam
        ux0, ux1, uy0, uy1 = (int(v) for v in self.windows[i])
        dx, dy = cam.ray_steps(ux0, ux1, uy0, uy1)
        depth, pid = self.cast(i, dx, dy, self.local[i])
        rgb = None
        if shade:
            rgb = np.zeros((*depth.shape, 3), dtype=np.uint8)
            scale = power / 100.0
            shade_hits(dx, dy, depth, pid, self.cap_a[i], self.cap_b[i], self.ell_c[i],
                       self.ell_minv[i], self.rgb,
                       np.ascontiguousarray(light_cam, dtype=np.float64), scale * _AMBIENT,
                       scale * _DIFFUSE, _FALLOFF_REF2, _LUT, rgb)
        in_fov = 100.0
        if fov:
            inside = int(np.count_nonzero(pid >= 0))
            outside = self._outside_coverage(i)
            in_fov = 100.0 * inside / (inside + outside) if inside + outside > 0 else 0.0
        return BodyLayer(ux0, ux1, uy0, uy1, depth, pid, rgb, in_fov)

    def _outside_coverage(self, i: int) -> float:
        """Estimated silhouette pixels outside the image (strided cast on an extended
        canvas). Only a body that reaches past the image edge pays for this; the canvas is
        limited to two image sizes beyond each edge."""
        if self.inside[i]:
            return 0.0  # every rectangle's pixels lie inside the image
        W, H = self.cam.width, self.cam.height
        rects = self.rects[i]
        ranges = _pixel_ranges(rects, (-2 * W, 3 * W, -2 * H, 3 * H))
        live, (ux0, ux1, uy0, uy1) = _union(ranges)
        if not live.any() or (ux0 >= 0 and uy0 >= 0 and ux1 <= W and uy1 <= H):
            return 0.0
        area = (ux1 - ux0) * (uy1 - uy0)
        stride = max(1, int(np.ceil(np.sqrt(area / (W * H / 4.0)))))
        dx, dy = self.cam.ray_steps(ux0, ux1, uy0, uy1, stride)
        cols = np.arange(ux0, ux1, stride)
        rows = np.arange(uy0, uy1, stride)
        local = np.stack([np.searchsorted(cols, ranges[:, 0]),
                          np.searchsorted(cols, ranges[:, 1]),
                          np.searchsorted(rows, ranges[:, 2]),
                          np.searchsorted(rows, ranges[:, 3])], axis=1)
        local[~live] = 0
        depth, _ = self.cast(i, dx, dy, local)
        out = ~(((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))[None, :])
        return float(np.count_nonzero(np.isfinite(depth) & out)) * stride * stride


def render_body(cam: Camera, prims_cam: Primitives, light_cam: np.ndarray, power: float,
                shade: bool = True, fov: bool = True) -> BodyLayer:
    """Cast one frame's body (primitives in camera coordinates) into its screen rectangle
    (:meth:`BodyFrames.layer`; a job prepares all its frames at once instead)."""
    return BodyFrames.of(cam, prims_cam).layer(0, light_cam, power, shade, fov)


def body_coverage(cam: Camera, prims_cam: Primitives) -> np.ndarray:
    """Full-image body depth (H, W), inf where not hit: for low-resolution estimates."""
    layer = render_body(cam, prims_cam, np.zeros(3), 0.0, shade=False, fov=False)
    depth = np.full((cam.height, cam.width), np.inf)
    depth[layer.slices] = layer.depth
    return depth


def person_coverage(layer: BodyLayer, shape: tuple[int, int]) -> np.ndarray:
    """The person's amodal mask (H, W): every pixel whose ray hits the body, whatever
    stands in front of it (the body's own depth test, before the room's)."""
    mask = np.zeros(shape, dtype=bool)
    mask[layer.slices] = np.isfinite(layer.depth)
    return mask


def first_hit_depth(static: StaticLayer, layer: BodyLayer) -> np.ndarray:
    """Camera-space z (H, W, metres) of the first surface each pixel's ray hits: the room's
    depth buffer (cast once per job) where the body is behind it or missed, else the body's."""
    depth = static.depth.astype(np.float64)
    sub = depth[layer.slices]
    np.minimum(sub, layer.depth, out=sub)
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
    depth = np.empty((H, W))
    surface = np.empty((H, W), dtype=np.int32)
    box_axis = np.zeros((H, W), dtype=np.int8)
    inst = np.zeros((H, W), dtype=np.uint8)
    alone = np.zeros(256, dtype=np.int64)
    lo = np.array([b.lo for b in room.boxes], dtype=np.float64).reshape(-1, 3)
    hi = np.array([b.hi for b in room.boxes], dtype=np.float64).reshape(-1, 3)
    instance = np.array([b.instance for b in room.boxes], dtype=np.int64)
    cast_room(d, np.ascontiguousarray(o, dtype=np.float64), np.array(planes, dtype=np.float64),
              lo, hi, instance, _pixel_ranges(_box_rects(cam, lo, hi), (0, W, 0, H)), NEAR,
              depth, surface, box_axis, inst, alone)
    alone_pixels = {int(k): int(alone[k]) for k in np.unique(instance)}

    # Shading: albedo per surface, diffuse light from the room's lamp. Pixels are grouped
    # by surface with one stable sort (radix, on 16 bits) rather than a mask per surface.
    p = (o + d * depth[..., None]).reshape(-1, 3)
    dirs = d.reshape(-1, 3)
    normal = np.zeros((H * W, 3))
    albedo = np.zeros((H * W, 3))
    order = np.argsort(surface.reshape(-1).astype(np.int16), kind="stable")
    ids, starts = np.unique(surface.reshape(-1)[order], return_index=True)
    for s, start, stop in zip(ids.tolist(), starts, [*starts[1:], H * W], strict=True):
        m = order[start:stop]
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
            ax = box_axis.reshape(-1)[m].astype(np.intp)
            normal[m, ax] = -np.sign(dirs[m, ax])
            albedo[m] = box.rgb
            if box.art is not None:
                a = box.art.facing  # wall normal axis: 1 back wall, 0 side wall
                front = ax == a
                across = 0 if a == 1 else 1
                u = (pts[:, across] - box.lo[across]) / (box.hi[across] - box.lo[across])
                v = (pts[:, 2] - box.lo[2]) / (box.hi[2] - box.lo[2])
                albedo[m[front]] = art_albedo(box.art, u[front], v[front])
    floor = surface == 0
    # Furniture hides part of the sky and of the lamp from the floor around it.
    sky_hidden, lamp_hidden = furniture_occlusion(cam, room.boxes, room.light, floor)
    rgb = np.empty((H, W, 3), dtype=np.uint8)
    linear = np.empty((H, W, 3), dtype=np.float32)
    share = np.empty((H, W), dtype=np.float32)
    scale = power / 100.0
    linear_albedo = albedo + 0.055  # sRGB to linear, in place: ((c + 0.055) / 1.055)^2.4 ...
    linear_albedo /= 1.055
    np.power(linear_albedo, 2.4, out=linear_albedo)
    dark = albedo <= 0.04045  # ... and c / 12.92 near black
    linear_albedo[dark] = albedo[dark] / 12.92
    shade_room(linear_albedo, normal, p, floor.reshape(-1), sky_hidden.reshape(-1),
               lamp_hidden.reshape(-1), np.ascontiguousarray(room.light, dtype=np.float64),
               scale * _AMBIENT, scale * _DIFFUSE, _FALLOFF_REF2, _LUT, rgb.reshape(-1, 3),
               linear.reshape(-1, 3), share.reshape(-1))
    fov = {k: _box_fov(cam, room, k, v) for k, v in alone_pixels.items()}
    return StaticLayer(rgb, depth.astype(np.float32), inst, alone_pixels, fov, floor, linear,
                       share)


def composite(st: StaticLayer, layer: BodyLayer, rgb: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body drawn over the room: ``rgb`` (the room's colour for this frame) takes the
    body's colour where the body is nearer. Returns the instance ids (H, W; 1 = person),
    the full-image body depth (H, W; inf where missed) and the visible body pixels (h, w,
    over the layer's rectangle)."""
    inst = st.inst.copy()
    visible = np.empty(layer.depth.shape, dtype=bool)
    draw_body(layer.depth, layer.rgb, st.depth, layer.x0, layer.y0, rgb, inst, 1, visible)
    body_depth = np.full(inst.shape, np.inf)
    body_depth[layer.slices] = layer.depth
    return inst, body_depth, visible


def mean_colours(rgb: np.ndarray, layer: BodyLayer, visible: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean colour (3,) of the whole frame and of its visible body pixels (None if none are
    visible), from exact integer sums in one pass."""
    frame, body = np.empty(3, dtype=np.int64), np.empty(3, dtype=np.int64)
    count = channel_sums(np.ascontiguousarray(rgb), layer.x0, layer.y0, visible, frame, body)
    return frame / (rgb.shape[0] * rgb.shape[1]), (body / count if count else None)


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
    darken_floor(rgb, st.linear, st.direct_share, st.floor, shadow.direct, shadow.ambient,
                 shadow.x0, shadow.y0, _LUT)
    return rgb


def _box_rects(cam: Camera, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Screen rectangles of world boxes (via their camera-space bounding boxes)."""
    if len(lo) == 0:
        return np.zeros((0, 4))
    corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(8, 3)
    pts = np.where(corners[None].astype(bool), hi[:, None, :], lo[:, None, :])  # (B, 8, 3)
    c = cam.to_camera(pts)
    return _project_rects(cam, c.min(axis=1), c.max(axis=1))


def _cast_boxes(cam: Camera, boxes: list, x0: int, x1: int, y0: int, y1: int,
                stride: int = 1) -> np.ndarray:
    """Depth (inf: miss) of ``boxes`` alone on the canvas of every ``stride``-th pixel of
    [x0, x1) x [y0, y1): :func:`kernels.cast_room` without the room's shell."""
    dx, dy = cam.ray_steps(x0, x1, y0, y1, stride)
    d = _world_dirs(cam, dx, dy)
    lo = np.array([b.lo for b in boxes], dtype=np.float64).reshape(-1, 3)
    hi = np.array([b.hi for b in boxes], dtype=np.float64).reshape(-1, 3)
    ranges = _pixel_ranges(_box_rects(cam, lo, hi), (x0, x1, y0, y1))
    cols, rows = np.arange(x0, x1, stride), np.arange(y0, y1, stride)
    local = np.stack([np.searchsorted(cols, ranges[:, 0]), np.searchsorted(cols, ranges[:, 1]),
                      np.searchsorted(rows, ranges[:, 2]), np.searchsorted(rows, ranges[:, 3])],
                     axis=1)
    h, w = d.shape[:2]
    depth = np.empty((h, w))
    cast_room(d, np.ascontiguousarray(cam.position, dtype=np.float64), np.zeros((0, 3)), lo, hi,
              np.zeros(len(boxes), dtype=np.int64), local, NEAR, depth,
              np.empty((h, w), dtype=np.int32), np.empty((h, w), dtype=np.int8),
              np.empty((h, w), dtype=np.uint8), np.zeros(1, dtype=np.int64))
    return depth


def _box_fov(cam: Camera, room: Room, instance: int, inside: int) -> float:
    """Share of an instance's silhouette inside the image, from a strided extended cast."""
    boxes = [b for b in room.boxes if b.instance == instance]
    lo = np.array([b.lo for b in boxes])
    hi = np.array([b.hi for b in boxes])
    W, H = cam.width, cam.height
    ranges = _pixel_ranges(_box_rects(cam, lo, hi), (-W, 2 * W, -H, 2 * H))
    live, (x0, x1, y0, y1) = _union(ranges)
    if not live.any() or (x0 >= 0 and y0 >= 0 and x1 <= W and y1 <= H):
        return 100.0 if inside else 0.0
    stride = max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / (W * H / 16.0)))))
    covered = np.isfinite(_cast_boxes(cam, boxes, x0, x1, y0, y1, stride))
    cols = np.arange(x0, x1, stride)
    rows = np.arange(y0, y1, stride)
    out = ~(((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))[None, :])
    outside = float(np.count_nonzero(covered & out)) * stride * stride
    return 100.0 * inside / (inside + outside) if inside + outside > 0 else 0.0


def instance_depths(cam: Camera, room: Room, category: str = "furniture"
                    ) -> dict[int, np.ndarray]:
    """Depth (H, W) of each instance of ``category`` drawn on its own (inf: not covered)."""
    return {i.index: _cast_boxes(cam, [b for b in room.boxes if b.instance == i.index], 0,
                                 cam.width, 0, cam.height)
            for i in room.instances if i.category == category}
