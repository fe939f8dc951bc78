"""Session against the real server with the tiny generator."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

import pytest

from infinity_workflows import (
    BadRequestError,
    Batch,
    ConfigurationError,
    NotFoundError,
    Session,
    ValidationError,
    api,
)
from infinity_workflows.schema import Schema
from tests.support.tiny import TinyGenerator


@pytest.fixture(scope="module")
def session(server) -> Session:
    return Session(token=server.token, generator="tiny-v1", server=server.url)


def test_schema_and_parameter_info_come_from_the_server(session: Session) -> None:
    local = TinyGenerator.schema
    assert isinstance(session.schema, Schema)
    assert session.schema.to_api() == local.to_api()
    info = session.parameter_info
    assert list(info) == local.names
    assert info["frames"] == {"type": "int", "default_value": 3,
                              "options": {"min": 1, "max": 1000},
                              "description": "Frames a video job renders."}
    assert info["color"]["options"] == {"choices": ["red", "green", "blue"]}
    assert session.default_job == local.defaults()
    assert session.supports_preview is True


def test_unknown_generator_names_the_available_ones(server) -> None:
    with pytest.raises(ConfigurationError) as info:
        Session(token=server.token, generator="no-such-gen", server=server.url)
    assert "no-such-gen" in str(info.value) and "tiny-v1" in str(info.value)


def test_list_generators_before_choosing_one(server) -> None:
    gens = Session.list_generators(server.url, server.token)
    names = [g["name"] for g in gens]
    assert names == sorted(names) and "tiny-v1" in names
    tiny = next(g for g in gens if g["name"] == "tiny-v1")
    assert tiny["version"] == "1.0.0" and tiny["options"] == {"preview": True}


def test_random_jobs_are_valid_varied_and_reproducible(session: Session) -> None:
    jobs = [session.random_job(random.Random(i)) for i in range(200)]
    assert all(e is None for e in session.validate_job_params(jobs))
    assert {j["color"] for j in jobs} == {"red", "green", "blue"}
    assert {j["flag"] for j in jobs} == {True, False}
    frames = [j["frames"] for j in jobs]
    assert min(frames) >= 1 and max(frames) <= 1000 and len(set(frames)) > 100
    assert all(j["state"] is None for j in jobs)  # a uuid must name a real job: default
    assert session.random_job(7) == session.random_job(7)
    assert set(session.random_job()) == set(session.schema.names)


def test_validation_messages_name_parameter_rule_and_value(session: Session) -> None:
    messages = session.validate_job_params([
        {"frames": 2},
        {"frames": 0},
        {"color": "purple"},
        {"scale": "big"},
        {"colour": "red"},
        {"scale": float("nan")},
    ])
    assert messages[0] is None
    assert "frames" in messages[1] and "0" in messages[1] and "minimum" in messages[1]
    assert "color" in messages[2] and "'purple'" in messages[2] and "one of" in messages[2]
    assert "scale" in messages[3] and "'big'" in messages[3] and "float" in messages[3]
    assert "'colour'" in messages[4] and "not a parameter" in messages[4]
    assert "scale" in messages[5] and "finite" in messages[5]
    with pytest.raises(TypeError, match="list of dicts"):
        session.validate_job_params({"frames": 2})


def test_invalid_jobs_are_refused_before_sending(session: Session) -> None:
    before = len(session.get_batches_last_n_days(1))
    with pytest.raises(ValidationError) as info:
        session.submit([{"frames": 2}, {"frames": 5000}])
    assert "job 1" in str(info.value) and "5000" in str(info.value)
    assert info.value.errors[0] is None and "frames" in info.value.errors[1]
    with pytest.raises(ValidationError, match="at least one job"):
        session.submit([])
    assert len(session.get_batches_last_n_days(1)) == before


def test_submit_returns_a_batch_with_complete_params(session: Session) -> None:
    batch = session.submit([{"frames": 2}, {"color": "blue", "scale": 3}], batch_name="two")
    assert isinstance(batch, Batch)
    assert uuid.UUID(batch.batch_id).version == 4
    assert batch.name == "two" and batch.num_jobs == 2 and batch.job_type == "video"
    assert isinstance(batch.created, datetime) and batch.created.tzinfo is not None
    assert batch.job_params[0] == {**session.default_job, "frames": 2, "scale": 1.0}
    assert batch.job_params[1]["color"] == "blue" and batch.job_params[1]["scale"] == 3.0
    again = session.batch_from_api(batch.batch_id)
    assert again.job_ids == batch.job_ids and again.job_params == batch.job_params
    assert session.portal_url(batch.batch_id) == f"{session.server}portal/batch/{batch.batch_id}/"


def test_default_batch_name_and_previews(session: Session) -> None:
    batch = session.submit([{}, {}], is_preview=True)
    assert batch.job_type == "preview" and "tiny-v1" in batch.name
    assert all(j["is_preview"] for j in batch.jobs)


def test_estimate_samples_per_job_and_in_total(session: Session) -> None:
    jobs = [{"frames": 4}, {"frames": 10}, {}]
    assert session.estimate_samples(jobs) == [4, 10, 3]  # one per job, as infinity-core
    assert session.estimate_total_samples(jobs) == 17
    assert session.estimate_total_samples(jobs, is_preview=True) == 3
    with pytest.raises(ValidationError):
        session.estimate_samples([{"frames": -1}])


def test_batch_from_api_refuses_bad_or_foreign_ids(session: Session, server) -> None:
    with pytest.raises(ValidationError, match="not a UUID"):
        session.batch_from_api("../../etc")
    with pytest.raises(NotFoundError):
        session.batch_from_api(str(uuid.uuid4()))
    other = Session(token=server.new_token("other"), generator="tiny-v1", server=server.url)
    mine = session.submit([{}])
    with pytest.raises(NotFoundError):  # another token cannot see it
        other.batch_from_api(mine.batch_id)
    assert mine.batch_id not in {b["id"] for b in other.get_batches_last_n_days()}


def test_batches_and_usage_of_the_last_days(session: Session) -> None:
    batch = session.submit([{"frames": 5}, {"frames": 6}], batch_name="usage")
    preview = session.submit([{}], is_preview=True, batch_name="usage-preview")
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    preview.await_completion(polling_interval=0.1, timeout=60, progress=False)
    listed = session.get_batches_last_n_days(1)
    ids = [b["id"] for b in listed]
    assert batch.batch_id in ids and preview.batch_id in ids
    assert all(isinstance(b["created"], datetime) for b in listed)
    assert [b["created"] for b in listed] == sorted(b["created"] for b in listed)
    mine = next(b for b in listed if b["id"] == batch.batch_id)
    assert mine["num_jobs"] == 2 and mine["name"] == "usage"
    stats = session.get_usage_stats_last_n_days(1)
    assert isinstance(stats["start_time"], datetime) and isinstance(stats["end_time"], datetime)
    tiny = next(c for c in stats["counts_by_generator"] if c["generator"] == "tiny-v1")
    assert tiny["non_preview_samples_rendered"] >= 11
    assert tiny["preview_samples_rendered"] >= 1
    with pytest.raises(ValueError):
        session.get_batches_last_n_days(-1)


def test_same_idempotency_key_gives_one_batch(session: Session) -> None:
    key = str(uuid.uuid4())
    kwargs = dict(name="idem", generator="tiny-v1", job_params=[{"frames": 2}],
                  is_preview=False, idempotency_key=key)
    first = api.submit_batch(session.transport, **kwargs)
    second = api.submit_batch(session.transport, **kwargs)
    assert first["id"] == second["id"]
    assert [j["id"] for j in first["job_runs"]] == [j["id"] for j in second["job_runs"]]
    listed = [b for b in session.get_batches_last_n_days(1) if b["name"] == "idem"]
    assert len(listed) == 1
    third = api.submit_batch(session.transport, **{**kwargs, "idempotency_key": "other"})
    assert third["id"] != first["id"]


def test_the_server_is_the_authority(session: Session) -> None:
    """What the client would catch, sent raw, is refused by the server with the same detail."""
    with pytest.raises(BadRequestError) as info:
        api.estimate_batch(session.transport, generator="tiny-v1",
                           job_params=[{}, {"color": "purple"}], is_preview=False)
    (error,) = info.value.errors
    assert error["job_index"] == 1 and error["param"] == "color"
    assert error["rule"] == "choices"


def test_job_endpoints_and_schema_document(session: Session) -> None:
    video = session.submit([{"frames": 2}])
    preview = session.submit([{}], is_preview=True)
    t = session.transport
    runs = {j["id"] for j in api.list_job_runs(t)}
    previews = {j["id"] for j in api.list_job_previews(t)}
    assert video.job_ids[0] in runs and video.job_ids[0] not in previews
    assert preview.job_ids[0] in previews and preview.job_ids[0] not in runs
    last = [j["id"] for j in api.list_job_previews(t, limit=1, offset=len(previews) - 1)]
    assert last == [preview.job_ids[0]]
    one = api.get_job_run(t, video.job_ids[0])
    assert one["batch_id"] == video.batch_id and one["param_values"] == video.job_params[0]
    assert one["status"] in {"queued", "running", "succeeded", "failed"}
    assert api.get_job_preview(t, preview.job_ids[0])["batch_id"] == preview.batch_id
    with pytest.raises(NotFoundError):  # a preview is not a video job
        api.get_job_run(t, preview.job_ids[0])
    assert "/api/batch/{batch_id}/summary/" in api.get_api_schema(t)["paths"]
