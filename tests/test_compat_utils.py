"""visionfit.utils by the names Infinity's notebooks import (images, notebook, videos), on
jobs rendered by the real VisionFit generator; and records Infinity's toolkit made."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from infinity_workflows.records import list_records, record_lineage, rerun_record
from visionfit.utils.images import get_subdirectories, view_list_of_images, view_previews
from visionfit.utils.notebook import display_video_as_gif
from visionfit.utils.sampling import sample_input
from visionfit.utils.videos import (
    create_grid_of_videos,
    parse_video_frames,
    stack_videos,
    video_fps,
)

SIZES = [(160, 128, False), (160, 128, False), (192, 256, False), (128, 128, True)]


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from visionfit.generator import VisionFitGenerator

    generator = VisionFitGenerator()
    root = tmp_path_factory.mktemp("batch")
    rng = random.Random(11)
    for width, height, is_preview in SIZES:
        params = generator.schema.complete(sample_input(
            generator.schema, rng=rng, num_reps=1, frame_rate=6, rel_baseline_speed=2.0,
            inter_rep_delay_avg=0.0, add_pauses=False, image_width=width,
            image_height=height))
        job_dir = root / str(uuid.uuid4())
        job_dir.mkdir()
        generator.run(params, is_preview, job_dir, rng.getrandbits(63))
    (root / ".partial").mkdir()  # an interrupted download's scratch: never a job
    return root


def videos_of(root: Path) -> list[Path]:
    """The video jobs' videos, the two 160x128 ones first."""
    def height(video: Path) -> int:
        return json.loads((video.parent / "job.json").read_text())["params"]["image_height"]

    return sorted(root.glob("*/video.mp4"), key=lambda v: (height(v), str(v)))


def test_subdirectories_and_preview_grid(batch_folder: Path) -> None:
    folders = get_subdirectories(batch_folder)
    assert len(folders) == 4 and all(isinstance(f, str) for f in folders)
    fig = view_previews(np.random.default_rng(0).choice(folders, 3, replace=False))
    assert len(fig.axes) == 3  # one preview per job folder, masks beside it not shown
    assert view_list_of_images([Path(folders[0]) / "video_preview.png"]).axes
    with pytest.raises(ValueError, match="empty"):
        view_previews([])
    with pytest.raises(FileNotFoundError):
        get_subdirectories(batch_folder / "nope")


def test_parse_and_stack_videos(batch_folder: Path, tmp_path: Path) -> None:
    a, b, c = videos_of(batch_folder)
    frames_a, frames_c = parse_video_frames(a), parse_video_frames(c)
    assert frames_a.shape[1:] == (128, 160, 3) and frames_a.dtype == np.uint8
    assert parse_video_frames(a, height=64).shape[1:] == (64, 80, 3)
    with pytest.raises(ValueError, match="height or width"):
        parse_video_frames(a, height=1, width=1)
    n = min(len(frames_a), len(parse_video_frames(b)))
    side = parse_video_frames(stack_videos([a, b], axis=2, output_path=tmp_path / "s.mp4"))
    assert side.shape == (n, 128, 320, 3)
    assert video_fps(tmp_path / "s.mp4") == video_fps(a) == 6
    # The left half is video a (H.264 twice: close, not equal).
    assert np.abs(side[:, :, :160].astype(int) - frames_a[:n]).mean() < 6
    with pytest.raises(ValueError, match="heights differ"):
        stack_videos([a, c], axis=2)
    fixed = parse_video_frames(stack_videos([a, c], axis=2, fixed_size=128))
    assert fixed.shape[1] == 128 and fixed.shape[2] == 160 + 96
    grid = create_grid_of_videos([a, b, a], num_per_row=2, output_path=tmp_path / "g.mp4")
    assert parse_video_frames(grid).shape[1:] == (256, 320, 3)
    assert np.all(parse_video_frames(grid)[:, 132:, 164:] > 240)  # the padded tile is white
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.mp4", "s.mp4"]
    assert frames_c.shape[1:] == (256, 192, 3)


def test_video_as_gif(batch_folder: Path) -> None:
    video = videos_of(batch_folder)[0]
    shown = display_video_as_gif(str(video), downsample_resolution=2, downsample_frames=2)
    gif = video.with_suffix(".gif")
    with Image.open(gif) as im:
        assert im.size == (80, 64)
        assert im.n_frames == (len(parse_video_frames(video)) + 1) // 2
        assert abs(im.info["duration"] - 1000 * 2 / 6) <= 10  # GIF counts centiseconds
    assert shown.width == 600
    with pytest.raises(FileNotFoundError, match="preview job"):
        display_video_as_gif(video.parent / "missing.mp4")


def foreign_record(folder: Path, kind: str, parameters: dict) -> Path:
    """A record as Infinity's create notebook wrote it: template + papermill's injected
    parameters (their TOKEN included), no lineage metadata."""
    import papermill

    book = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("import os")
    params.metadata["tags"] = ["parameters"]
    book.cells = [params, nbformat.v4.new_code_cell(
        "print('ran with', GENERATOR, SERVER, globals().get('BATCH_ID'), TOKEN is None)")]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    template = folder.parent / f"{kind}_template.ipynb"
    nbformat.write(book, str(template))
    path = folder / f"{kind}_batch_2022_08_01_T_10_00_00.ipynb"
    papermill.execute_notebook(str(template), str(path), parameters=parameters,
                               prepare_only=True, progress_bar=False)
    return path


def test_records_made_by_infinitys_toolkit_are_listed_and_rerun(tmp_path: Path) -> None:
    records = tmp_path / "workflow_records"
    folder = records / "workflow_2022_08_01_T_10_00_00"
    folder.mkdir(parents=True)
    secret = "tok-" + uuid.uuid4().hex
    batch_id = str(uuid.uuid4())
    common = {"TOKEN": secret, "GENERATOR": "visionfit-v0.4.0",
              "SERVER": "http://127.0.0.1:9/"}
    submit = foreign_record(folder, "submit", common)
    download = foreign_record(folder, "download", {**common, "BATCH_ID": batch_id})
    (folder / "notes.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))

    found = {r.notebook: r for r in list_records(records)}
    assert set(found) == {submit.name, download.name}  # notes.ipynb is no record
    assert not found[download.name].made_here and found[download.name].kind == "download"
    assert found[download.name].batch_id == batch_id
    assert found[submit.name].generator == "visionfit-v0.4.0"
    assert record_lineage(submit)["created"] == "2022_08_01_T_10_00_00"

    with pytest.raises(ValueError, match="never written into a record"):
        rerun_record(download, {"TOKEN": "x"})
    other = str(uuid.uuid4())
    with pytest.raises(ValueError, match="not code you wrote or accepted"):
        rerun_record(download, {"BATCH_ID": other})  # their code, not our template's
    new = rerun_record(download, {"BATCH_ID": other}, trust=True)
    text = new.read_text()
    assert secret not in text
    assert f"ran with visionfit-v0.4.0 http://127.0.0.1:9/ {other} True" in text
    lineage = record_lineage(new)
    assert lineage["made_here"] and lineage["kind"] == "download"
    assert lineage["batch_id"] == other and lineage["parent"].endswith(download.name)
    assert new.parent.parent == records


@pytest.mark.slow
def test_visualize_job_params_with_infinitys_keywords(tmp_path: Path) -> None:
    from visionfit.generator import VisionFitGenerator
    from visionfit.utils.sampling import sample_inputs
    from visionfit.utils.vis import visualize_job_params

    jobs = sample_inputs(VisionFitGenerator.schema, 30, rng=2, exercise="UPPERCUT")
    fig = visualize_job_params(jobs, num_per_row=3, stratify_var="exercise",
                               output_dir=tmp_path / "figs", plot_title="Uppercuts")
    assert fig._suptitle.get_text().startswith("Uppercuts")
    saved = tmp_path / "figs" / "job_params.png"
    with Image.open(saved) as im:
        assert im.size[0] > 300
    legend_texts = {t.get_text() for ax in fig.axes if ax.get_legend()
                    for t in ax.get_legend().get_texts()}
    legend_texts |= {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"UPPERCUT-LEFT", "UPPERCUT-RIGHT"} <= legend_texts  # coloured by exercise
    visualize_job_params(jobs, output_dir=tmp_path / "one.svg")  # a file path, as Infinity's
    assert (tmp_path / "one.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["figs", "job_params.png",
                                                          "one.svg"]
