"""The labels and files of one render, frame by frame.

:class:`FrameLabeller` turns each composited frame into COCO annotations (the person's boxes,
masks, keypoints and occlusion; each room object's) and an image record;
:class:`FrameFiles` writes the frame's masks, depth map and video frame. Both read the same
composite, so labels and pixels cannot disagree. :class:`~.job.Job` drives them and is passed
in as ``job``; this module does not import it, so the two do not import each other.
"""

from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Any

import numpy as np

from .armature import local_rotations, matrix_to_quaternion
from .body import JOINT_NAMES
from .encode import (
    FramePngs,
    VideoEncoder,
    depth_png,
    mask_png,
    palette_png,
    write_png_atomic,
)
from .labels import (
    CATEGORIES,
    CATEGORY_IDS,
    WindowEncoder,
    box_corners,
    cuboid,
    encode_mask,
    joint_visibility,
    person_keypoints,
)
from .raster import first_hit_depth, mean_colours, person_coverage

__all__ = ["INSTANCE_PALETTE", "FrameFiles", "FrameLabeller"]


def _palette() -> np.ndarray:
    """256 distinct colours: 0 black (room), 1 crimson (person), then spread hues."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    pal[1] = (220, 20, 60)
    for i in range(2, 256):
        h = (i * 0.618033988749895) % 1.0
        s = 0.55 + 0.4 * ((i * 7) % 5) / 4
        v = 0.6 + 0.4 * ((i * 3) % 4) / 3
        pal[i] = np.round(np.array(colorsys.hsv_to_rgb(h, s, v)) * 255)
    return pal


INSTANCE_PALETTE = _palette()
_CATEGORY_PALETTE = np.zeros((256, 3), dtype=np.uint8)
for _c in CATEGORIES:
    _CATEGORY_PALETTE[_c["id"]] = _c["color"]
_LUMA = np.array([0.299, 0.587, 0.114])
_INSTANCE_PALETTE_BYTES = INSTANCE_PALETTE.tobytes()
_CATEGORY_PALETTE_BYTES = _CATEGORY_PALETTE.tobytes()


class FrameLabeller:
    """The COCO labels of one render, frame by frame: the person's annotation (boxes, masks,
    keypoints, occlusion), each room object's, and the frame's image record.

    What does not change between frames (projected joints, joint rotations, the room's own
    masks and cuboids) is computed once here.
    """

    def __init__(self, job: Any) -> None:
        self.job = job
        camera, static = job.camera, job.static
        self.projected_joints = camera.project(job.animation.joints)
        self.quaternions = np.round(matrix_to_quaternion(
            local_rotations(job.animation.frames, job.body.parents)), 6).tolist()
        self.person_boxes = job.person_cuboids()
        self.person_rle = WindowEncoder((camera.height, camera.width))
        # Room objects seen at all: (instance, mask RLE, bbox, area, cuboid) with nobody in
        # the room, reused for every frame the person does not cover them.
        self.room_objects = {
            ins.index: (ins, *encode_mask(static.inst == ins.index),
                        cuboid(camera, box_corners(ins.lo, ins.hi)))
            for ins in job.room.instances if static.alone_pixels.get(ins.index, 0) > 0}
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.hidden_by = np.zeros(256, dtype=np.int64)  # person pixels hidden, per instance
        self.occlusions: list[float] = []

    def add_frame(self, i: int, rgb: np.ndarray, inst: np.ndarray, body_depth: np.ndarray,
                  layer: Any, vis: np.ndarray) -> int:
        """Label frame ``i``; returns the person's annotation id (its mask file is named
        after it)."""
        image_id = i + 1
        person_id = self._add_person(i, image_id, inst, body_depth, layer, vis)
        person_visible = self.annotations[person_id - 1]["area"] > 0
        self._add_room_objects(image_id, inst, layer, vis, person_visible)
        self._add_image(i, image_id, rgb, layer, vis)
        return person_id

    def _add_person(self, i: int, image_id: int, inst: np.ndarray, body_depth: np.ndarray,
                    layer: Any, vis: np.ndarray) -> int:
        # The amodal mask is every body pixel in the image, the visible one those not behind
        # furniture (the body hiding itself does not count). percent_occlusion is computed
        # from exactly these two masks.
        job, static = self.job, self.job.static
        ys, xs = layer.slices
        hit = np.isfinite(layer.depth)
        hidden_here = static.inst[ys, xs][hit & ~vis]
        if len(hidden_here):
            self.hidden_by += np.bincount(hidden_here, minlength=256)
        seg, bbox, area = self.person_rle(vis, layer.slices)
        amodal_seg, amodal_bbox, amodal_area = self.person_rle(hit, layer.slices)
        occlusion = 100.0 * (amodal_area - area) / amodal_area if amodal_area else 0.0
        self.occlusions.append(occlusion)
        visible_joints = joint_visibility(job.camera, self.projected_joints[i],
                                          job.body.tolerance, inst, body_depth, static.depth)
        keypoints, num_keypoints, armature = person_keypoints(
            job.camera, job.animation.joints[i], visible_joints)
        annotation_id = len(self.annotations) + 1
        self.annotations.append({
            "id": annotation_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": bbox, "area": area, "segmentation": seg,
            "color": INSTANCE_PALETTE[1].tolist(), "instance_name": "person",
            "percent_in_fov": round(layer.in_fov_pct, 3),
            "percent_occlusion": round(occlusion, 3),
            "amodal_segmentation": amodal_seg, "amodal_bbox": amodal_bbox,
            "amodal_area": amodal_area,
            "cuboid_coordinates": cuboid(job.camera, self.person_boxes[i]),
            "keypoints": keypoints, "num_keypoints": num_keypoints,
            "armature_keypoints": armature,
            "quaternions": dict(zip(JOINT_NAMES, self.quaternions[i], strict=True)),
        })
        return annotation_id

    def _add_room_objects(self, image_id: int, inst: np.ndarray, layer: Any,
                          vis: np.ndarray, person_visible: bool) -> None:
        # Unchanged unless the person covers part of an object this frame.
        static = self.job.static
        ys, xs = layer.slices
        touched = set(np.unique(static.inst[ys, xs][vis]).tolist()) if person_visible else set()
        for index, (ins, seg0, bbox0, area0, corners) in self.room_objects.items():
            if index in touched:
                seg, bbox, area = encode_mask(inst == index)
            else:
                seg, bbox, area = seg0, bbox0, area0
            alone = static.alone_pixels[index]
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id,
                "category_id": CATEGORY_IDS[ins.category], "iscrowd": 0,
                "bbox": bbox, "area": area, "segmentation": seg,
                "color": INSTANCE_PALETTE[index].tolist(), "instance_name": ins.name,
                "percent_in_fov": round(static.in_fov_pct[index], 3),
                "percent_occlusion": round(100.0 * (alone - area) / alone, 3),
                "cuboid_coordinates": corners,
            })

    def _add_image(self, i: int, image_id: int, rgb: np.ndarray, layer: Any,
                   vis: np.ndarray) -> None:
        job = self.job
        mean_rgb, avatar_rgb = mean_colours(rgb, layer, vis)
        self.images.append({
            "id": image_id,
            "file_name": "video_preview.png" if job.is_preview else "video.mp4",
            "width": job.camera.width, "height": job.camera.height, "frame_number": i,
            "rep_count_from_start": round(float(job.timeline.rep_count[i]), 4),
            "metrics": {
                "mean_image_brightness": round(float(mean_rgb @ _LUMA), 3),
                "mean_avatar_brightness": round(float(avatar_rgb @ _LUMA), 3)
                if avatar_rgb is not None else 0.0,
            },
        })

    def mean_person_occlusion(self) -> float:
        return float(np.mean(self.occlusions))

    def coco(self, info: dict[str, Any]) -> dict[str, Any]:
        """The whole ``labels.json``."""
        return {"info": info, "licenses": [], "categories": CATEGORIES,
                "images": self.images, "annotations": self.annotations}


class FrameFiles:
    """The files a render writes frame by frame: the first frame as ``video_preview.png``,
    category and instance masks (and depth maps when asked for) into zips (plain files for
    a preview), and the video through ffmpeg. All or nothing: :meth:`abort` leaves none
    of them half-written."""

    def __init__(self, job: Any, out_dir: Path) -> None:
        camera, params = job.camera, job.params
        self.job = job
        self.out_dir = out_dir
        self.video = None if job.is_preview else VideoEncoder(
            out_dir / "video.mp4", camera.width, camera.height, int(params["frame_rate"]))
        self.masks = FramePngs(out_dir / "segmentation.zip", plain=job.is_preview)
        self.depths = (FramePngs(out_dir / "depth.zip", plain=job.is_preview)
                       if params["enable_depth_maps"] else None)
        category_of_index = np.zeros(256, dtype=np.uint8)
        category_of_index[1] = CATEGORY_IDS["person"]
        for ins in job.room.instances:
            category_of_index[ins.index] = CATEGORY_IDS[ins.category]
        self.room_categories = category_of_index[job.static.inst]
        self.person_rgb = tuple(INSTANCE_PALETTE[1].tolist())

    def _outputs(self) -> list[Any]:
        return [f for f in (self.video, self.masks, self.depths) if f is not None]

    def add_masks(self, i: int, rgb: np.ndarray, inst: np.ndarray, layer: Any,
                  vis: np.ndarray, person_annotation_id: int) -> None:
        ys, xs = layer.slices
        categories = self.room_categories.copy()  # the room's categories, then the person's
        categories[ys, xs][vis] = CATEGORY_IDS["person"]
        stem = f"image.{i:06d}"
        if i == 0:
            write_png_atomic(self.out_dir / "video_preview.png", rgb)
        self.masks.add(f"{stem}.cseg.png", palette_png(categories, _CATEGORY_PALETTE_BYTES))
        self.masks.add(f"{stem}.iseg.png", palette_png(inst, _INSTANCE_PALETTE_BYTES))
        self.masks.add(f"{stem}.iseg.{person_annotation_id}.png",
                       mask_png(person_coverage(layer, inst.shape), self.person_rgb))
        if self.depths is not None:
            self.depths.add(f"{stem}.depth.png",
                            depth_png(first_hit_depth(self.job.static, layer)))

    def add_video_frame(self, rgb: np.ndarray) -> None:
        if self.video is not None:
            self.video.write(rgb)

    def abort(self) -> None:
        for f in self._outputs():
            f.abort()

    def close(self) -> None:
        for f in self._outputs():
            f.close()
