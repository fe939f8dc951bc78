"""The panels of a label video, drawn per frame with raster primitives (no Matplotlib).

:class:`LabelPainter` is built once per job (colours, bones, the 3D view's floor grid and the
rep-count plot are prepared then) and paints any panel of any frame as an RGB array of the
panel size. Panels over the picture are the frame enlarged by a whole ``scale`` (so small
jobs stay legible), with the labels drawn at ``scale`` times their pixel coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from visionfit.generator.body import JOINT_PARENTS
from visionfit.generator.encode import DEPTH_MAX_MM

from .draw import Colour, dots, font, hex_colour, legend, overlay, segments, tag, upscale
from .jobdata import CUBOID_EDGES, JobLabels, MaskReader
from .label_plots import BACKDROP, rep_plot, world_view

__all__ = ["DEFAULT_PANELS", "DEPTH_RANGE_MM", "PANELS", "LabelPainter", "depth_colours",
           "panel_scale"]

# Panel names, in their order in the grid, with their titles.
PANELS: dict[str, str] = {
    "boxes": "boxes + instance names",
    "skeleton": "skeleton (armature)",
    "keypoints": "2D keypoints",
    "cuboids": "3D cuboids",
    "instances": "instance segmentation",
    "semantic": "semantic segmentation",
    "skeleton_3d": "3D skeleton (world)",
    "rep_count": "rep count",
    "depth": "depth",
}
# The grid drawn when no panels are named: depth only on request (most jobs have none).
DEFAULT_PANELS = tuple(name for name in PANELS if name != "depth")
# Depth colours: a fixed scale for every job and frame, so colours compare across a batch.
DEPTH_RANGE_MM = (500, 8000)
PERSON: Colour = hex_colour("#39FF14")
VISIBLE: Colour = hex_colour("#FFD700")
OCCLUDED: Colour = hex_colour("#FF3B3B")
OUT_OF_FRAME: Colour = hex_colour("#00B7FF")
_LEFT, _RIGHT, _CENTRE = hex_colour("#00E5FF"), hex_colour("#FF9F1C"), (245, 245, 245)
_CURSOR = hex_colour("#FF3B3B")
_AMODAL = (255, 255, 255)
_MASK_ALPHA = 0.55
_MAX_INSTANCE_LEGEND = 6


def panel_scale(width: int, height: int) -> int:
    """Whole enlargement that brings a small job's panels near 256 pixels."""
    return max(1, round(256 / max(width, height)))


@lru_cache(maxsize=1)
def _depth_lut() -> np.ndarray:
    """256 colours from near (red) to far (blue): Matplotlib's 'turbo', reversed."""
    from matplotlib import colormaps

    return np.round(colormaps["turbo"](np.linspace(1, 0, 256))[:, :3] * 255).astype(np.uint8)


def depth_colours(depth_mm: np.ndarray) -> np.ndarray:
    """Depth (H, W) in millimetres as colours (H, W, 3) on :data:`DEPTH_RANGE_MM`; pixels at
    the PNG's ceiling (nothing hit) are black."""
    near, far = DEPTH_RANGE_MM
    level = np.clip((depth_mm.astype(np.int64) - near) * 255 // (far - near), 0, 255)
    colours = _depth_lut()[level]
    colours[depth_mm >= DEPTH_MAX_MM] = 0
    return colours


def _side_colour(name: str) -> Colour:
    return _LEFT if name.startswith("left") else _RIGHT if name.startswith("right") else _CENTRE


class LabelPainter:
    """Paints the panels of one job; ``masks`` supplies its segmentation PNGs."""

    def __init__(self, labels: JobLabels, masks: MaskReader, scale: int | None = None
                 ) -> None:
        self.labels, self.masks = labels, masks
        self.scale = scale or panel_scale(labels.width, labels.height)
        self.width, self.height = labels.width * self.scale, labels.height * self.scale
        self.text = max(10, round(min(self.width, self.height) / 21))
        self.line = max(2, round(self.width / 170))
        cats = labels.categories
        self.colours = {cid: tuple(c.get("color", (255, 255, 255))[:3]) for cid, c in cats.items()}
        self.colours[labels.person_id] = PERSON
        names = labels.joint_names
        # The job's own armature (labels.json info.armature), else this body model's.
        parents = labels.info.get("armature", {}).get("parents") or JOINT_PARENTS
        self.bones = [(names.index(child), names.index(parent))
                      for child, parent in parents.items()
                      if parent and child in names and parent in names]
        self.joint_colours = [_side_colour(n) for n in names]
        self._painters: dict[str, Callable[[int, Image.Image], Image.Image]] = {
            "boxes": self._boxes, "skeleton": self._skeleton, "keypoints": self._keypoints,
            "cuboids": self._cuboids, "instances": self._instances,
            "semantic": self._semantic, "skeleton_3d": self._skeleton_3d,
            "rep_count": self._rep_count, "depth": self._depth,
        }
        self._world_view: tuple[Image.Image, np.ndarray, np.ndarray] | None = None
        self._rep_plot: tuple[Image.Image, Callable[[float], float],
                              Callable[[float], float]] | None = None

    # -- shared --------------------------------------------------------------------------
    def paint(self, name: str, i: int, frame: Image.Image) -> Image.Image:
        """Panel ``name`` of frame index ``i``; ``frame`` is the picture already enlarged
        (left unchanged)."""
        return self._painters[name](i, frame)

    def enlarge(self, rgb: np.ndarray) -> Image.Image:
        """The decoded frame as the panels' picture."""
        im = Image.fromarray(rgb)
        if self.scale == 1:
            return im
        return im.resize((self.width, self.height), Image.Resampling.NEAREST)

    def _px(self, xy: np.ndarray) -> np.ndarray:
        """Label pixel coordinates (centres at integers) to panel coordinates."""
        return (np.asarray(xy, float) + 0.5) * self.scale - 0.5

    @staticmethod
    def _canvas(frame: Image.Image) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        im = frame.copy()
        return im, ImageDraw.Draw(im)

    def _legend(self, im: Image.Image, i: int, entries: list[tuple[Colour, str, str]]
                ) -> None:
        """A legend in frame i's bottom corner away from the person, so that it does not
        hide the labels that matter most."""
        x, _, w, _ = self.labels.person_bbox[i]
        if np.isfinite(x) and (x + w / 2) * self.scale < self.width / 2:
            legend(im, entries, (self.width - 3, self.height - 3), self.text - 2, "rd")
        else:
            legend(im, entries, (3, self.height - 3), self.text - 2, "ld")

    def _finish(self, im: Image.Image, name: str) -> Image.Image:
        tag(im, (3, 2), PANELS[name], self.text)
        return im

    # -- over the picture ----------------------------------------------------------------
    def _boxes(self, i: int, rgb: Image.Image) -> Image.Image:
        im, draw = self._canvas(rgb)
        lab = self.labels
        anns = sorted(lab.annotations[i], key=lambda a: a.get("category_id") == lab.person_id)
        for ann in anns:
            if not ann.get("area", 1) or "bbox" not in ann:
                continue
            x, y, w, h = ann["bbox"]
            (x0, y0), (x1, y1) = self._px([[x - 0.5, y - 0.5], [x + w - 0.5, y + h - 0.5]])
            colour = self.colours.get(ann["category_id"], (255, 255, 255))
            draw.rectangle((x0, y0, x1, y1), outline=colour, width=self.line)
            name = ann.get("instance_name") or lab.categories[ann["category_id"]]["name"]
            tag(im, (x0 + 1, max(y0 - 1, 0)), name, self.text - 2, fill=colour,
                anchor="lb" if y0 > self.text else "la")
        return self._finish(im, "boxes")

    def _skeleton(self, i: int, rgb: Image.Image) -> Image.Image:
        im, draw = self._canvas(rgb)
        joints = self.labels.joints_2d[i]
        front = joints[:, 2] > 0  # behind the camera a joint has no place in the picture
        xy = self._px(joints[:, :2])
        for child, parent in self.bones:
            if front[child] and front[parent]:
                draw.line((*xy[child], *xy[parent]), fill=self.joint_colours[child],
                          width=self.line)
        for j in np.nonzero(front)[0]:
            dots(draw, xy[j], self.line + 0.5, self.joint_colours[j])
        self._legend(im, i, [(_LEFT, "left", "line"), (_RIGHT, "right", "line"),
                             (_CENTRE, "centre", "line")])
        return self._finish(im, "skeleton")

    def _keypoints(self, i: int, rgb: Image.Image) -> Image.Image:
        im, draw = self._canvas(rgb)
        kps = self.labels.keypoints[i]
        xy, v = self._px(kps[:, :2]), kps[:, 2]
        radius = self.marker_radius
        # Out of frame: a square at the nearest edge, where the joint would have been.
        edge = np.clip(xy[v == 0], radius, [self.width - 1 - radius, self.height - 1 - radius])
        for x, y in edge.tolist():
            draw.rectangle((x - radius, y - radius, x + radius, y + radius), fill=OUT_OF_FRAME)
        dots(draw, xy[v == 1], radius, None, OCCLUDED, width=max(2, radius // 2))
        dots(draw, xy[v == 2], radius, VISIBLE, (0, 0, 0))
        counts = [int((v == k).sum()) for k in (2, 1, 0)]
        self._legend(im, i, [(VISIBLE, f"visible {counts[0]}", "dot"),
                             (OCCLUDED, f"occluded {counts[1]}", "ring"),
                             (OUT_OF_FRAME, f"out of frame {counts[2]}", "square")])
        return self._finish(im, "keypoints")

    @property
    def marker_radius(self) -> int:
        """Radius of a keypoint marker (wide enough to keep its colour through H.264)."""
        return max(3, round(1.6 * self.scale))

    def _cuboids(self, i: int, rgb: Image.Image) -> Image.Image:
        im, draw = self._canvas(rgb)
        edges = np.array(CUBOID_EDGES)
        for ann in self.labels.annotations[i]:
            corners = ann.get("cuboid_coordinates") or []
            if len(corners) != 8 or not ann.get("area", 1):
                continue
            pts = np.array([(c["x"], c["y"], c.get("z", 1.0)) for c in corners])
            if (pts[:, 2] <= 0).any():
                continue
            xy = self._px(pts[:, :2])
            segments(draw, xy[edges], self.colours.get(ann["category_id"], (255, 255, 255)),
                     max(1, self.line - 1))
        return self._finish(im, "cuboids")

    def _mask(self, i: int, kind: str) -> tuple[np.ndarray, np.ndarray] | None:
        found = self.masks.read(int(self.labels.frame_numbers[i]), kind)
        if found is None:
            return None
        index, palette = found
        return upscale(index, self.scale), palette

    def _instances(self, i: int, rgb: Image.Image) -> Image.Image:
        lab = self.labels
        found = self._mask(i, "iseg")
        im = overlay(rgb, *found, _MASK_ALPHA) if found is not None else rgb.copy()
        shown = sorted((a for a in lab.annotations[i] if a.get("area", 0) > 0 and "color" in a),
                       key=lambda a: (a["category_id"] != lab.person_id, -a["area"]))
        entries = [(tuple(a["color"][:3]), str(a.get("instance_name") or
                                               lab.categories[a["category_id"]]["name"]),
                    "square") for a in shown[:_MAX_INSTANCE_LEGEND]]
        if len(shown) > _MAX_INSTANCE_LEGEND:
            entries.append(((0, 0, 0), f"+{len(shown) - _MAX_INSTANCE_LEGEND} more", "square"))
        if found is None:
            entries = [((0, 0, 0), "no instance mask in this job", "square")]
        if self._amodal_outline(im, i):
            entries.insert(1, (_AMODAL, "person unoccluded", "line"))
        self._legend(im, i, entries)
        return self._finish(im, "instances")

    def _amodal_outline(self, im: Image.Image, i: int) -> bool:
        """Outline the person's amodal mask (every body pixel, hidden or not), when the job
        has one (``image.NNNNNN.iseg.<person annotation id>.png``): what the furniture hides
        shows as outline without colour inside."""
        lab = self.labels
        person = next((a for a in lab.annotations[i] if a.get("category_id") == lab.person_id),
                      None)
        found = None if person is None else self._mask(i, f"iseg.{person['id']}")
        if found is None:
            return False
        body = found[0] > 0
        rows, cols = np.nonzero(body.any(axis=1))[0], np.nonzero(body.any(axis=0))[0]
        if not len(rows):
            return True
        # Only the person's box (plus a pixel of margin) is eroded: a few thousand pixels.
        r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, body.shape[0])
        c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, body.shape[1])
        part = body[r0:r1, c0:c1]
        inner = part.copy()
        inner[1:-1, 1:-1] &= part[:-2, 1:-1] & part[2:, 1:-1] & part[1:-1, :-2] & part[1:-1, 2:]
        edge = np.ascontiguousarray((part & ~inner).view(np.uint8) * np.uint8(255))
        im.paste(_AMODAL, (int(c0), int(r0)), Image.frombuffer(
            "L", (c1 - c0, r1 - r0), edge, "raw", "L", 0, 1))
        return True

    def _semantic(self, i: int, rgb: Image.Image) -> Image.Image:
        lab = self.labels
        found = self._mask(i, "cseg")
        im = rgb.copy()
        if found is not None:
            index, palette = found
            im = overlay(rgb, index, palette, _MASK_ALPHA)
            present = np.bincount(index.ravel(), minlength=256) > 0
            entries = [(tuple(int(c) for c in palette[cid]), c["name"], "square")
                       for cid, c in lab.categories.items() if present[cid]]
        else:
            entries = [((0, 0, 0), "no semantic mask in this job", "square")]
        self._legend(im, i, entries)
        return self._finish(im, "semantic")

    def _depth(self, i: int, rgb: Image.Image) -> Image.Image:
        depth = self.masks.depth_mm(int(self.labels.frame_numbers[i]))
        if depth is None:
            im, _ = self._canvas(Image.new("RGB", (self.width, self.height), BACKDROP))
            tag(im, (self.width / 2, self.height / 2), "no depth maps in this job",
                self.text, anchor="mm")
            tag(im, (self.width / 2, self.height / 2 + 1.5 * self.text),
                "(enable_depth_maps=True)", self.text - 2, anchor="mm")
            return self._finish(im, "depth")
        im = Image.fromarray(depth_colours(upscale(depth, self.scale)))
        near, far = DEPTH_RANGE_MM
        lut = _depth_lut()
        legend(im, [(tuple(int(c) for c in lut[0]), f"{near / 1000:g} m or nearer", "square"),
                    (tuple(int(c) for c in lut[128]), f"{(near + far) / 2000:g} m", "square"),
                    (tuple(int(c) for c in lut[255]), f"{far / 1000:g} m or farther",
                     "square")], (3, self.height - 3), self.text - 2)
        return self._finish(im, "depth")

    # -- drawn from the labels alone -------------------------------------------------------
    def _skeleton_3d(self, i: int, rgb: Image.Image) -> Image.Image:
        if self._world_view is None:
            self._world_view = world_view(self.labels, self.width, self.height, self.text)
        background, view, shadow = self._world_view
        im, draw = self._canvas(background)
        pts = view[i]
        bones = [(c, p) for c, p in self.bones if np.isfinite(pts[[c, p]]).all()]
        for c, p in bones:
            draw.line((*shadow[i, c], *shadow[i, p]), fill=(12, 14, 18), width=self.line)
        # Far bones first, so the near limbs are drawn over them.
        for c, p in sorted(bones, key=lambda b: -(pts[b[0], 2] + pts[b[1], 2])):
            draw.line((*pts[c, :2], *pts[p, :2]), fill=self.joint_colours[c],
                      width=self.line + 1)
        if not bones:
            tag(im, (self.width / 2, self.height / 2), "no 3D joints in the labels",
                self.text, anchor="mm")
        tag(im, (3, self.height - 3), "floor grid 0.5 m", self.text - 2, anchor="ld")
        return self._finish(im, "skeleton_3d")

    def _rep_count(self, i: int, rgb: Image.Image) -> Image.Image:
        if self._rep_plot is None:
            self._rep_plot = rep_plot(self.labels, self.width, self.height, self.text,
                                      self.line, PERSON)
        background, x_of, y_of = self._rep_plot
        im, draw = self._canvas(background)
        lab = self.labels
        t, r = i / lab.fps, float(np.nan_to_num(lab.rep_count[i]))
        x = x_of(t)
        draw.line((x, 2.2 * self.text, x, y_of(0)), fill=_CURSOR, width=self.line)
        dots(draw, np.array([x, y_of(r)]), self.line + 2, _CURSOR)
        # New text every frame: drawn directly (a cached stamp would never be reused).
        f = font(self.text - 1)
        reading = f"{r:5.2f} reps at {t:6.2f} s"
        right = self.width - 3
        draw.rectangle((right - f.getlength(reading) - 4, 1, right + 1, self.text + 2),
                       fill=(0, 0, 0))
        draw.text((right - 1, 2), reading, font=f, fill=(255, 255, 255), anchor="ra")
        return self._finish(im, "rep_count")
