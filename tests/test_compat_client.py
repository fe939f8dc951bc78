"""infinity-core's names and semantics over our client, against a real server (tiny generator).

Coming from Infinity's toolkit, code calls ``estimate_samples`` for a list per job,
``get_usage_stats_last_n_days(n_days=)``, ``Batch.from_api(token, batch_id, server)``,
``batch.job_type == JobType.PREVIEW``, ``get_usage_datetime_range(...).json()`` and passes
NumPy scalars as parameter values; infinity-core's own objects reach our widgets and helpers
(:mod:`infinity_workflows.interop`). ``tests/support/core_client.py`` plays infinity-core.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest

from infinity_workflows import JobType, NotFoundError, Session, ValidationError
from infinity_workflows.api import get_batch_summary_data, get_usage_datetime_range
from infinity_workflows.batch import Batch
from infinity_workflows.interop import as_batch, as_session
from infinity_workflows.sampling import schema_of
from tests.support import core_client
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def session(server: LiveServer) -> Session:
    return Session(token=server.token, generator="tiny-v1", server=server.url)


@pytest.fixture(scope="module")
def done(session: Session) -> Batch:
    batch = session.submit([{"frames": 2}, {"frames": 3, "color": "blue"}], batch_name="done")
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    return batch


def test_session_names_take_infinity_cores_keywords(session: Session, done: Batch) -> None:
    assert session.estimate_samples([{"frames": 4}, {}], is_preview=False,
                                    batch_name="named") == [4, 3]
    assert session.estimate_total_samples([{"frames": 4}, {}]) == 7
    listed = session.get_batches_last_n_days(n_days=1)
    mine = next(b for b in listed if b["id"] == done.batch_id)
    assert mine["batch_id"] == done.batch_id and isinstance(mine["created"], datetime)
    stats = session.get_usage_stats_last_n_days(n_days=1)
    assert isinstance(stats["start_time"], datetime)
    with pytest.raises(ValueError, match="n_days"):
        session.get_batches_last_n_days(n_days=-1)
    again = session.batch_from_api(batch_id=done.batch_id)
    assert again.job_ids == done.job_ids
    filled = session.randomize_unspecified_params({"color": "green"}, rng=3)
    assert filled["color"] == "green" and set(filled) == set(session.schema.names)


def test_batch_names_and_job_type(server: LiveServer, session: Session, done: Batch) -> None:
    assert done.job_type == JobType.STANDARD == "video" and f"{done.job_type}" == "video"
    previews = session.submit([{}], is_preview=True)
    assert previews.job_type == JobType.PREVIEW == "preview"
    summary = done.get_batch_summary_data()
    assert summary["id"] == done.batch_id and len(summary["job_runs"]) == 2
    one = done.get_job_summary_data(done.job_ids[1])
    assert one["id"] == done.job_ids[1] and one["status"] == "succeeded"
    with pytest.raises(NotFoundError, match="not part of batch"):
        done.get_job_summary_data(previews.job_ids[0])
    seeded = done.get_job_params_seeded_for_rerun()
    assert [j["state"] for j in seeded] == done.job_ids
    assert [j["frames"] for j in seeded] == [2, 3]
    assert done.get_batch_data()["id"] == done.batch_id
    rebuilt = Batch.from_api(token=server.token, batch_id=done.batch_id, server=server.url)
    assert rebuilt.job_ids == done.job_ids and rebuilt.session.generator == "tiny-v1"
    with pytest.raises(ValidationError, match="not a UUID"):
        Batch.from_api(server.token, "../etc", server.url)


def test_download_takes_quiet(done: Batch, tmp_path, capsys) -> None:
    folders = done.download(tmp_path / "d", False, True)  # infinity-core's positional form
    assert [f.name for f in folders] == done.job_ids
    assert capsys.readouterr().err == ""  # quiet: no progress bar


def test_module_functions_answer_like_infinity_core(server: LiveServer, done: Batch) -> None:
    naive_start = datetime.now() - timedelta(days=1)  # infinity-core reads naive as local
    r = get_usage_datetime_range(token=server.token, server=server.url,
                                 start_time=naive_start, end_time=datetime.now())
    assert r.status_code == 200 and "counts_by_generator" in r.json()
    r = get_batch_summary_data(server.token, done.batch_id, server.url)
    assert r.ok and [j["id"] for j in r.json()["job_runs"]] == done.job_ids
    wrong = get_batch_summary_data(server.token, str(uuid.uuid4()), server.url)
    assert wrong.status_code == 404  # a response, as infinity-core returns, not an exception
    with pytest.raises(ValueError, match="before start time"):
        get_usage_datetime_range(server.token, datetime.now(), naive_start, server.url)


def test_numpy_scalars_and_whole_floats_pass_client_and_server(server: LiveServer,
                                                               session: Session) -> None:
    jobs = [{"frames": np.int64(2), "scale": np.float32(0.5), "color": np.str_("blue"),
             "flag": np.bool_(True)}, {"frames": 2.0}]
    batch = session.submit(jobs)
    stored = batch.job_params
    assert [j["frames"] for j in stored] == [2, 2] and type(stored[1]["frames"]) is int
    assert stored[0]["scale"] == 0.5 and stored[0]["color"] == "blue" and stored[0]["flag"]
    # The server applies the same rule to JSON: 3.0 is the int 3, 2.5 is refused by name.
    body = {"name": "raw", "job_runs": [{"name": "tiny-v1", "is_preview": False,
                                         "param_values": {"frames": 3.0}}]}
    ok = server.post("api/batch/", body)
    assert ok.status_code == 201, ok.text
    assert ok.json()["job_runs"][0]["param_values"]["frames"] == 3
    body["job_runs"][0]["param_values"]["frames"] = 2.5
    refused = server.post("api/batch/", body)
    assert refused.status_code == 400 and "whole number" in refused.text
    with pytest.raises(ValidationError, match="whole number"):
        session.submit([{"frames": np.float64(2.5)}])


def test_infinity_core_objects_become_ours(server: LiveServer, done: Batch) -> None:
    theirs = core_client.Session(token=server.token, generator="tiny-v1", server=server.url)
    ours = as_session(theirs)
    assert isinstance(ours, Session) and ours.generator == "tiny-v1"
    assert ours.parameter_info["frames"]["options"] == theirs.parameter_info["frames"]["options"]
    their_batch = theirs.batch_from_api(done.batch_id)
    assert their_batch.job_type == core_client.JobType.STANDARD
    assert as_batch(their_batch).job_ids == done.job_ids
    assert as_session(ours) is ours and as_batch(done) is done
    def rules(schema):  # parameter_info carries no descriptions; every rule is kept
        return [{k: v for k, v in p.items() if k != "description"} for p in schema.to_api()]

    for source in (theirs, theirs.parameter_info, ours.generator_info["params"]):
        assert rules(schema_of(source)) == rules(ours.schema)
    assert schema_of(theirs) is schema_of(theirs)  # rebuilt once, so the sampler binds once
    with pytest.raises(TypeError, match="infinity-core"):
        as_session(object())


def test_infinity_core_client_reads_what_we_submit(server: LiveServer, session: Session,
                                                   done: Batch) -> None:
    """The other direction: their client speaks to our server (the compatibility tests'
    stand-in for infinity-core is itself checked against the server)."""
    theirs = core_client.Session(token=server.token, generator="tiny-v1", server=server.url)
    batch = theirs.batch_from_api(done.batch_id)
    assert batch.job_ids == done.job_ids and batch.num_jobs == 2
    assert len(batch.get_valid_completed_jobs()) == 2
    assert theirs.estimate_samples([{"frames": 5}]) == [5]
    assert any(b["batch_id"] == done.batch_id for b in theirs.get_batches_last_n_days(1))


def test_sample_input_takes_any_session(server: LiveServer) -> None:
    """Infinity's templates call sample_input(sesh, ...) with infinity-core's Session and
    NumPy draws; a plain parameter_info dict or the API's params list work the same."""
    from visionfit.utils.sampling import sample_input

    vf = "visionfit-flagship-v0.1.0"
    ours = Session(token=server.token, generator=vf, server=server.url)
    theirs = core_client.Session(token=server.token, generator=vf, server=server.url)
    scenes = theirs.parameter_info["scene"]["options"]["choices"]
    sources = (ours, theirs, theirs.parameter_info, ours.generator_info["params"])
    rng = np.random.default_rng(5)
    for source in sources:
        job = sample_input(source, exercise=rng.choice(["UPPERCUT-LEFT", "UPPERCUT-RIGHT"]),
                           num_reps=int(rng.uniform(1, 3, 1)[0]), scene=rng.choice(scenes),
                           camera_height=float(np.clip(rng.normal(1.2, 0.2), 0.1, 2.75)),
                           frame_rate=6, image_width=256, image_height=256,
                           relative_avatar_angle_deg=0.0)
        assert ours.validate_job_params([job]) == [None]
        assert theirs.validate_job_params([job]) == [None]
        assert type(job["scene"]) is str and type(job["exercise"]) is str  # not np.str_
    # One table for all of them: the same seed draws the same job from each.
    assert all(sample_input(s, rng=3) == sample_input(ours, rng=3) for s in sources)
    assert ours.sample_input(rng=3, num_reps=2) == sample_input(theirs, rng=3, num_reps=2)
    with pytest.raises(ValidationError, match="num_reps: 0 is below the minimum"):
        sample_input(theirs, num_reps=0)
    batch = theirs.submit([sample_input(theirs, rng=1, num_reps=1)], is_preview=True)
    assert batch.job_type == core_client.JobType.PREVIEW
    with pytest.raises(TypeError, match="parameter_info"):
        sample_input(42)


def test_exercise_categories_by_movement_sampler_and_validators_agree(server: LiveServer
                                                                      ) -> None:
    """exercise="UPPERCUT" stands for UPPERCUT-LEFT/-RIGHT, "SQUAT" for its variants, as in
    Infinity's sampler; the categories are declared once by the generator, published by the
    API, expanded by the sampler and named by both validators when a job sends one."""
    from visionfit.generator import VisionFitGenerator
    from visionfit.utils.sampling import sample_input, sample_inputs

    vf = "visionfit-flagship-v0.1.0"
    ours = Session(token=server.token, generator=vf, server=server.url)
    published = ours.generator_info["categories"]["exercise"]
    declared = VisionFitGenerator.categories["exercise"]
    assert published == {k: list(v) for k, v in declared.items()}
    assert published["UPPERCUT"] == ["UPPERCUT-LEFT", "UPPERCUT-RIGHT"]
    assert published["SQUAT"] == ["SQUAT-BODYWEIGHT", "SQUAT-GOBLET-DUMBBELL"]
    assert {"SIDE_BEND", "LATERAL_RAISE", "BURPEE", "TOE_TOUCH"} <= set(published)
    assert "PUSHUP" not in published  # a choice of its own, not a category
    for category, variants in published.items():
        drawn = {sample_input(ours, rng=i, exercise=category)["exercise"] for i in range(40)}
        drawn |= {j["exercise"] for j in sample_inputs(ours, 40, rng=1, exercise=category)}
        assert drawn == set(variants), category
    with pytest.raises(ValidationError, match="is a category standing for UPPERCUT-LEFT, "
                                              "UPPERCUT-RIGHT: sample_input picks one"):
        ours.submit([{"exercise": "UPPERCUT"}])
    body = {"name": "c", "job_runs": [{"name": vf, "is_preview": True,
                                       "param_values": {"exercise": "SQUAT"}}]}
    refused = server.post("api/batch/", body)
    assert refused.status_code == 400
    assert "'SQUAT' is a category standing for SQUAT-BODYWEIGHT, SQUAT-GOBLET-DUMBBELL" \
        in refused.json()["errors"][0]["message"]


def test_reruns_in_infinitys_form_take_job_ids_of_any_batch(server: LiveServer,
                                                            session: Session) -> None:
    from visionfit.utils.sampling import (
        expand_overrides_across_each_preview_state,
        expand_overrides_across_each_video_state,
        submit_rerun_batch_with_overrides_previews,
        submit_rerun_batch_with_overrides_videos,
    )

    previews = session.submit([{"frames": 2}, {"frames": 4}], is_preview=True)
    videos = session.submit([{"color": "blue"}])
    seeds = [previews.job_ids[0], videos.job_ids[0]]  # one preview, one video
    overrides = [{"scale": 2.0}, {"scale": np.float64(3.0)}]
    jobs = expand_overrides_across_each_preview_state(session, seeds, overrides)
    assert [(j["state"], j["scale"]) for j in jobs] == [
        (seeds[0], 2.0), (seeds[0], 3.0), (seeds[1], 2.0), (seeds[1], 3.0)]
    assert [j["frames"] for j in jobs[:2]] == [2, 2] and jobs[2]["color"] == "blue"
    theirs = core_client.Session(token=server.token, generator="tiny-v1", server=server.url)
    assert expand_overrides_across_each_video_state(theirs, seeds, overrides) == jobs

    rerun = submit_rerun_batch_with_overrides_videos(theirs, previews.job_ids[1],
                                                     [{"color": "green"}], "from a preview")
    assert rerun.job_type == core_client.JobType.STANDARD and rerun.name == "from a preview"
    (params,) = rerun.job_params
    assert params["state"] == previews.job_ids[1] and params["frames"] == 4
    assert params["color"] == "green"
    again = submit_rerun_batch_with_overrides_previews(session, videos.job_ids[0], [{}, {}])
    assert again.job_type == JobType.PREVIEW
    assert [j["state"] for j in again.job_params] == [videos.job_ids[0]] * 2
    with pytest.raises(ValidationError, match="not the id of an earlier job"):
        expand_overrides_across_each_preview_state(session, [str(uuid.uuid4())], [{}])
    with pytest.raises(ValidationError, match="sets 'state'"):
        expand_overrides_across_each_preview_state(session, seeds, [{"state": seeds[0]}])


def test_infinity_interfaces_wrap_our_widgets(server: LiveServer, done: Batch, tmp_path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from infinity_workflows.records import read_lineage
    from visionfit.interfaces import BatchDownloadInterface, SubmitInterface, WorkflowInterface
    from visionfit.interfaces.common import is_batch_exist

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_API_SERVER", server.url)
    fixed = WorkflowInterface(enable_generator_selection=False, default_generator="tiny-v1",
                              default_server=server.url, records_dir=tmp_path / "records")
    assert fixed.server.disabled and fixed.server.value == server.url
    fixed.get_generators_button.click()
    assert [v for _l, v in fixed.generator.options] == ["tiny-v1"] and fixed.generator.disabled
    fixed.create_button.click()
    assert read_lineage(fixed.created[0])["generator"] == "tiny-v1"
    missing = WorkflowInterface(enable_generator_selection=False, default_generator="nope-v9",
                                enable_server_selection=True, default_server=server.url,
                                records_dir=tmp_path / "records")
    assert not missing.server.disabled
    missing.get_generators_button.click()
    assert "nope-v9 is not offered" in missing.message.value
    assert missing.create_button.disabled

    theirs = core_client.Session(token=server.token, generator="tiny-v1", server=server.url)
    submit = SubmitInterface(theirs, [{"frames": np.int64(2)}], record_folder=tmp_path)
    submit.batch_name.value = "via their session"
    assert submit._on_submit().frames == 1  # previews: one frame each
    assert submit._on_confirm().name == "via their session"
    assert read_lineage(submit.download_notebook)["batch_id"] == submit.batch.batch_id

    their_batch = theirs.batch_from_api(done.batch_id)
    download = BatchDownloadInterface(their_batch, tmp_path / "dl")
    report = download._run(wait=True)
    assert report is not None and len(report.downloaded) == 2 and not report.failed

    assert is_batch_exist(done.batch_id, server.token, "tiny-v1", server.url)
    assert not is_batch_exist(str(uuid.uuid4()), server.token, "tiny-v1", server.url)
    assert not is_batch_exist("not-an-id", server.token, "tiny-v1", server.url)
