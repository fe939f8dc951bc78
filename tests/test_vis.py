"""visionfit.utils.vis on jobs rendered by the real VisionFit generator.

The figures are also written to tests/artifacts/vis/ so a person can look at them.
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle
from PIL import Image

from tests.conftest import ARTIFACTS
from tests.support.visionfit_batch import JOBS
from visionfit.utils.sampling import sample_input
from visionfit.utils.vis import (
    CUBOID_EDGES,
    LABEL_STATS,
    display_video,
    job_folders,
    read_frame,
    summarize_batch_results_as_dataframe,
    view_previews,
    visualize_batch_results,
    visualize_frame,
    visualize_job_params,
)

OUT = ARTIFACTS / "vis"


@pytest.fixture(scope="module")
def generator(vf_generator):
    return vf_generator


@pytest.fixture(scope="module")
def batch_folder(vis_batch_folder: Path) -> Path:
    """The session's rendered batch (tests/support/visionfit_batch.py)."""
    OUT.mkdir(parents=True, exist_ok=True)
    return vis_batch_folder


def save(fig, name: str) -> None:
    fig.savefig(OUT / f"{name}.png", dpi=80)


def jobs_of_kind(folder: Path, video: bool) -> list[Path]:
    return [d for d in job_folders(folder) if (d / "video.mp4").is_file() == video]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


# -- DataFrame and statistics -------------------------------------------------------------------


def test_summary_has_one_row_per_job_with_params_and_label_statistics(batch_folder: Path,
                                                                      generator) -> None:
    df = summarize_batch_results_as_dataframe(batch_folder)
    folders = job_folders(batch_folder)
    assert [p.name for p in folders] == df["job_id"].tolist()
    assert df["job_path"].tolist() == [str(p) for p in folders]
    assert len(df) == len(JOBS)  # .partial, .extract-* and batch_id.txt are skipped
    assert set(generator.schema.names) <= set(df.columns)
    assert Counter_of(df["kind"]) == {"video": 2, "preview": 2}
    for row, job_dir in zip(df.to_dict("records"), folders, strict=True):
        job = load(job_dir / "job.json")
        labels = load(job_dir / "labels.json")
        for name, value in job["params"].items():
            assert row[name] == value or (value is None and pd.isna(row[name]))
        assert row["num_frames"] == len(labels["images"])
        person = [a for a in labels["annotations"] if a["category_id"] == 1]
        # Infinity's column names for the per-job averages.
        assert row["avg_percent_in_fov"] == pytest.approx(
            sum(a["percent_in_fov"] for a in person) / len(person))
        assert row["avg_percent_occlusion"] == pytest.approx(
            sum(a["percent_occlusion"] for a in person) / len(person))
        assert row["max_percent_occlusion"] == pytest.approx(
            max(a["percent_occlusion"] for a in person))
        assert 0 <= row["avg_percent_occlusion"] <= 100
        area = [a["bbox"][2] * a["bbox"][3] / (job["params"]["image_width"]
                                                * job["params"]["image_height"]) for a in person]
        assert row["avg_bbox_area_fraction"] == pytest.approx(sum(area) / len(area))
        assert row["min_bbox_area_fraction"] == pytest.approx(min(area))
        visible = [sum(v == 2 for v in a["keypoints"][2::3]) / 17 for a in person]
        assert row["avg_visible_keypoint_fraction"] == pytest.approx(sum(visible) / len(visible))
        assert row["final_rep_count"] == labels["images"][-1]["rep_count_from_start"]
        brightness = [img["metrics"]["mean_image_brightness"] for img in labels["images"]]
        assert row["avg_image_brightness"] == pytest.approx(sum(brightness) / len(brightness))
    assert (df.loc[df["kind"] == "preview", "num_frames"] == 1).all()
    assert (df.loc[df["kind"] == "video", "num_frames"] > 1).all()


def Counter_of(series: pd.Series) -> dict:
    return series.value_counts().to_dict()


def test_summary_of_a_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        summarize_batch_results_as_dataframe(tmp_path / "nowhere")
    empty = summarize_batch_results_as_dataframe(tmp_path)
    assert empty.empty and list(empty.columns) == ["job_path", "job_id", "kind", *LABEL_STATS]
    with pytest.raises(ValueError, match="no downloaded jobs to plot"):
        visualize_batch_results(tmp_path)


def test_summary_index_is_built_once_and_kept_up_to_date(batch_folder: Path,
                                                         tmp_path: Path) -> None:
    """The table reads review/summary.jsonl: a job is read from its labels.json once; a job
    downloaded later is added, one downloaded again (new labels.json) is read again, one
    deleted is dropped; a folder that cannot be written is still summarised."""
    from visionfit.utils import summary_index

    folder = tmp_path / "batch"
    first, *others = job_folders(batch_folder)
    shutil.copytree(first, folder / first.name)
    index = folder / "review" / "summary.jsonl"
    expected = summarize_batch_results_as_dataframe(batch_folder).set_index("job_id")

    read: list[str] = []
    real_row = summary_index._row

    def counting_row(job_dir: Path, signature: list[int]) -> dict:
        read.append(job_dir.name)
        return real_row(job_dir, signature)

    summary_index._row = counting_row
    try:
        summarize_batch_results_as_dataframe(folder)
        assert read == [first.name] and len(index.read_text().splitlines()) == 1
        for job_dir in others:
            shutil.copytree(job_dir, folder / job_dir.name)
        df = summarize_batch_results_as_dataframe(folder)
        assert sorted(read) == sorted(d.name for d in [first, *others])
        assert len(index.read_text().splitlines()) == len(JOBS)
        read.clear()
        again = summarize_batch_results_as_dataframe(folder)
        assert read == []  # nothing new: one file read
        pd.testing.assert_frame_equal(df, again)
        stats = [c for c in LABEL_STATS if c in df.columns]
        pd.testing.assert_frame_equal(df.set_index("job_id")[stats],
                                      expected.loc[df["job_id"], stats])

        labels = folder / others[0].name / "labels.json"
        labels.write_text(labels.read_text() + " ")  # downloaded again
        shutil.rmtree(folder / others[1].name)
        df = summarize_batch_results_as_dataframe(folder)
        assert read == [others[0].name] and len(df) == len(JOBS) - 1
        assert len(index.read_text().splitlines()) == len(JOBS) - 1
    finally:
        summary_index._row = real_row

    index.unlink()
    index.mkdir()  # the index cannot be read or written (as in a read-only folder, even as root)
    assert len(summarize_batch_results_as_dataframe(folder)) == len(JOBS) - 1


def test_tables_show_short_job_ids_on_one_line(batch_folder: Path) -> None:
    from infinity_workflows.review import table_view

    df = summarize_batch_results_as_dataframe(batch_folder)
    html = table_view(df)._repr_html_()
    assert "white-space: nowrap" in html and str(batch_folder) not in html  # no job_path
    for job_id in df["job_id"]:
        assert f">{job_id[:8]}<" in html and job_id not in html
    many = pd.concat([df] * 30, ignore_index=True)
    html = table_view(many, max_rows=10)._repr_html_()
    assert html.count("<tr>") <= 12 and f"10 of {len(many)} rows shown" in html
    assert len(df) == len(JOBS) and len(df["job_id"][0]) == 36  # the DataFrame is whole


def test_batch_results_plot_statistics_first_and_varying_parameters(batch_folder: Path
                                                                    ) -> None:
    fig = visualize_batch_results(batch_folder)
    save(fig, "batch_results")
    names = titles(fig)
    df = summarize_batch_results_as_dataframe(batch_folder)
    varying_stats = [s for s in LABEL_STATS if df[s].nunique() > 1]
    assert "num_frames" in varying_stats  # previews have 1 frame, videos more
    assert names[:len(varying_stats)] == varying_stats
    stat_ax = fig.axes[0]
    assert {p.get_facecolor()[:3] for p in stat_ax.patches} == {(221 / 255, 132 / 255, 82 / 255)}
    assert {"scene", "exercise", "image_width", "kind"} <= set(names)
    # Parameters equal in every job are named in the title, not plotted.
    assert "num_reps" not in names and "frame_rate" not in names
    assert "num_reps=1" in fig._suptitle.get_text()
    assert "frame_rate=6" in fig._suptitle.get_text()
    assert "4 jobs" in fig._suptitle.get_text()
    scene_ax = fig.axes[names.index("scene")]
    assert sorted(t.get_text() for t in scene_ax.get_yticklabels()) == \
        sorted(j["scene"] for j in JOBS)
    # The DataFrame gives the same figure.
    assert titles(visualize_batch_results(df)) == names


def test_job_params_one_plot_per_varying_parameter(generator) -> None:
    r = random.Random(3)
    jobs = [sample_input(generator.schema, rng=r, num_reps=2) for _ in range(300)]
    fig = visualize_job_params(jobs)
    save(fig, "job_params")
    schema = generator.schema
    names = titles(fig)
    # enable_depth_maps is an output switch the sampler leaves off.
    assert names == [n for n in schema.names
                     if n not in ("num_reps", "state", "enable_depth_maps")]
    assert "num_reps=2" in fig._suptitle.get_text() and "state=None" in fig._suptitle.get_text()
    assert "enable_depth_maps=False" in fig._suptitle.get_text()
    assert "300 jobs" in fig._suptitle.get_text()
    dist = fig.axes[names.index("camera_distance")]
    lefts = [p.get_x() for p in dist.patches]
    rights = [p.get_x() + p.get_width() for p in dist.patches]
    assert min(lefts) >= 2.5 - 1e-9 and max(rights) <= 5.0 + 1e-9
    assert sum(p.get_height() for p in dist.patches) == 300
    scene = fig.axes[names.index("scene")]
    assert len(scene.patches) == len(schema["scene"].choices)
    size = fig.axes[names.index("image_width")]
    assert [t.get_text() for t in size.get_xticklabels()] == ["256", "512"]
    assert len(fig.axes) == len(names)
    with pytest.raises(ValueError, match="job_params is empty"):
        visualize_job_params([])
    with pytest.raises(TypeError, match="list of dicts"):
        visualize_job_params([1, 2])


# -- images -------------------------------------------------------------------------------------


def test_preview_grid_shows_each_preview_with_its_caption(batch_folder: Path) -> None:
    fig = view_previews(batch_folder, max_n=3, ncols=2)
    save(fig, "previews")
    folders = job_folders(batch_folder)[:3]
    assert len(fig.axes) == 3
    for ax, job_dir in zip(fig.axes, folders, strict=True):
        params = load(job_dir / "job.json")["params"]
        assert ax.get_title() == f"{params['scene']} / {params['exercise']}\n{job_dir.name[:8]}"
        shown = ax.images[0].get_array()
        with Image.open(job_dir / "video_preview.png") as im:
            assert np.array_equal(shown, np.asarray(im.convert("RGB")))
        assert shown.shape == (params["image_height"], params["image_width"], 3)
    assert "first 3 of 4" in fig._suptitle.get_text()
    assert len(view_previews(batch_folder).axes) == 4


def count_segments(fig_ax, gid: str) -> int:
    return sum(len(c.get_segments()) for c in fig_ax.collections
               if isinstance(c, LineCollection) and c.get_gid() == gid)


def iseg_png(job_dir: Path, frame_number: int) -> bytes:
    """The frame's instance mask: in segmentation.zip for a video, beside it for a preview."""
    name = f"image.{frame_number:06d}.iseg.png"
    if (job_dir / "segmentation.zip").is_file():
        with zipfile.ZipFile(job_dir / "segmentation.zip") as z:
            return z.read(next(n for n in z.namelist() if n.endswith(name)))
    return (job_dir / name).read_bytes()


def check_overlays(fig, job_dir: Path, frame: int) -> None:
    labels = load(job_dir / "labels.json")
    image = labels["images"][frame]
    anns = [a for a in labels["annotations"] if a["image_id"] == image["id"]]
    person = next(a for a in anns if a["category_id"] == 1)
    boxes, cuboids, seg = fig.axes[:3]
    assert [boxes.get_title(), cuboids.get_title()] == ["Boxes and skeleton", "3D cuboids"]
    assert seg.get_title().startswith("Instance segmentation")
    for ax in (boxes, cuboids, seg):
        assert ax.images[0].get_array().shape == (image["height"], image["width"], 3)

    rects = [p for p in boxes.patches if isinstance(p, Rectangle) and p.get_gid() == "bbox"]
    assert len(rects) == len(anns)
    assert any(np.allclose([r.get_x(), r.get_y(), r.get_width(), r.get_height()],
                           person["bbox"]) for r in rects)
    kps = np.asarray(person["keypoints"], float).reshape(-1, 3)
    skeleton = next(c for c in labels["categories"] if c["name"] == "person")["skeleton"]
    drawn = [(a, b) for a, b in skeleton if kps[a - 1, 2] > 0 and kps[b - 1, 2] > 0]
    both_visible = [(a, b) for a, b in drawn if kps[a - 1, 2] == 2 and kps[b - 1, 2] == 2]
    assert count_segments(boxes, "skeleton") == len(both_visible)
    assert count_segments(boxes, "skeleton-hidden") == len(drawn) - len(both_visible)
    lines = {line.get_gid(): line for line in boxes.lines}
    assert len(lines["keypoints-visible"].get_xdata()) == int((kps[:, 2] == 2).sum())
    assert len(lines["keypoints-hidden"].get_xdata()) == int((kps[:, 2] == 1).sum())

    with_cuboid = [a for a in anns if len(a.get("cuboid_coordinates") or []) == 8]
    assert with_cuboid
    assert count_segments(cuboids, "cuboid") == len(CUBOID_EDGES) * len(with_cuboid)

    overlay = next(im for im in seg.images if im.get_gid() == "segmentation").get_array()
    iseg = np.asarray(Image.open(BytesIO(iseg_png(job_dir, image["frame_number"]))).convert("RGB"))
    assert np.array_equal(overlay[..., 3] > 0, iseg.any(axis=2))
    assert np.allclose(overlay[..., :3], iseg / 255.0)


def test_label_overlays_of_a_video_frame(batch_folder: Path) -> None:
    job_dir = jobs_of_kind(batch_folder, video=True)[0]
    labels = load(job_dir / "labels.json")
    frame = len(labels["images"]) // 2
    fig = visualize_frame(job_dir, frame=frame)
    save(fig, "labels_video")
    check_overlays(fig, job_dir, frame)
    assert f"frame {frame + 1} of {len(labels['images'])}" in fig._suptitle.get_text()
    # The frame shown is the video's frame, not the preview (which is frame 0).
    shown = fig.axes[0].images[0].get_array()
    assert np.array_equal(shown, read_frame(job_dir, frame))
    with pytest.raises(IndexError, match=f"{job_dir.name} has {len(labels['images'])} frame"):
        visualize_frame(job_dir, frame=len(labels["images"]))


def test_first_video_frame_matches_the_preview(batch_folder: Path) -> None:
    job_dir = jobs_of_kind(batch_folder, video=True)[1]
    with Image.open(job_dir / "video_preview.png") as im:
        preview = np.asarray(im.convert("RGB"), float)
    decoded = read_frame(job_dir, 0).astype(float)
    assert decoded.shape == preview.shape
    assert np.abs(decoded - preview).mean() < 8  # H.264 is lossy, yet close


def test_label_overlays_of_a_preview(batch_folder: Path) -> None:
    job_dir = jobs_of_kind(batch_folder, video=False)[0]
    fig = visualize_frame(job_dir)
    save(fig, "labels_preview")
    check_overlays(fig, job_dir, 0)
    with Image.open(job_dir / "video_preview.png") as im:
        assert np.array_equal(fig.axes[0].images[0].get_array(), np.asarray(im.convert("RGB")))
    with pytest.raises(IndexError, match="out of range"):
        visualize_frame(job_dir, frame=1)


def test_display_video_links_a_looping_muted_player(batch_folder: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    job_dir = jobs_of_kind(batch_folder, video=True)[0]
    monkeypatch.chdir(batch_folder.parent)  # the notebook's folder, where its kernel runs
    video = display_video(job_dir, width=320)
    html = video._repr_html_()
    for attribute in ("controls", "loop", "muted", 'width="320"', "<video"):
        assert attribute in html
    # Linked: the notebook keeps a URL relative to its folder, never the video's bytes.
    assert f'src="{batch_folder.name}/{job_dir.name}/video.mp4"' in html
    assert len(html) < 1000
    with pytest.raises(FileNotFoundError, match="preview job"):
        display_video(jobs_of_kind(batch_folder, video=False)[0])


def test_batch_results_stratified_by_a_parameter(batch_folder: Path) -> None:
    df = summarize_batch_results_as_dataframe(batch_folder)
    fig = visualize_batch_results(df, stratify_var="kind")
    save(fig, "batch_results_by_kind")
    names = titles(fig)
    frames_ax = fig.axes[names.index("num_frames")]
    # One bar series per kind, stacked: the bars of each kind sum to its number of jobs.
    colours = {}
    for patch in frames_ax.patches:
        colours.setdefault(patch.get_facecolor(), 0)
        colours[patch.get_facecolor()] += patch.get_height()
    assert sorted(colours.values()) == [2, 2]
    legend = fig.legends[0]
    assert legend.get_title().get_text() == "kind"
    assert [t.get_text() for t in legend.get_texts()] == ["preview", "video"]
    with pytest.raises(ValueError, match="stratify_var 'nope' is not a column"):
        visualize_batch_results(df, stratify_var="nope")
    with pytest.raises(ValueError, match="at most 10"):
        visualize_batch_results(df, stratify_var="job_id") if len(df) > 10 else \
            visualize_batch_results(pd.concat([df] * 3, ignore_index=True).assign(
                job_id=[str(i) for i in range(3 * len(df))]), stratify_var="job_id")


@pytest.mark.slow
def test_linked_figure_is_a_file_drawn_once_per_key(batch_folder: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from infinity_workflows.review import linked_figure
    from visionfit.utils.summary_index import index_digest

    monkeypatch.chdir(tmp_path)  # the notebook's folder
    drawn: list[int] = []

    def make():
        drawn.append(1)
        return visualize_batch_results(batch_folder)

    path = tmp_path / "review" / "histograms.png"
    digest = index_digest(batch_folder)
    shown = linked_figure(make, path, key=[digest, ""])
    assert 'src="review/histograms.png"' in shown._repr_html_() and drawn == [1]
    with Image.open(path) as im:
        assert im.width > 500
    linked_figure(make, path, key=[digest, ""])
    assert drawn == [1]  # the same key: the file is shown again, nothing drawn
    linked_figure(make, path, key=[digest, "scene"])
    assert drawn == [1, 1]
    assert index_digest(batch_folder) == digest  # nothing changed in the batch
