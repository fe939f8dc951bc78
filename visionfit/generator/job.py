"""One VisionFit job from parameters and seed to files: the pipeline.

:class:`Job` builds the world (person, motion, room, camera) and renders it frame by frame:
body cast, per-pixel depth test against the pre-cast room, labels from the same buffers,
masks into the zip, raw RGB into ffmpeg. If furniture hides more of the person than
``allowable_occlusion`` allows, the piece that hides most is left out and the job is
rendered again (rare: placement is screened at low resolution first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .armature import armature_info
from .body import BodyModel, BodyShape, Looks
from .camera import Camera, aimed_camera
from .catalog import EXERCISES, SCENES, Exercise, Scene
from .encode import (
    write_json_atomic,
)
from .frames import FrameFiles, FrameLabeller
from .identity import NAME, VERSION
from .labels import (
    CUBOID_CORNER_ORDER,
    box_corners,
)
from .motion import Animation, Timeline, animate, make_timeline
from .raster import (
    BodyFrames,
    StaticLayer,
    body_coverage,
    composite,
    instance_depths,
    render_static,
    shadowed_room,
)
from .scene import Room, build_room
from .timing import Stopwatch

__all__ = ["GENERATOR_DATE", "Job", "JobFiles", "run_job",
           "stream"]

# labels.json's info.date_created: the date this generator version was made, so that the
# same parameters and seed give byte-identical labels (the job's own time is the server's).
GENERATOR_DATE = "2025-11-25"
_STREAMS = ("timing", "noise", "looks", "furniture", "wall_art", "sensor")
_ESTIMATE_WIDTH = 80  # pixels across for the low-resolution occlusion screen
_ESTIMATE_FRAMES = 12


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream of the job's seed, one per concern, so that changing
    one option (say, wall art) does not reshuffle the others (timing, furniture)."""
    return np.random.default_rng([int(seed), _STREAMS.index(name) + 1])


@dataclass
class JobFiles:
    """What a render pass measured, to check the occlusion limit."""

    mean_person_occlusion: float
    hidden_by_instance: np.ndarray  # (256,) person pixels hidden by each instance index
    frames: int


@dataclass
class Job:
    params: dict[str, Any]
    is_preview: bool
    seed: int
    exercise: Exercise
    scene: Scene
    body: BodyModel
    timeline: Timeline
    animation: Animation
    room: Room
    camera: Camera
    avatar_yaw: float
    leave_out: frozenset[str] = field(default_factory=frozenset)
    _static: StaticLayer | None = None
    _bodies: BodyFrames | None = None

    # -- building -------------------------------------------------------------------------
    @classmethod
    def build(cls, params: dict[str, Any], is_preview: bool, seed: int,
              leave_out: frozenset[str] | None = None) -> Job:
        exercise = EXERCISES[params["exercise"]]
        scene = SCENES[params["scene"]]
        shape = BodyShape.from_params(params["gender"], int(params["avatar_identity"]),
                                      float(params["relative_height"]),
                                      float(params["relative_weight"]))
        looks = Looks.from_params(params, stream(seed, "looks"))
        body = BodyModel(shape, looks, exercise.dumbbells)
        timeline = make_timeline(exercise, params, is_preview, stream(seed, "timing"))
        person = np.array([scene.person_spot[0], scene.depth - scene.person_spot[1], 0.0])
        yaw = 180.0 + float(params["relative_avatar_angle_deg"])
        anim = animate(body, exercise, timeline, float(params["kinematic_noise_factor"]),
                       stream(seed, "noise"), person, yaw)
        reach = float(np.hypot(*(anim.joints[..., :2] - person[:2]).reshape(-1, 2).T).max())
        W, H = int(params["image_width"]), int(params["image_height"])
        camera = aimed_camera(W, H, person[:2], anim.target_height,
                              float(params["camera_distance"]), float(params["camera_height"]),
                              float(params["relative_camera_yaw_deg"]),
                              float(params["relative_camera_pitch_deg"]))

        def room_without(names: frozenset[str]) -> Room:
            return build_room(scene, stream(seed, "furniture"), stream(seed, "wall_art"),
                              bool(params["add_wall_art"]), params["wall_art_type"],
                              clear_radius=reach + 0.3, leave_out=names)

        if leave_out is None:
            leave_out = _screen_occlusion(room_without(frozenset()), camera, anim,
                                          float(params["allowable_occlusion"]))
        return cls(params, is_preview, seed, exercise, scene, body, timeline, anim,
                   room_without(leave_out), camera, yaw, leave_out)

    @property
    def static(self) -> StaticLayer:
        if self._static is None:
            self._static = render_static(self.camera, self.room,
                                         float(self.params["lighting_power"]))
        return self._static

    @property
    def frames(self) -> int:
        return len(self.timeline.times)

    # -- rendering ------------------------------------------------------------------------
    @property
    def bodies(self) -> BodyFrames:
        """Every frame's body in camera space, prepared for casting once per job."""
        if self._bodies is None:
            cam = self.camera
            self._bodies = BodyFrames.of(cam, self.animation.prims.transformed(
                cam.rotation, cam.translation))
        return self._bodies

    def body_layer(self, i: int, shade: bool = True):
        return self.bodies.layer(i, self.camera.to_camera(self.room.light),
                                 float(self.params["lighting_power"]), shade=shade)

    def compose(self, i: int):
        """Frame i's colour (H,W,3), instance ids (H,W), body depth (H,W) and body layer."""
        st = self.static
        layer = self.body_layer(i)
        rgb = shadowed_room(st, self.camera, self.animation.prims.frame(i), self.room.light)
        inst, body_depth, vis = composite(st, layer, rgb)
        return rgb, inst, body_depth, layer, vis

    def render(self, out_dir: Path, watch: Stopwatch | None = None) -> JobFiles:
        """Render every frame and write the job's files into ``out_dir``; ``watch`` is
        charged per stage (``room``, ``setup``, then per frame ``render``, ``labels``,
        ``masks``, ``video``, then ``finish``).

        Each frame is composited once; the labels, the masks and the video are all read
        from that one composite, so they cannot disagree.
        """
        out_dir = Path(out_dir)
        watch = watch or Stopwatch()
        watch.frame_seconds.clear()  # per-frame figures describe the final pass
        watch.mark("room")
        labeller = FrameLabeller(self)
        sensor = (_SensorNoise(self.camera.height, self.camera.width,
                               stream(self.seed, "sensor"))
                  if self.params["enable_sensor_noise"] else None)
        files = FrameFiles(self, out_dir)
        try:
            watch.mark("setup")
            for i in range(self.frames):
                watch.frame_begins()
                rgb, inst, body_depth, layer, vis = self.compose(i)
                if sensor is not None:
                    rgb = sensor.apply(rgb)
                watch.mark("render")
                person_annotation_id = labeller.add_frame(i, rgb, inst, body_depth, layer, vis)
                watch.mark("labels")
                files.add_masks(i, rgb, inst, layer, vis, person_annotation_id)
                watch.mark("masks")
                files.add_video_frame(rgb)
                watch.mark("video")
                watch.frame_ends()
        except BaseException:
            files.abort()
            raise
        files.close()
        write_json_atomic(out_dir / "labels.json", labeller.coco(self._info()))
        watch.mark("finish")
        return JobFiles(labeller.mean_person_occlusion(), labeller.hidden_by, self.frames)

    def person_cuboids(self) -> np.ndarray:
        """Per frame, the person's box (8, 3) aligned with the direction they face."""
        yaw = math.radians(self.avatar_yaw)
        basis = np.array([[math.cos(yaw), -math.sin(yaw), 0.0],
                          [math.sin(yaw), math.cos(yaw), 0.0],
                          [0.0, 0.0, 1.0]])  # columns: right, forward, up
        n = self.frames
        origin = np.broadcast_to(np.array([*self.room.person_xy, 0.0]), (n, 3))
        lo, hi = self.animation.prims.extent_in(basis, origin)
        return np.stack([box_corners(lo[i], hi[i], basis, origin[i]) for i in range(n)])

    def _info(self) -> dict[str, Any]:
        cam = self.camera
        p = self.params
        return {
            "description": "VisionFit synthetic exercise video with exact labels",
            "generator": NAME,
            "version": VERSION,
            "date_created": GENERATOR_DATE,
            "scene_id": p["scene"],
            "exercise": p["exercise"],
            "num_frames": self.frames,
            "frame_rate": int(p["frame_rate"]),
            "camera_convention": "OpenCV: camera x right, y down, z forward; pixel centres at "
                                 "integer coordinates; P = K @ RT maps world points (metres, "
                                 "z up) to pixels; depth z in metres",
            "camera_K_matrix": np.round(cam.K, 6).tolist(),
            "camera_RT_matrix": np.round(cam.RT, 9).tolist(),
            "camera_P_matrix": np.round(cam.P, 6).tolist(),
            "camera_location": np.round(cam.position, 6).tolist(),
            "camera_yaw": round(cam.yaw_deg, 6),
            "camera_pitch": round(cam.pitch_deg, 6),
            "camera_height": float(p["camera_height"]),
            "avatar_location": np.round([*self.room.person_xy, 0.0], 6).tolist(),
            "avatar_yaw": round(self.avatar_yaw % 360.0, 6),
            "avatar_presenting_gender": p["gender"],
            "avatar_identity": int(p["avatar_identity"]),
            "yaw_convention": "degrees; camera_yaw clockwise from +y seen from above, "
                              "avatar_yaw counter-clockwise from +y (the way the person faces)",
            "cuboid_corner_order": CUBOID_CORNER_ORDER,
            "armature": armature_info(self.body),
            "mask_format": "segmentation PNGs are 8-bit palette images: iseg pixel = instance "
                           "index (annotation color = its palette colour), cseg pixel = "
                           "category id; image.NNNNNN.iseg.<annotation id>.png is that "
                           "person's amodal (unoccluded) mask, a 1-bit palette PNG: 1 (the "
                           "person's colour) where the body is, whether hidden or not",
            "depth_format": "with enable_depth_maps, image.NNNNNN.depth.png in depth.zip: 16-bit "
                            "greyscale, camera z of the first surface hit in millimetres",
            "furniture_left_out": sorted(self.leave_out),
            "video_padding": "none" if (cam.width % 2 == 0 and cam.height % 2 == 0) else
            f"one black column/row added at the right/bottom of video.mp4 (yuv420p needs even "
            f"sizes): {cam.width + cam.width % 2}x{cam.height + cam.height % 2}",
        }


class _SensorNoise:
    """Read noise from a small bank of pre-drawn fields, shifted at random every frame."""

    _MARGIN = 16

    def __init__(self, h: int, w: int, rng: np.random.Generator) -> None:
        m = self._MARGIN
        self.rng = rng
        self.bank = np.round(rng.normal(0.0, 3.5, (3, h + m, w + m, 3))).astype(np.int16)
        self.h, self.w = h, w

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        k, dy, dx = self.rng.integers(0, (3, self._MARGIN, self._MARGIN))
        noise = self.bank[k, dy:dy + self.h, dx:dx + self.w]
        return np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def _screen_occlusion(room: Room, camera: Camera, anim: Animation, allowable: float
                      ) -> frozenset[str]:
    """Furniture to leave out so the person's mean occlusion stays within ``allowable``.

    Measured at low resolution on a dozen frames spread over the job; pieces are removed,
    most-hiding first, until the estimate is under the limit with a small margin.
    """
    if allowable >= 100.0:
        return frozenset()
    small = camera.scaled(_ESTIMATE_WIDTH / max(camera.width, camera.height))
    n = len(anim.joints)
    picks = np.unique(np.linspace(0, n - 1, min(n, _ESTIMATE_FRAMES)).round().astype(int))
    bodies = np.stack([body_coverage(small, anim.prims.frame(i).transformed(
        small.rotation, small.translation)) for i in picks])
    furniture = instance_depths(small, room)
    names = {i.index: i.name for i in room.instances}
    hit = np.isfinite(bodies)
    counts = np.maximum(hit.sum(axis=(1, 2)), 1)
    kept = set(furniture)
    left_out: set[str] = set()
    threshold = max(0.0, allowable * 0.9 - 0.5)

    def mean_occlusion(indices: set[int]) -> float:
        if not indices:
            return 0.0
        front = np.min([furniture[k] for k in indices], axis=0)
        return float(((front[None] < bodies) & hit).sum(axis=(1, 2)).__truediv__(counts).mean()
                     * 100.0)

    while kept and mean_occlusion(kept) > threshold:
        worst = min(kept, key=lambda k: (mean_occlusion(kept - {k}), k))
        kept.discard(worst)
        left_out.add(names[worst])
    return frozenset(left_out)


def run_job(params: dict[str, Any], is_preview: bool, out_dir: Path, seed: int) -> Job:
    """Build and render a job; re-render without the worst furniture if the exact mean
    occlusion overshoots ``allowable_occlusion``."""
    watch = Stopwatch()
    job = Job.build(params, is_preview, seed)
    watch.mark("build")
    allowable = float(params["allowable_occlusion"])
    renders = 0
    while True:
        result = job.render(out_dir, watch)
        renders += 1
        if result.mean_person_occlusion <= allowable + 1e-9:
            break
        index = int(np.argmax(result.hidden_by_instance[2:])) + 2
        name = next(i.name for i in job.room.instances if i.index == index)
        job = Job.build(params, is_preview, seed, leave_out=job.leave_out | {name})
        watch.mark("build")
    write_json_atomic(out_dir / "timing.json", watch.report(job.frames, renders))
    return job
