"""The label statistics hook: a generator's declared label summary, read by the core for any
generator (the tiny one and VisionFit), and the same figures as VisionFit's review table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from infinity_workflows.errors import ConfigurationError, MissingDataError
from infinity_workflows.label_statistics import label_statistics_table
from tests.support.server import LiveServer
from tests.support.tiny import TinyGenerator


def _tiny_folder(root: Path, n: int) -> Path:
    gen = TinyGenerator()
    for i in range(n):
        job = root / f"00000000-0000-4000-8000-{i:012d}"
        job.mkdir(parents=True)
        params = gen.schema.complete({"frames": 2 + i % 3, "color": "green", "scale": i / 2})
        gen.run(params, i % 2 == 0, job, seed=1000 + i)
    (root / ".partial").mkdir()
    return root


@pytest.mark.usefixtures("tiny_installed")
def test_tiny_generator_table_from_its_declared_summary(tmp_path: Path) -> None:
    folder = _tiny_folder(tmp_path / "batch", 5)
    df = label_statistics_table(folder)
    assert len(df) == 5 and list(df.attrs["statistics"]) == list(TinyGenerator.label_statistics)
    assert "scale" in df.attrs["params"] and "frames" in df.attrs["params"]
    first = df.iloc[1]
    frames = json.loads((Path(first["job_path"]) / "labels.json").read_text())["frames"]
    occlusion = [f["percent_occlusion"] for f in frames]
    assert first["avg_percent_occlusion"] == pytest.approx(sum(occlusion) / len(occlusion))
    assert first["max_percent_occlusion"] == max(occlusion)
    assert first["num_frames"] == len(frames) == 3  # a video job: frames=3
    assert df["scale"].tolist() == [0, 0.5, 1.0, 1.5, 2.0]
    assert df["has_preview"].all()


def test_an_unknown_generator_gives_parameters_alone(tmp_path: Path) -> None:
    folder = _tiny_folder(tmp_path / "batch", 2)  # tiny-v1 is not installed in the client
    df = label_statistics_table(folder)
    assert df.attrs["statistics"] == {} and "color" in df.columns
    with pytest.raises(ConfigurationError, match="no installed generator"):
        label_statistics_table(folder, "no-such-generator")
    with pytest.raises(MissingDataError):
        label_statistics_table(tmp_path / "missing")


def test_a_parameter_named_like_a_statistic_is_kept_apart(tmp_path: Path) -> None:
    folder = _tiny_folder(tmp_path / "batch", 1)
    df = label_statistics_table(folder, TinyGenerator())
    assert "param:frames" not in df.columns  # "frames" is not a statistic's name
    job = next(p for p in folder.iterdir() if not p.name.startswith("."))
    data = json.loads((job / "job.json").read_text())
    data["params"]["num_frames"] = 7
    (job / "job.json").write_text(json.dumps(data))
    df = label_statistics_table(folder, TinyGenerator())
    assert df["param:num_frames"].tolist() == [7]
    assert df["num_frames"].tolist() == [1.0]  # a preview


def test_visionfit_summary_matches_its_review_table(vis_batch_folder: Path, vf_generator) -> None:
    from visionfit.utils.summary import summarize_batch_results_as_dataframe

    core = label_statistics_table(vis_batch_folder, vf_generator)
    review = summarize_batch_results_as_dataframe(vis_batch_folder).set_index("job_id")
    assert set(vf_generator.label_statistics) <= set(core.attrs["statistics"])
    assert "avg_image_brightness" in core.columns
    for name in core.attrs["statistics"]:
        for job_id in review.index:
            a, b = core.at[job_id, name], review.at[job_id, name]
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b), (name, job_id)
    assert core.loc[review.index, "exercise"].tolist() == review["exercise"].tolist()


def test_the_server_publishes_the_declared_statistics(server: LiveServer) -> None:
    detail = server.get("api/jobs/tiny-v1/").json()
    assert detail["label_statistics"] == dict(TinyGenerator.label_statistics)
    detail = server.get("api/jobs/visionfit-flagship-v0.1.0/").json()
    assert "avg_percent_occlusion" in detail["label_statistics"]
