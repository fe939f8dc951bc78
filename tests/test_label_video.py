"""The label video, the batch mosaic and the coverage report, on jobs rendered by the real
VisionFit generator and read back by decoding what was written.

Pictures go to tests/artifacts/label_video/ so a person can look at them.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from infinity_workflows.review import relative_url
from tests.conftest import ARTIFACTS
from visionfit.utils.jobdata import JobLabels, MaskReader, job_folders, video_frames
from visionfit.utils.label_panels import DEFAULT_PANELS, OCCLUDED, VISIBLE, panel_scale
from visionfit.utils.label_video import (
    LABEL_STILL,
    LABEL_VIDEO,
    display_batch_results,
    visualize_all_labels,
)
from visionfit.utils.sampling import sample_input
from visionfit.utils.vis import label_coverage

OUT = ARTIFACTS / "label_video"
JOBS = [
    dict(is_preview=False, scene="GYM_1", exercise="BURPEE", image_width=128, image_height=128,
         frame_rate=8),
    dict(is_preview=False, scene="LIVINGROOM_1", exercise="SQUAT-BODYWEIGHT", image_width=256,
         image_height=192, frame_rate=6),
    dict(is_preview=True, scene="OFFICE_1", exercise="PUSHUP", image_width=256,
         image_height=256),
    dict(is_preview=True, scene="BEDROOM_4", exercise="JUMPING_JACK", image_width=160,
         image_height=160),
]


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from visionfit.generator import VisionFitGenerator

    generator = VisionFitGenerator()
    root = tmp_path_factory.mktemp("batch")
    rng = random.Random(12)
    for spec in JOBS:
        spec = dict(spec)
        is_preview = spec.pop("is_preview")
        params = generator.schema.complete(sample_input(
            generator.schema, rng=rng, num_reps=1, rel_baseline_speed=2.0,
            inter_rep_delay_avg=0.0, add_pauses=False, camera_distance=3.2, **spec))
        job_dir = root / str(uuid.uuid4())
        job_dir.mkdir()
        generator.run(params, is_preview, job_dir, rng.getrandbits(63))
    OUT.mkdir(parents=True, exist_ok=True)
    return root


def video_jobs(folder: Path) -> list[Path]:
    return [d for d in job_folders(folder) if (d / "video.mp4").is_file()]


def preview_jobs(folder: Path) -> list[Path]:
    return [d for d in job_folders(folder) if not (d / "video.mp4").is_file()]


def decode(path: Path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    reader.close()
    return meta, [f.copy() for f in video_frames(path)]


def panel(grid: np.ndarray, index: int, height: int, width: int, cols: int = 4) -> np.ndarray:
    r, c = divmod(index, cols)
    return grid[r * height:(r + 1) * height, c * width:(c + 1) * width]


def isolated(points: np.ndarray, i: int, distance: float) -> bool:
    gaps = np.hypot(*(points[:, :2] - points[i, :2]).T)
    return bool((np.delete(gaps, i) > distance).all())


def close(colour: np.ndarray, expected: tuple[int, int, int], tolerance: int) -> bool:
    return bool((np.abs(colour.astype(int) - expected) <= tolerance).all())


def check_keypoint_markers(grid: np.ndarray, labels: JobLabels, i: int, tolerance: int
                           ) -> tuple[int, int]:
    """Every visible keypoint (clear of the others) shows the visible colour at its pixel
    in the keypoints panel; returns how many were checked, and at how many of them the
    boxes panel (no markers) has that colour too."""
    s = panel_scale(labels.width, labels.height)
    h, w = labels.height * s, labels.width * s
    names = list(DEFAULT_PANELS)
    keypoints_panel = panel(grid, names.index("keypoints"), h, w)
    boxes_panel = panel(grid, names.index("boxes"), h, w)
    kps = labels.keypoints[i]
    radius = max(3, round(1.6 * s))
    checked = plain = 0
    for k, (x, y, v) in enumerate(kps):
        if v != 2 or not isolated(kps, k, 2.5 * radius / s):
            continue
        col, row = round((x + 0.5) * s - 0.5), round((y + 0.5) * s - 0.5)
        legend_left = (labels.person_bbox[i][0] + labels.person_bbox[i][2] / 2) * s >= w / 2
        under_legend = row > h - 60 and (col < 130 if legend_left else col > w - 130)
        if under_legend or not (radius <= col < w - radius and 20 <= row < h - radius):
            continue
        centre = keypoints_panel[row, col]
        assert close(centre, VISIBLE, tolerance), (labels.keypoint_names[k], centre)
        plain += close(boxes_panel[row, col], VISIBLE, 60)
        checked += 1
    return checked, plain


@pytest.mark.parametrize("which", [0, 1])
def test_label_video_has_every_frame_at_the_grid_size_with_markers_on_the_keypoints(
        batch_folder: Path, which: int) -> None:
    job_dir = video_jobs(batch_folder)[which]
    labels = JobLabels.load(job_dir)
    shown = visualize_all_labels(job_dir)
    path = job_dir / LABEL_VIDEO
    assert path.is_file() and not list(job_dir.glob(".*partial*"))
    meta, frames = decode(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == labels.fps
    assert len(frames) == labels.frames
    s = panel_scale(labels.width, labels.height)
    assert frames[0].shape == (2 * labels.height * s, 4 * labels.width * s, 3)
    counts = [check_keypoint_markers(frames[i], labels, i, tolerance=60)
              for i in range(0, labels.frames, max(1, labels.frames // 5))]
    checked, plain = np.sum(counts, axis=0)
    assert checked >= 10
    assert plain <= checked / 4  # control: without markers, those pixels are another colour
    html = shown._repr_html_()
    assert "<video" in html and "autoplay" in html and "loop" in html
    # Linked, not embedded: the notebook keeps a URL relative to its folder, not the bytes.
    assert shown.path == path and f'src="{relative_url(path)}"' in html and len(html) < 1000
    Image.fromarray(frames[labels.frames // 2]).save(OUT / f"video_{which}_middle.png")


def test_segmentation_panels_tint_the_masked_pixels(batch_folder: Path) -> None:
    job_dir = video_jobs(batch_folder)[1]
    labels = JobLabels.load(job_dir)
    visualize_all_labels(job_dir, frames=[3])
    _, (grid,) = decode(job_dir / LABEL_VIDEO)
    s = panel_scale(labels.width, labels.height)
    h, w = labels.height * s, labels.width * s
    names = list(DEFAULT_PANELS)
    with MaskReader(job_dir) as masks:
        index, palette = masks.read(int(labels.frame_numbers[3]), "iseg")
    person = np.repeat(np.repeat(index == 1, s, axis=0), s, axis=1)
    for _ in range(2):  # away from the edge (the amodal outline, H.264's blur)
        person[1:-1, 1:-1] &= (person[:-2, 1:-1] & person[2:, 1:-1] & person[1:-1, :-2]
                               & person[1:-1, 2:])
    person[:24] = False  # under the panel's title
    x, _, bw, _ = labels.person_bbox[3]
    legend_left = (x + bw / 2) * s >= w / 2  # the legend sits in the corner away from them
    person[h - 100:, :150] = person[h - 100:, :150] & ~legend_left
    person[h - 100:, w - 150:] = person[h - 100:, w - 150:] & legend_left
    assert person.sum() > 200
    plain = panel(grid, names.index("boxes"), h, w)[person].mean(axis=0)
    tinted = panel(grid, names.index("instances"), h, w)[person].mean(axis=0)
    crimson = palette[1].astype(float)
    # The person's mask colour laid over the picture at 55% opacity.
    assert np.abs(tinted - (0.45 * plain + 0.55 * crimson)).max() < 15, (plain, tinted)


def test_rep_count_cursor_and_3d_skeleton_move(batch_folder: Path) -> None:
    job_dir = video_jobs(batch_folder)[0]
    labels = JobLabels.load(job_dir)
    visualize_all_labels(job_dir, panels=["skeleton_3d", "rep_count"])
    _, frames = decode(job_dir / LABEL_VIDEO)
    s = panel_scale(labels.width, labels.height)
    h, w = labels.height * s, labels.width * s
    assert frames[0].shape == (h, 2 * w, 3)

    def cursor_x(grid: np.ndarray) -> float:
        rep = panel(grid, 1, h, w, cols=2)[h // 3:]
        red = (rep[..., 0] > 180) & (rep[..., 1] < 110) & (rep[..., 2] < 110)
        return float(np.nonzero(red.any(axis=0))[0].mean())

    xs = [cursor_x(f) for f in frames]
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False))  # left to right, every frame
    first, last = (panel(frames[k], 0, h, w, cols=2).astype(int) for k in (0, -1))
    assert np.abs(first - last).sum(axis=2).astype(bool).sum() > 200  # the body moved


def test_frames_panels_and_bad_requests(batch_folder: Path, tmp_path: Path) -> None:
    job_dir = video_jobs(batch_folder)[0]
    labels = JobLabels.load(job_dir)
    out = tmp_path / "three.mp4"
    visualize_all_labels(job_dir, frames=[0, 2, labels.frames - 1],
                         panels=["keypoints", "boxes", "semantic"], out=out)
    _, frames = decode(out)
    s = panel_scale(labels.width, labels.height)
    assert len(frames) == 3 and frames[0].shape == (labels.height * s, 3 * labels.width * s, 3)
    visualize_all_labels(job_dir, frames=slice(0, 4), out=out)
    assert len(decode(out)[1]) == 4
    with pytest.raises(IndexError, match=f"has {labels.frames} frame"):
        visualize_all_labels(job_dir, frames=[labels.frames], out=out)
    with pytest.raises(ValueError, match="unknown panel.*'rgb'.*choose among boxes"):
        visualize_all_labels(job_dir, panels=["rgb"], out=out)
    # A video shorter than its labels (a broken download) is named, and nothing is left.
    broken = tmp_path / "broken"
    shutil.copytree(job_dir, broken)
    labels_json = json.loads((broken / "labels.json").read_text())
    extra = dict(labels_json["images"][-1], id=10_000, frame_number=labels.frames)
    labels_json["images"].append(extra)
    (broken / "labels.json").write_text(json.dumps(labels_json))
    (broken / LABEL_VIDEO).unlink(missing_ok=True)
    with pytest.raises(ValueError, match="download the job again"):
        visualize_all_labels(broken)
    assert not (broken / LABEL_VIDEO).exists() and not list(broken.glob(".*partial*"))


def test_preview_gives_a_still_of_the_same_panels(batch_folder: Path) -> None:
    job_dir = preview_jobs(batch_folder)[0]
    labels = JobLabels.load(job_dir)
    shown = visualize_all_labels(job_dir)
    with Image.open(job_dir / LABEL_STILL) as im:
        grid = np.asarray(im.convert("RGB"))
    assert shown.path == job_dir / LABEL_STILL and not shown.video
    s = panel_scale(labels.width, labels.height)
    assert grid.shape == (2 * labels.height * s, 4 * labels.width * s, 3)
    assert check_keypoint_markers(grid, labels, 0, tolerance=0)[0] >= 3  # lossless: exact
    # Occluded keypoints are rings in the occluded colour, at their labelled pixels.
    kp_panel = panel(grid, list(DEFAULT_PANELS).index("keypoints"), labels.height * s,
                     labels.width * s)
    radius = max(3, round(1.6 * s))
    for x, y, v in labels.keypoints[0]:
        if v == 1:
            col, row = round((x + 0.5) * s - 0.5), round((y + 0.5) * s - 0.5)
            ring = kp_panel[row - radius - 1:row + radius + 2,
                            col - radius - 1:col + radius + 2]
            assert (ring.reshape(-1, 3) == OCCLUDED).all(axis=1).any()
    # The person's amodal mask is outlined in white on the instance panel.
    person = next(a for a in labels.annotations[0] if a["category_id"] == labels.person_id)
    with MaskReader(job_dir) as masks:
        body = masks.read(0, f"iseg.{person['id']}")[0] > 0
    body = np.repeat(np.repeat(body, s, axis=0), s, axis=1)
    inner = body.copy()
    inner[1:-1, 1:-1] &= body[:-2, 1:-1] & body[2:, 1:-1] & body[1:-1, :-2] & body[1:-1, 2:]
    edge = body & ~inner
    edge[:24] = False
    instances = panel(grid, list(DEFAULT_PANELS).index("instances"), labels.height * s,
                      labels.width * s)
    assert edge.sum() > 20
    assert ((instances[edge] == 255).all(axis=1).mean()) > 0.9  # all but under the legend
    Image.fromarray(grid).save(OUT / "preview_still.png")
    with pytest.raises(IndexError, match=r"has 1 frame\(s\), 0 to 0"):
        visualize_all_labels(job_dir, frames=[0, 1])


def test_mosaic_of_a_video_batch_and_of_a_previews_batch(batch_folder: Path,
                                                         tmp_path: Path) -> None:
    shown = display_batch_results(batch_folder, n=6)
    assert shown.path == batch_folder / "review" / "label_mosaic.mp4" and shown.video
    meta, frames = decode(shown.path)
    timing = [JobLabels.load(j) for j in video_jobs(batch_folder)]
    fps = max(t.fps for t in timing)
    assert meta["fps"] == fps
    assert len(frames) == round(max(t.frames / t.fps for t in timing) * fps)
    assert frames[0].shape == (272, 1024, 3)  # two video jobs side by side, 512x256 + caption
    assert frames[0][:, :512].std() > 10 and frames[0][:, 512:].std() > 10
    Image.fromarray(frames[len(frames) // 2]).save(OUT / "mosaic_middle.png")
    made = shown.path.stat().st_mtime_ns
    assert display_batch_results(batch_folder, n=6).path.stat().st_mtime_ns == made  # kept

    previews = tmp_path / "previews"
    previews.mkdir()
    for job_dir in preview_jobs(batch_folder):
        shutil.copytree(job_dir, previews / job_dir.name)
    shown = display_batch_results(previews, n=1)
    with Image.open(previews / "review" / "label_mosaic.png") as im:
        assert im.size == (512, 272)
    assert shown.path == previews / "review" / "label_mosaic.png" and not shown.video
    with pytest.raises(ValueError, match="n must be at least 1"):
        display_batch_results(previews, n=0)


def check_coverage(fig, folder: Path) -> None:
    folders = job_folders(folder)
    labels = [JobLabels.load(d) for d in folders]
    vis = np.concatenate([lab.keypoints[:, :, 2] for lab in labels])
    by_title = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    bars = by_title["Keypoint visibility per joint"]
    for value in (2, 1, 0):
        widths = [p.get_width() for p in bars.patches if p.get_gid() == f"visibility-{value}"]
        assert np.allclose(widths, (vis == value).mean(axis=0) * 100)
    occlusion = by_title["Occlusion distribution"]
    assert sum(p.get_height() for p in occlusion.patches) == len(vis)
    centres = by_title["Person box centre over the image"].images[0].get_array()
    assert centres.sum() == len(vis)
    counts = by_title["Jobs per exercise x scene"].images[0].get_array()
    assert counts.sum() == len(folders)
    scatter = by_title["relative_camera_yaw_deg vs relative_avatar_angle_deg"]
    assert len(scatter.collections[0].get_offsets()) == len(folders)


def test_coverage_report_of_videos_and_of_previews(batch_folder: Path, tmp_path: Path
                                                   ) -> None:
    fig = label_coverage(batch_folder)
    fig.savefig(OUT / "coverage_mixed.png", dpi=60)
    check_coverage(fig, batch_folder)
    assert "4 jobs" in fig._suptitle.get_text() and "(2 previews)" in fig._suptitle.get_text()

    previews = tmp_path / "previews"
    previews.mkdir()
    for job_dir in preview_jobs(batch_folder):
        shutil.copytree(job_dir, previews / job_dir.name)
    fig = label_coverage(previews)
    fig.savefig(OUT / "coverage_previews.png", dpi=60)
    check_coverage(fig, previews)
    assert "what the matching video batch will cover" in fig._suptitle.get_text()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no downloaded job"):
        label_coverage(tmp_path / "empty")


def test_depth_panel_colours_each_pixel_by_its_depth(tmp_path: Path) -> None:
    from visionfit.generator import VisionFitGenerator
    from visionfit.utils.label_panels import depth_colours

    generator = VisionFitGenerator()
    params = generator.schema.complete({"exercise": "SQUAT-BODYWEIGHT", "scene": "GYM_1",
                                        "image_width": 128, "image_height": 128,
                                        "frame_rate": 6, "num_reps": 1,
                                        "enable_depth_maps": True})
    preview, video = tmp_path / "preview", tmp_path / "video"
    for folder, is_preview in ((preview, True), (video, False)):
        folder.mkdir()
        generator.run(params, is_preview, folder, 21)

    visualize_all_labels(preview, panels=["depth", "boxes"])
    with Image.open(preview / LABEL_STILL) as im:
        grid = np.asarray(im.convert("RGB"))
    with Image.open(preview / "image.000000.depth.png") as im:
        depth_mm = np.asarray(im).astype(np.int64)
    s = panel_scale(128, 128)
    shown = grid[:, :128 * s][::s, ::s]  # one pixel per depth pixel (enlarged s times)
    expected = depth_colours(depth_mm)
    below_title = np.zeros(depth_mm.shape, bool)
    below_title[16:100] = True  # clear of the title and the near/far legend
    assert (shown[below_title] == expected[below_title]).all(axis=1).mean() > 0.99
    # Nearer is another colour than farther: the map is not flat.
    assert len(np.unique(expected[below_title].reshape(-1, 3), axis=0)) > 20

    visualize_all_labels(video, panels=["depth"])
    _, frames = decode(video / LABEL_VIDEO)
    assert len(frames) == JobLabels.load(video).frames
    with pytest.raises(ValueError, match="unknown panel"):
        visualize_all_labels(video, panels=["depths"])
    # A job without depth maps says so in the panel rather than failing.
    plain = tmp_path / "plain"
    plain.mkdir()
    generator.run({**params, "enable_depth_maps": False}, True, plain, 21)
    visualize_all_labels(plain, panels=["depth"])
    assert (plain / LABEL_STILL).is_file()


def test_an_empty_frame_selection_is_refused(batch_folder: Path, tmp_path: Path) -> None:
    job_dir = video_jobs(batch_folder)[0]
    with pytest.raises(IndexError, match=r"frames \(none\) out of range"):
        visualize_all_labels(job_dir, frames=slice(5, 5), out=tmp_path / "none.mp4")
    with pytest.raises(IndexError, match=r"frames \(none\) out of range"):
        visualize_all_labels(job_dir, frames=[], out=tmp_path / "none.mp4")
    assert not list(tmp_path.iterdir())
