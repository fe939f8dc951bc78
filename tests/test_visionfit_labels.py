"""VisionFit labels are exactly right: invariants checked on rendered jobs.

Jobs cover several rooms, exercises and cameras, including lighting_power 0, odd frame
sizes and the extreme camera values. Files come from ``VisionFitGenerator().run`` itself;
the renderer's internal buffers (rebuilt from the same parameters and seed) are used only
to check the depth-test claims that the files cannot show (what is in front of a v=1
keypoint, how many body pixels furniture hides).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from visionfit.generator import VisionFitGenerator
from visionfit.generator.frames import INSTANCE_PALETTE
from visionfit.generator.job import Job
from visionfit.generator.raster import instance_depths
from visionfit.generator.scene import FRONT_Y

GEN = VisionFitGenerator()

CASES: dict[str, dict[str, Any]] = {
    "bedroom_uppercut": dict(scene="BEDROOM_2", exercise="UPPERCUT-LEFT", frame_rate=8,
                             image_width=160, image_height=128, add_wall_art=True),
    "livingroom_occluded": dict(scene="LIVINGROOM_1", exercise="SQUAT-BODYWEIGHT",
                                frame_rate=6, image_width=128, image_height=128,
                                camera_height=0.5, relative_avatar_angle_deg=35.0,
                                enable_depth_maps=True),
    "close_low_pushup": dict(scene="BEDROOM_6", exercise="PUSHUP", frame_rate=6,
                             image_width=128, image_height=128, camera_distance=1.0,
                             camera_height=0.1, relative_camera_yaw_deg=-45.0,
                             relative_camera_pitch_deg=45.0, relative_avatar_angle_deg=90.0,
                             enable_depth_maps=True),
    "far_high_dark_burpee": dict(scene="GYM_1", exercise="BURPEE_02", frame_rate=6,
                                 image_width=201, image_height=157, camera_distance=5.25,
                                 camera_height=2.75, relative_camera_yaw_deg=45.0,
                                 relative_camera_pitch_deg=-45.0, lighting_power=0.0,
                                 enable_sensor_noise=True, outfit=-1, gender="FEMALE",
                                 avatar_identity=24, relative_height=4.0,
                                 relative_weight=-4.0, randomize_skin_tone=True,
                                 enable_depth_maps=True),
    "office_curls_bright": dict(scene="OFFICE_1", exercise="BICEP_CURL-ALTERNATING-DUMBBELL",
                                frame_rate=6, image_width=144, image_height=144, num_reps=2,
                                add_pauses=True, inter_rep_delay_avg=0.5,
                                inter_rep_delay_var=0.2, max_rel_speed_change=0.5,
                                rel_baseline_speed=3.0, lighting_power=2000.0,
                                add_wall_art=True, wall_art_type="misc_human",
                                relative_avatar_angle_deg=-180.0, hide_shoes=True,
                                add_socks=True, kinematic_noise_factor=2.0),
}
SEED = 20240611


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    out = {}
    for name, values in CASES.items():
        params = GEN.schema.complete(values)
        assert GEN.schema.validate(params) is None
        folder = tmp_path_factory.mktemp(name)
        GEN.run(params, False, folder, SEED)
        out[name] = (params, folder)
    return out


def load_masks(folder: Path, archive: str = "segmentation.zip") -> dict[str, np.ndarray]:
    """Every PNG of a job's zip (segmentation.zip: as palette indices)."""
    with zipfile.ZipFile(folder / archive) as z:
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
        return {n: np.array(Image.open(io.BytesIO(z.read(n)))) for n in z.namelist()}


def rebuilt(params: dict, labels: dict) -> Job:
    return Job.build(params, False, SEED,
                     leave_out=frozenset(labels["info"]["furniture_left_out"]))


@pytest.mark.parametrize("case", list(CASES))
def test_files_and_coco_masks(jobs, case: str) -> None:
    params, folder = jobs[case]
    names = {p.name for p in folder.iterdir()}
    assert names == {"job.json", "labels.json", "video.mp4", "video_preview.png",
                     "segmentation.zip", "timing.json"} | (
        {"depth.zip"} if params["enable_depth_maps"] else set())
    job_json = json.loads((folder / "job.json").read_text())
    assert job_json == {"name": GEN.name, "version": GEN.version, "seed": SEED,
                        "params": params}
    labels = json.loads((folder / "labels.json").read_text())
    coco = COCO(str(folder / "labels.json"))
    masks = load_masks(folder)
    W, H = params["image_width"], params["image_height"]
    images = labels["images"]
    assert len(masks) == 3 * len(images)  # cseg, iseg and the person's amodal mask
    cats = {c["id"]: c for c in labels["categories"]}
    assert cats[1]["name"] == "person" and len(cats[1]["keypoints"]) == 17
    assert {c["name"] for c in cats.values()} == {"person", "furniture", "wall_art"}
    for image in images:
        stem = f"image.{image['frame_number']:06d}"
        iseg, cseg = masks[f"{stem}.iseg.png"], masks[f"{stem}.cseg.png"]
        assert iseg.shape == (H, W) == cseg.shape
        assert (image["width"], image["height"]) == (W, H)
        rgb = np.array(Image.open(io.BytesIO(_png(folder, stem, "iseg"))).convert("RGB"))
        labelled = np.zeros((H, W), dtype=bool)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            colour = np.array(ann["color"], dtype=np.uint8)
            index = int(np.nonzero((colour == INSTANCE_PALETTE).all(axis=1))[0][0])
            pixels = iseg == index
            assert np.array_equal(coco.annToMask(ann).astype(bool), pixels), ann["id"]
            assert np.array_equal((rgb == colour).all(axis=2), pixels)
            assert (cseg[pixels] == ann["category_id"]).all()
            assert ann["area"] == int(pixels.sum())
            if ann["area"]:
                ys, xs = np.nonzero(pixels)
                assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                       ys.max() - ys.min() + 1]
            else:
                assert ann["bbox"] == [0, 0, 0, 0]
            assert ann["iscrowd"] == 0 and len(ann["cuboid_coordinates"]) == 8
            assert 0.0 <= ann["percent_occlusion"] <= 100.0
            assert 0.0 <= ann["percent_in_fov"] <= 100.0
            labelled |= pixels
        # Pixels not labelled are the room (index 0, category 0).
        assert (iseg[~labelled] == 0).all() and (cseg[~labelled] == 0).all()


def _png(folder: Path, stem: str, kind: str) -> bytes:
    with zipfile.ZipFile(folder / "segmentation.zip") as z:
        return z.read(f"{stem}.{kind}.png")


@pytest.mark.parametrize("case", list(CASES))
def test_keypoints_project_and_visibility_follows_depth(jobs, case: str) -> None:
    params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    P = np.array(labels["info"]["camera_P_matrix"])
    RT = np.array(labels["info"]["camera_RT_matrix"])
    K = np.array(labels["info"]["camera_K_matrix"])
    assert np.allclose(K @ RT, P, atol=1e-4)
    assert "OpenCV" in labels["info"]["camera_convention"]
    masks = load_masks(folder)
    job = rebuilt(params, labels)
    W, H = params["image_width"], params["image_height"]
    seen = {0: 0, 1: 0, 2: 0}
    people = [a for a in labels["annotations"] if a["category_id"] == 1]
    assert len(people) == len(labels["images"])
    for ann in people:
        frame = ann["image_id"] - 1
        iseg = masks[f"image.{frame:06d}.iseg.png"]
        person = iseg == 1
        _rgb, inst, body_depth, _layer, _vis = job.compose(frame)
        assert np.array_equal(inst, iseg)  # the rebuilt job is the rendered one
        front = np.minimum(body_depth, job.static.depth)
        arm = ann["armature_keypoints"]
        assert len(arm) >= 24
        for name, j in arm.items():
            g = np.array([j["x_global"], j["y_global"], j["z_global"], 1.0])
            x, y, z = P @ g
            assert abs(z - j["z"]) < 1e-3, name
            if z > 0.05:
                assert abs(x / z - j["x"]) < 1.0 and abs(y / z - j["y"]) < 1.0, name
            seen[j["v"]] += 1
            c, r = int(np.floor(j["x"] + 0.5)), int(np.floor(j["y"] + 0.5))
            inside = j["z"] > 0.05 and 0 <= c < W and 0 <= r < H
            if j["v"] == 0:
                assert not inside, name
                continue
            assert inside, name
            win = (slice(max(r - 1, 0), r + 2), slice(max(c - 1, 0), c + 2))
            if j["v"] == 2:
                assert person[win].any(), (frame, name)
            else:  # something lies in front of the joint, or no person pixel is near it
                assert front[win].min() < j["z"] or not person[win].any(), (frame, name)
        kp = np.array(ann["keypoints"]).reshape(17, 3)
        names = labels["categories"][0]["keypoints"]
        for k, name in enumerate(names):
            assert list(kp[k]) == [arm[name]["x"], arm[name]["y"], arm[name]["v"]]
        assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())
    if case == "bedroom_uppercut":
        assert seen[2] > 0 and seen[1] > 0  # facing the camera, joints behind the body are v=1


@pytest.mark.parametrize("case", list(CASES))
def test_percent_occlusion_is_hidden_over_unoccluded(jobs, case: str) -> None:
    params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    job = rebuilt(params, labels)
    masks = load_masks(folder)
    alone = {k: int(np.isfinite(d).sum()) for k, d in instance_depths(job.camera, job.room,
                                                                        "furniture").items()}
    alone.update({k: int(np.isfinite(d).sum()) for k, d in instance_depths(
        job.camera, job.room, "wall_art").items()})
    colours = {tuple(INSTANCE_PALETTE[k]): k for k in alone}
    for ann in labels["annotations"]:
        frame = ann["image_id"] - 1
        if ann["category_id"] == 1:
            # The amodal mask is the body cast on its own, with no room in front of it.
            layer = job.body_layer(frame, shade=False)
            alone_body = np.zeros((params["image_height"], params["image_width"]), dtype=bool)
            alone_body[layer.slices] = np.isfinite(layer.depth)
            amodal = masks[f"image.{frame:06d}.iseg.{ann['id']}.png"] == 1
            assert np.array_equal(amodal, alone_body), ann["id"]
            unoccluded = int(alone_body.sum())
            visible = int((masks[f"image.{frame:06d}.iseg.png"] == 1).sum())
        else:
            unoccluded = alone[colours[tuple(ann["color"])]]
            visible = ann["area"]
        expected = 100.0 * (unoccluded - visible) / unoccluded if unoccluded else 0.0
        assert abs(ann["percent_occlusion"] - expected) < 1e-3, ann["id"]


def test_furniture_really_occludes_in_the_occluded_case(jobs) -> None:
    labels = json.loads((jobs["livingroom_occluded"][1] / "labels.json").read_text())
    occ = [a["percent_occlusion"] for a in labels["annotations"] if a["category_id"] == 1]
    assert np.mean(occ) > 3.0
    hidden = [v["v"] for a in labels["annotations"] if a["category_id"] == 1
              for v in a["armature_keypoints"].values()]
    assert 1 in hidden


@pytest.mark.parametrize("case", list(CASES))
def test_timing_video_and_estimate(jobs, case: str) -> None:
    params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    images = labels["images"]
    assert GEN.estimate(params, False) == len(images)
    assert [im["frame_number"] for im in images] == list(range(len(images)))
    reps = [im["rep_count_from_start"] for im in images]
    assert reps[0] == 0 and all(b >= a for a, b in zip(reps, reps[1:], strict=False))
    assert params["num_reps"] - 1 <= reps[-1] <= params["num_reps"]
    frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(folder / "video.mp4"))
    assert frames == len(images)
    reader = imageio_ffmpeg.read_frames(str(folder / "video.mp4"))
    meta = next(reader)
    reader.close()
    assert meta["fps"] == params["frame_rate"]
    W, H = params["image_width"], params["image_height"]
    assert tuple(meta["size"]) == (W + W % 2, H + H % 2)
    for im in images:
        m = im["metrics"]
        assert 0 <= m["mean_image_brightness"] <= 255
        assert 0 <= m["mean_avatar_brightness"] <= 255
    preview = np.array(Image.open(folder / "video_preview.png"))
    assert preview.shape == (H, W, 3)
    if params["lighting_power"] == 0:
        assert images[0]["metrics"]["mean_image_brightness"] < 10  # dark, not an error


def test_lighting_power_sets_brightness(jobs) -> None:
    bright = json.loads((jobs["office_curls_bright"][1] / "labels.json").read_text())
    normal = json.loads((jobs["bedroom_uppercut"][1] / "labels.json").read_text())
    assert (bright["images"][0]["metrics"]["mean_image_brightness"]
            > normal["images"][0]["metrics"]["mean_image_brightness"] + 40)


def test_same_seed_same_bytes_and_preview_layout(jobs, tmp_path: Path) -> None:
    params, folder = jobs["bedroom_uppercut"]
    again = tmp_path / "again"
    again.mkdir()
    GEN.run(params, False, again, SEED)
    for name in ("labels.json", "segmentation.zip", "video_preview.png", "job.json",
                 "video.mp4"):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    other = tmp_path / "other"
    other.mkdir()
    GEN.run(params, False, other, SEED + 1)
    assert (other / "labels.json").read_bytes() != (folder / "labels.json").read_bytes()

    preview = tmp_path / "preview"
    preview.mkdir()
    GEN.run(params, True, preview, SEED)
    assert {p.name for p in preview.iterdir()} == {
        "job.json", "labels.json", "video_preview.png", "image.000000.cseg.png",
        "image.000000.iseg.png", "image.000000.iseg.1.png", "timing.json"}
    assert GEN.estimate(params, True) == 1
    labels = json.loads((preview / "labels.json").read_text())
    assert len(labels["images"]) == 1
    # The preview is the video's first frame.
    assert (preview / "video_preview.png").read_bytes() == (folder / "video_preview.png"
                                                            ).read_bytes()


def test_allowable_occlusion_limits_mean_occlusion(jobs, tmp_path: Path) -> None:
    params = dict(jobs["livingroom_occluded"][0], allowable_occlusion=1.0)
    GEN.run(params, False, tmp_path, SEED)
    labels = json.loads((tmp_path / "labels.json").read_text())
    occ = [a["percent_occlusion"] for a in labels["annotations"] if a["category_id"] == 1]
    assert np.mean(occ) <= 1.0
    assert labels["info"]["furniture_left_out"]  # something had to go


def quaternion_matrix(q: list[float]) -> np.ndarray:
    """The rotation of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@pytest.mark.parametrize("case", list(CASES))
def test_quaternions_rebuild_every_global_joint(jobs, case: str) -> None:
    """Forward kinematics from the rest pose and the quaternions alone lands on every
    *_global joint within 1 mm."""
    _params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    armature = labels["info"]["armature"]
    joints, parents = armature["joints"], armature["parents"]
    assert len(joints) == 26 and set(parents) == set(joints)
    assert "SMPL-X" in armature["joints_note"]
    assert [j for j in joints if parents[j] is None] == ["pelvis"]
    assert all(joints.index(parents[j]) < joints.index(j) for j in joints if parents[j])
    worst, turned = 0.0, set()
    for ann in (a for a in labels["annotations"] if a["category_id"] == 1):
        quats, arm = ann["quaternions"], ann["armature_keypoints"]
        assert list(quats) == joints and set(arm) == set(joints)
        frame: dict[str, np.ndarray] = {}
        pos: dict[str, np.ndarray] = {}
        for name in joints:
            q = np.array(quats[name])
            assert abs(np.linalg.norm(q) - 1.0) < 1e-5 and q[0] >= 0.0, name
            if q[0] < 0.9999:
                turned.add(name)
            parent = parents[name]
            if parent is None:
                frame[name] = quaternion_matrix(q)
                pos[name] = np.array([arm[name][k] for k in ("x_global", "y_global",
                                                               "z_global")])
                continue
            frame[name] = frame[parent] @ quaternion_matrix(q)
            pos[name] = pos[parent] + frame[parent] @ np.array(armature["rest_offsets"][name])
        for name in joints:
            labelled = np.array([arm[name][k] for k in ("x_global", "y_global", "z_global")])
            worst = max(worst, float(np.abs(pos[name] - labelled).max()))
    assert worst < 1e-3, worst
    # The joints really turn (not identity quaternions that happen to fit a still pose).
    assert {"pelvis", "left_shoulder", "right_elbow", "left_knee"} <= turned


@pytest.mark.parametrize("case", ["bedroom_uppercut", "office_curls_bright"])
def test_timing_json_per_stage_and_per_frame(jobs, case: str) -> None:
    _params, folder = jobs[case]
    frames = len(json.loads((folder / "labels.json").read_text())["images"])
    timing = json.loads((folder / "timing.json").read_text())
    assert timing["frames"] == frames == len(timing["frame_seconds"])
    assert timing["render_passes"] >= 1
    stages = timing["stages"]
    assert {"build", "room", "setup", "render", "labels", "masks", "video", "finish"} <= set(
        stages)
    assert all(s >= 0.0 for s in stages.values()) and stages["render"] > 0.0
    total = timing["total_seconds"]
    assert sum(stages.values()) <= total + 1e-3
    assert sum(timing["frame_seconds"]) <= total
    assert timing["seconds_per_frame"] == pytest.approx(sum(timing["frame_seconds"]) / frames,
                                                        rel=1e-3, abs=1e-5)
    assert timing["cpu_seconds"] > 0.0


@pytest.mark.parametrize("case", list(CASES))
def test_amodal_mask_contains_visible_and_gives_percent_occlusion(jobs, case: str) -> None:
    """Per frame, the person's amodal mask (PNG and RLE) holds the visible mask, and
    percent_occlusion is (amodal - visible) / amodal of these two masks, to the pixel."""
    _params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    coco = COCO(str(folder / "labels.json"))
    masks = load_masks(folder)
    hidden_frames = 0
    for ann in (a for a in labels["annotations"] if a["category_id"] == 1):
        stem = f"image.{ann['image_id'] - 1:06d}"
        visible = masks[f"{stem}.iseg.png"] == 1
        amodal_png = masks[f"{stem}.iseg.{ann['id']}.png"]
        assert set(np.unique(amodal_png).tolist()) <= {0, 1}
        amodal = amodal_png == 1
        assert np.array_equal(coco.annToMask({**ann, "segmentation": ann["amodal_segmentation"]}
                                             ).astype(bool), amodal)
        assert not (visible & ~amodal).any()  # amodal contains visible
        a, v = int(amodal.sum()), int(visible.sum())
        assert ann["amodal_area"] == a and ann["area"] == v
        if a:
            ys, xs = np.nonzero(amodal)
            assert ann["amodal_bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                          ys.max() - ys.min() + 1]
        assert ann["percent_occlusion"] == round(100.0 * (a - v) / a if a else 0.0, 3)
        hidden_frames += a > v
    if case == "livingroom_occluded":
        assert hidden_frames > 0


DEPTH_CASES = [c for c, values in CASES.items() if values.get("enable_depth_maps")]


def unproject(labels: dict, depth_m: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) of every pixel's depth, from the labelled K and RT alone."""
    K = np.array(labels["info"]["camera_K_matrix"])
    RT = np.array(labels["info"]["camera_RT_matrix"])
    H, W = depth_m.shape
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u, float)],
                   axis=-1) * depth_m[..., None]
    return (cam - RT[:, 3]) @ RT[:, :3]


def body_surface_distance(points: np.ndarray, prims) -> np.ndarray:
    """Distance (n,) from points to the nearest capsule or ellipsoid surface (ellipsoids:
    algebraic distance times the smallest radius, which is never larger on the surface)."""
    a, b, r = prims.cap_a[0], prims.cap_b[0], prims.cap_r
    ab = b - a
    t = np.clip(np.einsum("ncd,cd->nc", points[:, None] - a, ab)
                / np.maximum(np.einsum("cd,cd->c", ab, ab), 1e-12), 0.0, 1.0)
    closest = a + t[..., None] * ab
    caps = np.abs(np.linalg.norm(points[:, None] - closest, axis=-1) - r)
    minv = np.linalg.inv(prims.ell_m[0])
    u = np.einsum("eij,nej->nei", minv, points[:, None] - prims.ell_c[0])
    radii = np.linalg.norm(prims.ell_m[0], axis=1).min(axis=1)
    ells = np.abs(np.linalg.norm(u, axis=-1) - 1.0) * radii
    return np.minimum(caps.min(axis=1), ells.min(axis=1) if ells.size else np.inf)


def box_surface_distance(points: np.ndarray, boxes) -> np.ndarray:
    out = np.full(len(points), np.inf)
    for box in boxes:
        outside = np.linalg.norm(np.maximum(np.maximum(box.lo - points, points - box.hi), 0.0),
                                 axis=1)
        inside = np.minimum(points - box.lo, box.hi - points).min(axis=1)
        out = np.minimum(out, np.where(outside > 0, outside, np.abs(inside)))
    return out


@pytest.mark.parametrize("case", DEPTH_CASES)
def test_depth_maps_lie_on_the_scene_and_agree_with_keypoints(jobs, case: str) -> None:
    """Depth PNGs are the first surface hit in millimetres: every pixel unprojects (with the
    labelled camera) onto the surface it shows within 1 cm, and each keypoint's depth label
    agrees with the map: a visible (v=2) joint has no surface nearer than its own flesh in
    front of it, a hidden one (v=1) something nearer than the joint (or no person pixel)."""
    params, folder = jobs[case]
    labels = json.loads((folder / "labels.json").read_text())
    assert "16-bit" in labels["info"]["depth_format"]
    job = rebuilt(params, labels)
    scene, room = job.room.scene, job.room
    flesh = dict(zip(labels["info"]["armature"]["joints"], job.body.tolerance, strict=True))
    masks = load_masks(folder)
    with zipfile.ZipFile(folder / "depth.zip") as z:
        assert len(z.namelist()) == len(labels["images"])
        depths = {n: np.array(Image.open(io.BytesIO(z.read(n)))) for n in z.namelist()}
    W, H = params["image_width"], params["image_height"]
    checked = {1: 0, 2: 0}
    for ann in (a for a in labels["annotations"] if a["category_id"] == 1):
        frame = ann["image_id"] - 1
        mm = depths[f"image.{frame:06d}.depth.png"]
        assert mm.dtype == np.uint16 and mm.shape == (H, W) and mm.min() > 0
        d = mm / 1000.0
        iseg = masks[f"image.{frame:06d}.iseg.png"]
        world = unproject(labels, d)
        person = iseg == 1
        shell = iseg == 0
        on_shell = np.min([np.abs(world[shell][:, 2]), np.abs(world[shell][:, 2] - scene.height),
                           np.abs(world[shell][:, 1] - scene.depth),
                           np.abs(world[shell][:, 1] - FRONT_Y),
                           np.abs(np.abs(world[shell][:, 0]) - room.half_width)], axis=0)
        assert on_shell.max() < 0.01, (frame, on_shell.max())
        objects = ~person & ~shell
        assert box_surface_distance(world[objects], room.boxes).max(initial=0.0) < 0.01
        body = body_surface_distance(world[person], job.animation.prims.frame(frame))
        assert body.max(initial=0.0) < 0.01, (frame, body.max())
        for name, j in ann["armature_keypoints"].items():
            if j["v"] == 0:
                continue
            c, r = int(np.floor(j["x"] + 0.5)), int(np.floor(j["y"] + 0.5))
            win = (slice(max(r - 1, 0), r + 2), slice(max(c - 1, 0), c + 2))
            if j["v"] == 2:
                seen = person[win] & (d[win] >= j["z"] - flesh[name] - 0.001)
                assert seen.any(), (frame, name)
                if person[r, c]:  # the map at the joint's own pixel: its flesh or behind it
                    assert d[r, c] >= j["z"] - flesh[name] - 0.001, (frame, name)
            else:
                assert d[win].min() < j["z"] or not person[win].any(), (frame, name)
            checked[j["v"]] += 1
    if case == "livingroom_occluded":
        assert checked[1] > 0 and checked[2] > 0


def test_depth_maps_are_off_by_default_and_plain_files_in_a_preview(jobs, tmp_path: Path
                                                                    ) -> None:
    assert GEN.schema["enable_depth_maps"].default is False
    assert not (jobs["bedroom_uppercut"][1] / "depth.zip").exists()
    params, folder = jobs["livingroom_occluded"]
    GEN.run(params, True, tmp_path, SEED)
    preview = np.array(Image.open(tmp_path / "image.000000.depth.png"))
    with zipfile.ZipFile(folder / "depth.zip") as z:
        first = np.array(Image.open(io.BytesIO(z.read("image.000000.depth.png"))))
    assert preview.dtype == np.uint16 and np.array_equal(preview, first)


def test_depth_png_is_lossless_millimetres() -> None:
    from visionfit.generator.encode import DEPTH_MAX_MM, depth_png

    rng = np.random.default_rng(1)
    metres = rng.uniform(0.05, 12.0, (37, 53))
    metres[0, 0], metres[1, 1], metres[2, 2] = np.inf, 70.0, 0.0005
    decoded = np.array(Image.open(io.BytesIO(depth_png(metres))))
    assert decoded.dtype == np.uint16 and decoded.shape == (37, 53)
    expected = np.rint(np.minimum(metres, DEPTH_MAX_MM / 1000) * 1000)
    assert np.array_equal(decoded, expected)
    assert decoded[0, 0] == decoded[1, 1] == DEPTH_MAX_MM and decoded[2, 2] == 0


def test_encode_window_equals_encoding_the_whole_mask() -> None:
    from visionfit.generator.labels import WindowEncoder, encode_mask, encode_window

    rng = np.random.default_rng(5)
    reused = WindowEncoder((31, 29))  # one buffer, windows of every size one after another
    for _ in range(300):
        H, W = (int(v) for v in rng.integers(1, 30, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, H + 1, 2))
        x0, x1 = sorted(int(v) for v in rng.integers(0, W + 1, 2))
        window = rng.random((y1 - y0, x1 - x0)) < rng.random()
        full = np.zeros((H, W), dtype=bool)
        full[y0:y1, x0:x1] = window
        assert encode_window(window, (slice(y0, y1), slice(x0, x1)), (H, W)) == \
            encode_mask(full)
        big = np.zeros((31, 29), dtype=bool)
        big[y0:y1, x0:x1] = window
        assert reused(window, (slice(y0, y1), slice(x0, x1))) == encode_mask(big)
