"""visionfit.utils.sampling: the distribution table, schema checks, categories, seeds, reruns."""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter

import pytest

from infinity_workflows.errors import ValidationError
from infinity_workflows.sampling import Sampler, numbered_categories
from infinity_workflows.schema import Param, Schema
from tests.support.tiny import TinyGenerator
from visionfit.utils.sampling import (
    DISTRIBUTIONS,
    Choice,
    ClippedNormal,
    Uniform,
    distribution_table,
    expand_overrides_across_each_preview_state,
    expand_overrides_across_each_video_state,
    sample_input,
    sample_inputs,
    submit_rerun_batch_with_overrides_previews,
    submit_rerun_batch_with_overrides_videos,
)

N = 3000


@pytest.fixture(scope="module")
def vf_schema() -> Schema:
    from visionfit.generator import VisionFitGenerator

    return VisionFitGenerator.schema


class HasSchema:
    """What sample_input needs of a Session: a ``.schema``."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema


def both_paths(sesh, n: int = N, seed: int = 0, **fixed) -> list[dict]:
    """Jobs from the scalar and the vectorised sampler, so every check covers both."""
    r = random.Random(seed)
    return [sample_input(sesh, rng=r, **fixed) for _ in range(n)] + \
        sample_inputs(sesh, n, rng=seed, **fixed)


def column(jobs: list[dict], name: str) -> list:
    return [j[name] for j in jobs]


# -- the table ---------------------------------------------------------------------------------


def test_visionfit_table_names_real_parameters(vf_schema: Schema) -> None:
    for key in DISTRIBUTIONS:
        for name in (key if isinstance(key, tuple) else (key,)):
            assert name in vf_schema, f"table entry {name} is not a VisionFit parameter"


def test_draws_follow_the_table_and_the_schema(vf_schema: Schema) -> None:
    jobs = both_paths(HasSchema(vf_schema))
    for job in jobs:
        assert list(job) == vf_schema.names  # complete, in schema order
        assert vf_schema.violations(job) == []
    dist = column(jobs, "camera_distance")
    assert 2.5 <= min(dist) < 2.6 and 4.9 < max(dist) <= 5.0
    assert all(isinstance(v, float) for v in dist)
    sizes = Counter((j["image_width"], j["image_height"]) for j in jobs)
    assert set(sizes) == {(256, 256), (512, 512)}
    assert min(sizes.values()) > 0.4 * len(jobs)
    power = column(jobs, "lighting_power")
    assert 10 <= min(power) <= max(power) <= 1000
    # Log-uniform: as many draws below 100 as above.
    assert 0.4 < sum(p < 100 for p in power) / len(power) < 0.6
    height = column(jobs, "relative_height")
    assert -4 <= min(height) < -2.5 and 2.5 < max(height) <= 4
    assert abs(sum(height) / len(height)) < 0.1
    reps = column(jobs, "num_reps")
    assert set(reps) == set(range(1, 11)) and all(type(v) is int for v in reps)
    assert set(column(jobs, "frame_rate")) == set(vf_schema["frame_rate"].choices)
    assert set(column(jobs, "scene")) == set(vf_schema["scene"].choices)
    assert set(column(jobs, "exercise")) == set(vf_schema["exercise"].choices)
    assert set(column(jobs, "add_pauses")) == {True, False}
    assert all(type(v) is bool for v in column(jobs, "add_pauses"))
    assert set(column(jobs, "state")) == {None}


def test_every_draw_is_limited_to_a_narrower_schema(vf_schema: Schema) -> None:
    """The table is a suggestion: a server with narrower ranges or fewer choices wins."""
    narrow = {
        "camera_distance": dict(max=3.0),
        "lighting_power": dict(min=0.0, max=50.0, default=20.0),
        "relative_height": dict(min=-0.5, max=0.5),
        "image_width": dict(max=300),
        "num_reps": dict(max=3),
        "scene": dict(choices=("GYM_1", "OFFICE_1"), default="GYM_1"),
    }
    schema = Schema(dataclasses.replace(p, **narrow.get(p.name, {})) for p in vf_schema)
    jobs = both_paths(HasSchema(schema), n=1000)
    assert all(schema.violations(j) == [] for j in jobs)
    dist = column(jobs, "camera_distance")
    assert 2.5 <= min(dist) <= max(dist) <= 3.0
    assert max(column(jobs, "lighting_power")) <= 50.0
    # A clipped normal piles its tails up on the bounds.
    assert {-0.5, 0.5} <= set(column(jobs, "relative_height"))
    # 512 is no longer allowed for the width, so the square size can only be 256.
    assert {(j["image_width"], j["image_height"]) for j in jobs} == {(256, 256)}
    assert set(column(jobs, "num_reps")) == {1, 2, 3}
    assert set(column(jobs, "scene")) == {"GYM_1", "OFFICE_1"}


def test_parameters_outside_the_table_are_drawn_from_their_schema() -> None:
    schema = Schema(TinyGenerator.schema)  # a copy: not the tiny plug-in's own schema
    jobs = both_paths(HasSchema(schema), n=2000)
    assert all(schema.violations(j) == [] for j in jobs)
    frames = column(jobs, "frames")
    assert min(frames) < 50 and max(frames) > 950 and all(type(f) is int for f in frames)
    assert set(column(jobs, "color")) == {"red", "green", "blue"}
    assert set(column(jobs, "flag")) == {True, False}
    scale = column(jobs, "scale")
    assert 0.0 <= min(scale) <= max(scale) <= 10.0
    assert set(column(jobs, "state")) == {None}  # a uuid takes its default


# -- given values ------------------------------------------------------------------------------


def test_given_values_are_kept_and_normalised(vf_schema: Schema) -> None:
    sesh = HasSchema(vf_schema)
    for job in both_paths(sesh, n=50, scene="GYM_1", camera_distance=4, num_reps=7):
        assert job["scene"] == "GYM_1" and job["num_reps"] == 7
        assert job["camera_distance"] == 4.0 and type(job["camera_distance"]) is float


@pytest.mark.parametrize("fixed, expected", [
    ({"camera_distance": 9.0}, ["camera_distance: 9.0 is above the maximum 5.25",
                                "float from 1.0 to 5.25"]),
    ({"num_reps": 0}, ["num_reps: 0 is below the minimum 1", "int from 1 to 20"]),
    ({"num_reps": 2.5}, ["num_reps: 2.5 is not a whole number", "int from 1 to 20"]),
    ({"scene": "KITCHEN"}, ["scene: 'KITCHEN' is not allowed", "'GYM_1'", "'OFFICE_1'"]),
    ({"add_pauses": "yes"}, ["add_pauses: 'yes' is a str"]),
    ({"state": "not-a-uuid"}, ["state: 'not-a-uuid'"]),
    ({"camera_distanse": 3.0}, ["'camera_distanse' is not a parameter",
                                "did you mean 'camera_distance'?"]),
    ({"lighting_power": float("nan")}, ["lighting_power: nan is not a finite number"]),
])
def test_bad_given_values_are_refused_with_precise_messages(vf_schema: Schema, fixed: dict,
                                                            expected: list[str]) -> None:
    for sampler in (lambda **kw: sample_input(vf_schema, **kw),
                    lambda **kw: sample_inputs(vf_schema, 3, **kw)):
        with pytest.raises(ValidationError) as info:
            sampler(**fixed)
        for part in expected:
            assert part in str(info.value)


def test_every_bad_value_is_named_at_once(vf_schema: Schema) -> None:
    with pytest.raises(ValidationError) as info:
        sample_input(vf_schema, camera_height=9.0, gender="OTHER", colour="red")
    message = str(info.value)
    assert "camera_height: 9.0 is above the maximum 2.75" in message
    assert "gender: 'OTHER' is not allowed; expected one of 'MALE', 'FEMALE'" in message
    assert "'colour' is not a parameter of this generator" in message


def test_a_given_distribution_is_used_and_checked(vf_schema: Schema) -> None:
    jobs = both_paths(vf_schema, n=500, camera_distance=Uniform(3.0, 3.5),
                      scene=Choice(["GYM_1", "OFFICE_1"], weights=[3, 1]))
    assert all(3.0 <= j["camera_distance"] <= 3.5 for j in jobs)
    scenes = Counter(column(jobs, "scene"))
    assert set(scenes) == {"GYM_1", "OFFICE_1"} and scenes["GYM_1"] > 2 * scenes["OFFICE_1"]
    with pytest.raises(ValidationError, match=r"camera_distance: Uniform\(lo=0.0, hi=3.0\) "
                                              r"does not fit: .*reaches outside the allowed "
                                              r"range; expected float from 1.0 to 5.25"):
        sample_input(vf_schema, camera_distance=Uniform(0.0, 3.0))
    with pytest.raises(ValidationError, match="scene: 'KITCHEN' is not allowed"):
        sample_input(vf_schema, scene=Choice(["GYM_1", "KITCHEN"]))
    # A clipped normal given by the caller is clipped to the schema, not refused.
    heights = column(both_paths(vf_schema, n=300, relative_height=ClippedNormal(3.5, 2.0)),
                     "relative_height")
    assert max(heights) == 4.0 and min(heights) >= -4.0
    powers = column(both_paths(vf_schema, n=300, lighting_power=ClippedNormal(50, 500, lo=20)),
                    "lighting_power")
    assert min(powers) == 20.0 and max(powers) <= 2000.0
    with pytest.raises(ValidationError, match="lighting_power: ClippedNormal.* reaches outside"):
        sample_input(vf_schema, lighting_power=ClippedNormal(400, 200, lo=50, hi=2500))


def test_a_given_member_of_a_joint_entry_leads_the_others(vf_schema: Schema) -> None:
    for job in both_paths(vf_schema, n=50, image_width=384):
        assert job["image_width"] == job["image_height"] == 384
    jobs = both_paths(vf_schema, n=300, image_height=Choice([128, 320]))
    assert {(j["image_width"], j["image_height"]) for j in jobs} == {(128, 128), (320, 320)}
    jobs = both_paths(vf_schema, n=50, image_width=256, image_height=128)
    assert {(j["image_width"], j["image_height"]) for j in jobs} == {(256, 128)}


def test_a_follower_that_cannot_take_the_leaders_value_is_explained(vf_schema: Schema) -> None:
    schema = Schema(dataclasses.replace(p, max=300) if p.name == "image_height" else p
                    for p in vf_schema)
    with pytest.raises(ValidationError, match=r"image_height follows image_width "
                                              r"\(image_width = image_height\), but .*400 is "
                                              r"above the maximum 300.*give image_height "
                                              r"explicitly"):
        sample_input(schema, image_width=400)


def test_distribution_table_explains_each_draw(vf_schema: Schema) -> None:
    table = distribution_table(vf_schema, image_width=384, exercise="BURPEE", num_reps=3)
    rows = table.set_index("parameter")
    assert list(table["parameter"]) == vf_schema.names
    assert rows.loc["camera_distance", "source"] == "table"
    assert rows.loc["camera_distance", "draw"] == "Uniform(lo=2.5, hi=5.0)"
    assert rows.loc["camera_distance", "allowed"] == vf_schema["camera_distance"].allowed()
    assert rows.loc["scene", "source"] == "schema"
    assert rows.loc["image_height", "draw"] == "same as image_width"
    assert rows.loc["exercise", "draw"].startswith("'BURPEE': one of BURPEE_01")
    assert rows.loc["num_reps", "source"] == "given"
    plain = distribution_table(vf_schema).set_index("parameter")
    assert "tied: image_width = image_height" in plain.loc["image_height", "draw"]
    with pytest.raises(ValidationError, match="did you mean 'num_reps'"):
        distribution_table(vf_schema, num_rep=3)
    with pytest.raises(ValidationError, match=r"pass Choice\(\['GYM_1', 'OFFICE_1'\]\)"):
        sample_input(vf_schema, scene=["GYM_1", "OFFICE_1"])


# -- categories ---------------------------------------------------------------------------------


def test_a_category_picks_each_of_its_variants(vf_schema: Schema) -> None:
    choices = vf_schema["exercise"].choices
    categories = {c.rsplit("_", 1)[0] for c in choices
                  if c.rsplit("_", 1)[-1].isdigit() and c.rsplit("_", 1)[0] not in choices}
    assert len(categories) >= 2, "VisionFit promises at least two numbered movements"
    for category in categories:
        variants = {c for c in choices if c.startswith(category + "_")
                    and c[len(category) + 1:].isdigit()}
        jobs = both_paths(vf_schema, n=40 * len(variants), exercise=category)
        assert set(column(jobs, "exercise")) == variants


def test_categories_are_generic_over_string_choices() -> None:
    schema = Schema([
        Param("kind", "str", "box_01", choices=("box_01", "box_02", "box_10", "boxer", "ball")),
        Param("size", "str", "S", choices=("S", "M")),
    ])
    declared = numbered_categories(schema["kind"].choices)
    assert declared == {"box": ("box_01", "box_02", "box_10")}  # not "bo", not "ball"
    schema = Sampler(schema, categories={"kind": declared})
    jobs = both_paths(schema, n=200, kind="box")
    assert set(column(jobs, "kind")) == {"box_01", "box_02", "box_10"}
    # A category inside a Choice shares its weight among its variants.
    counts = Counter(column(both_paths(schema, n=3000, kind=Choice(["box", "ball"])), "kind"))
    assert 0.45 < counts["ball"] / 6000 < 0.55
    with pytest.raises(ValidationError) as info:
        sample_input(schema, kind="bo")
    assert "kind: 'bo' is not allowed" in str(info.value)
    assert "or a category standing for several of them: box" in str(info.value)
    with pytest.raises(ValidationError, match="size: 'X' is not allowed; expected one of "
                                              "'S', 'M'$"):
        sample_input(schema, size="X")


# -- reproducibility ----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_jobs(vf_schema: Schema) -> None:
    def scalar(seed):
        r = random.Random(seed)
        return [sample_input(vf_schema, rng=r, exercise="BURPEE") for _ in range(200)]

    assert scalar(7) == scalar(7) != scalar(8)
    assert sample_inputs(vf_schema, 200, rng=7) == sample_inputs(vf_schema, 200, rng=7)
    assert sample_inputs(vf_schema, 200, rng=7) != sample_inputs(vf_schema, 200, rng=8)
    assert sample_input(vf_schema, rng=3) == sample_input(vf_schema, rng=3)
    assert (sample_inputs(vf_schema, 5, rng=random.Random(1))
            == sample_inputs(vf_schema, 5, rng=random.Random(1)))
    assert len({json.dumps(j, sort_keys=True) for j in scalar(7)}) == 200
    with pytest.raises(TypeError, match="rng must be None, an int seed or a random.Random"):
        sample_input(vf_schema, rng="seven")
    with pytest.raises(ValueError, match="n must be a non-negative int"):
        sample_inputs(vf_schema, -1)
    with pytest.raises(TypeError, match="expected a Session"):
        sample_input(object())


# -- reruns against the real server -------------------------------------------------------------


def test_reruns_reuse_each_earlier_jobs_seed(server, tmp_path) -> None:
    from infinity_workflows.session import Session

    sesh = Session(token=server.token, generator="tiny-v1", server=server.url)
    r = random.Random(11)
    jobs = [sample_input(sesh, rng=r, frames=2, sleep_s=0.0, fail=False, crash=False,
                         payload_kb=1) for _ in range(3)]
    previews = sesh.submit(jobs, is_preview=True, batch_name="sampling-previews")
    previews.await_completion(polling_interval=0.2, timeout=120, progress=False)
    ids = previews.job_ids

    overrides = [{"color": "green"}, {"color": "blue", "scale": 2.5}]
    expanded = expand_overrides_across_each_preview_state(overrides, previews)
    assert len(expanded) == 6
    for k, job in enumerate(expanded):
        earlier = previews.job_params[k // 2]
        assert job == {**earlier, **overrides[k % 2], "state": ids[k // 2]}

    picked = expand_overrides_across_each_preview_state({"scale": 9.0}, previews,
                                                        job_ids=[ids[2]])
    assert [j["state"] for j in picked] == [ids[2]]
    with pytest.raises(ValueError, match="is a preview batch; use "
                                         "expand_overrides_across_each_preview_state"):
        expand_overrides_across_each_video_state([{}], previews)
    with pytest.raises(ValueError, match="not valid completed jobs of batch"):
        expand_overrides_across_each_preview_state([{}], previews,
                                                   job_ids=["00000000-0000-0000-0000-000000000000"])
    with pytest.raises(ValidationError, match=r"overrides\[1\]: scale: 11.0 is above the "
                                              r"maximum 10.0"):
        expand_overrides_across_each_preview_state([{}, {"scale": 11.0}], previews)
    with pytest.raises(ValidationError, match=r"overrides\[0\] sets 'state'"):
        expand_overrides_across_each_preview_state([{"state": ids[0]}], previews)
    with pytest.raises(ValueError, match="overrides is empty"):
        expand_overrides_across_each_preview_state([], previews)

    videos = submit_rerun_batch_with_overrides_videos(sesh, previews, [{"frames": 4}],
                                                      job_ids=ids[:2])
    assert videos.job_type == "video" and videos.num_jobs == 2
    assert videos.name == "sampling-previews-rerun-videos"
    videos.await_completion(polling_interval=0.2, timeout=120, progress=False)
    again = submit_rerun_batch_with_overrides_previews(sesh, videos, {"color": "red"},
                                                       batch_name="again")
    assert again.job_type == "preview" and again.name == "again"
    again.await_completion(polling_interval=0.2, timeout=120, progress=False)
    assert [j["state"] for j in expand_overrides_across_each_video_state({}, videos)] \
        == videos.job_ids

    seeds = {}
    for name, batch in (("previews", previews), ("videos", videos), ("again", again)):
        batch.download(tmp_path / name)
        for job_id in batch.job_ids:
            seeds[job_id] = json.loads((tmp_path / name / job_id / "job.json").read_text())
    for video_id, earlier_id in zip(videos.job_ids, ids[:2], strict=True):
        assert seeds[video_id]["seed"] == seeds[earlier_id]["seed"]
        assert seeds[video_id]["params"]["frames"] == 4
        assert seeds[video_id]["params"]["color"] == seeds[earlier_id]["params"]["color"]
    for again_id, video_id in zip(again.job_ids, videos.job_ids, strict=True):
        assert seeds[again_id]["seed"] == seeds[video_id]["seed"]
        assert seeds[again_id]["params"]["color"] == "red"
    assert len({seeds[i]["seed"] for i in ids}) == 3
