"""Design to a target: targets and distances (unit), the choice on known values, and the
whole loop with the tiny generator through the real server (previews, then videos rerun
from their seeds)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from infinity_workflows.design import (
    AtLeast,
    AtMost,
    Empirical,
    Histogram,
    Uniform,
    coco_statistics,
    match_coco,
    wasserstein,
)
from infinity_workflows.design.choose import NeighbourModel, choose, features
from infinity_workflows.errors import DataError, ValidationError
from infinity_workflows.schema import Param, Schema

# -- targets and distances -------------------------------------------------------------


def test_wasserstein_of_uniform_against_shifted_uniform_is_the_shift() -> None:
    values = np.linspace(0.2, 1.2, 10_001)
    assert wasserstein(values, None, Uniform(0, 1)) == pytest.approx(0.2, abs=1e-3)


def test_wasserstein_of_a_point_mass() -> None:
    # All mass at 0.5 against U(0, 1): the mean distance to 0.5 is 1/4.
    assert Uniform(0, 1).distance(np.full(5, 0.5)) == pytest.approx(0.25, abs=1e-3)


def test_weights_count_as_repeated_values() -> None:
    t = Uniform(0, 1)
    repeated = t.distance(np.array([0.1, 0.1, 0.1, 0.9]))
    weighted = t.distance(np.array([0.1, 0.9]), np.array([3.0, 1.0]))
    assert weighted == pytest.approx(repeated, abs=1e-9)


def test_histogram_and_empirical_targets() -> None:
    h = Histogram([0, 1, 2], [1, 3])
    assert h.cdf(np.array([0.0, 1.0, 1.5, 2.0])) == pytest.approx([0, 0.25, 0.625, 1])
    e = Empirical([3, 1, 2, 4])
    assert e.support == (1.0, 4.0)
    assert e.distance(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValidationError):
        Histogram([0, 1], [1, 2])
    with pytest.raises(ValidationError):
        Empirical([1.0])


def test_bounds_are_shortfalls_of_the_weighted_mean() -> None:
    v = np.array([1.0, 0.0, 0.0, 0.0])
    assert AtLeast(0.5).distance(v) == pytest.approx(0.25)
    assert AtLeast(0.5).met(v) is False
    assert AtLeast(0.5).met(v, np.array([3.0, 1, 1, 1])) is True
    assert AtMost(0.5).distance(v) == 0.0
    assert Uniform(0, 1).met(v) is None


def test_sampling_uniform_is_accepted_as_a_target() -> None:
    from infinity_workflows.design.targets import as_target
    from infinity_workflows.sampling import Uniform as SamplingUniform

    assert as_target(SamplingUniform(-1, 1)) == Uniform(-1, 1)
    with pytest.raises(ValidationError):
        as_target(0.3)


# -- COCO ------------------------------------------------------------------------------

def _coco(tmp_path: Path) -> Path:
    data = {
        "images": [{"id": 1, "width": 100, "height": 50}],
        "categories": [{"id": 1, "name": "person",
                        "keypoints": ["nose", "left_wrist", "right_wrist"]}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 25],
             "keypoints": [1, 1, 2, 2, 2, 2, 3, 3, 2]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 25, 10, 5],
             "keypoints": [1, 1, 2, 2, 2, 1, 3, 3, 0]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 1},
        ]}
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_statistics_per_instance(tmp_path: Path) -> None:
    stats = coco_statistics(json.loads(_coco(tmp_path).read_text()))
    assert stats["bbox_area_fraction"] == pytest.approx([0.25, 0.01])
    assert stats["bbox_center_x"] == pytest.approx([0.25, 0.55])
    assert stats["bbox_center_y"] == pytest.approx([0.25, 0.55])
    assert stats["visible_keypoint_fraction"] == pytest.approx([1.0, 1 / 3])
    assert stats["wrist_hidden"] == pytest.approx([0.0, 1.0])
    assert math.isnan(stats["percent_occlusion"][0])


def test_match_coco_makes_empirical_targets(tmp_path: Path) -> None:
    targets = match_coco(_coco(tmp_path), ("bbox_area_fraction", "bbox_center_x"))
    assert targets["bbox_area_fraction"].support == pytest.approx((0.01, 0.25))
    with pytest.raises(DataError):
        match_coco(_coco(tmp_path), ("no_such_statistic",))


# -- the model and the choice ----------------------------------------------------------

def test_choice_matches_a_uniform_target_and_meets_a_bound() -> None:
    rng = np.random.default_rng(0)
    n = 600
    x = rng.beta(5, 5, n)             # peaked in the middle
    rare = (rng.random(n) < 0.08).astype(float)
    values = {"x": x, "rare": rare}
    weights = {"x": np.ones(n), "rare": np.ones(n)}
    targets = {"x": Uniform(0.1, 0.9), "rare": AtLeast(0.3)}
    chosen = choose(values, weights, targets, 40)
    assert len(set(chosen)) == 40
    plain = np.arange(40)
    assert targets["x"].distance(x[chosen]) <= 0.5 * targets["x"].distance(x[plain])
    assert rare[chosen].mean() >= 0.3


def test_choice_skips_candidates_missing_a_value() -> None:
    values = {"x": np.array([np.nan, 0.5, 0.6])}
    assert sorted(choose(values, {"x": np.ones(3)}, {"x": Uniform(0, 1)}, 3)) == [1, 2]


def test_neighbour_model_finds_the_parameter_that_matters() -> None:
    schema = Schema([Param(f"p{i}", "float", 0.0, "", min=0.0, max=1.0) for i in range(8)]
                    + [Param("c", "str", "a", "", choices=("a", "b"))])
    rng = np.random.default_rng(1)
    params = [{**{f"p{i}": float(rng.random()) for i in range(8)},
               "c": str(rng.choice(["a", "b"]))} for _ in range(300)]
    y = np.array([4 * p["p3"] + (p["c"] == "b") for p in params])
    x = features(params, schema)
    model = NeighbourModel(x[:200], y[:200])
    assert model.r2() > 0.8
    pred = model.predict(x[200:])
    assert np.corrcoef(pred, y[200:])[0, 1] > 0.9


# -- the whole loop through the real server --------------------------------------------

@pytest.mark.slow
def test_design_with_the_tiny_generator_through_the_server(
        tiny_installed: None, tiny_session, tmp_path: Path) -> None:
    """One-frame videos rerun from their previews' seeds show exactly what the previews
    showed, so the achieved statistic equals the expected one; and it is nearer the target
    than the random previews (plain sampling) were."""
    from infinity_workflows.design import design_batch

    targets = {"scaled_value": Uniform(0.0, 2.0), "flag": AtLeast(0.7)}
    design = design_batch(tiny_session, targets, n_videos=12, preview_budget=40,
                          folder=tmp_path / "previews", fixed={"frames": 1}, seed=5,
                          timeout=300, say=None)
    assert len(design.job_params) == 12
    assert len(design.measured) == 40
    assert design.kinds == {"scaled_value": "per frame", "flag": "parameter"}
    assert [p["state"] for p in design.job_params] == design.preview_ids
    expected, plain = design.expected(), design.plain()
    assert expected["flag"].met
    assert expected["scaled_value"].distance < plain["scaled_value"].distance

    batch = tiny_session.submit(design.job_params, is_preview=False)
    batch.download(tmp_path / "videos", wait=True, timeout=300, polling_interval=0.2,
                   progress=False)
    achieved = design.achieved(tmp_path / "videos")
    for name in targets:
        assert achieved[name].distance == pytest.approx(expected[name].distance, abs=1e-9)
    table = design.table(achieved)
    assert list(table["statistic"]) == ["scaled_value", "flag"]
    fig = design.figure(achieved)
    assert len(fig.axes) == 2
    # Designing again into the same folder (a notebook cell run twice) starts afresh.
    again = design_batch(tiny_session, targets, n_videos=2, preview_budget=4,
                         folder=tmp_path / "previews", fixed={"frames": 1}, seed=6,
                         timeout=300, say=None)
    assert len(again.measured) == 4 and not set(again.preview_ids) & set(design.preview_ids)


def test_a_bound_on_an_event_counts_the_share_past_a_threshold() -> None:
    occlusion = np.array([0.0, 12.0, 3.0, 30.0])
    assert AtLeast(0.5, above=10).mean(occlusion) == pytest.approx(0.5)
    assert AtLeast(0.6, above=10).met(occlusion) is False
    assert AtMost(0.3, below=5).distance(occlusion) == pytest.approx(0.2)
    with pytest.raises(ValidationError):
        AtLeast(0.5, above=1, below=2)
    rare = np.where(np.arange(200) % 20 == 0, 50.0, 1.0)
    chosen = choose({"occ": rare}, {"occ": np.ones(200)}, {"occ": AtLeast(0.3, above=10)}, 20)
    assert AtLeast(0.3, above=10).met(rare[chosen])


def test_an_event_not_yet_seen_is_proposed_towards() -> None:
    from infinity_workflows.design.loop import _learn
    from infinity_workflows.design.measure import Measured

    schema = Schema([Param("d", "float", 1.0, "", min=0.0, max=1.0)])
    params = [{"d": v} for v in np.linspace(0, 1, 20)]
    area = np.linspace(0.0, 0.1, 20)          # the event (>= 0.15) never happened
    measured = Measured([f"j{i}" for i in range(20)], params, {"area": area},
                        [{} for _ in range(20)])
    said: list[str] = []
    target = AtLeast(0.3, above=0.15)
    models, proposal_targets = _learn(measured, {"area": target}, ["area"], schema,
                                      said.append)
    assert proposal_targets["area"] is None and "proposing towards" in said[0]
    assert models["area"].predict(np.array([[1.0, 1.0]]))[0] > 0.08   # the value is learnt
    seen = Measured(measured.job_ids, params, {"area": np.linspace(0, 0.3, 20)},
                    measured.frames)
    _, proposal_targets = _learn(seen, {"area": target}, ["area"], schema, said.append)
    assert proposal_targets["area"] == AtLeast(0.3)   # now the event's probability
