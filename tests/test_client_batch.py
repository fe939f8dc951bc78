"""Batch: what was submitted, how it is going, waiting for it (real server, tiny generator)."""

from __future__ import annotations

import time

import pytest

from infinity_workflows import JobTimeout, Session


@pytest.fixture(scope="module")
def session(server) -> Session:
    return Session(token=server.token, generator="tiny-v1", server=server.url)


def test_batch_data_matches_what_was_submitted(session: Session) -> None:
    batch = session.submit([{"frames": 2}, {"frames": 3, "color": "green"}], batch_name="data")
    data = batch.get_batch_data()
    assert data["id"] == batch.batch_id and data["name"] == "data"
    assert [j["id"] for j in data["job_runs"]] == batch.job_ids
    assert [j["param_values"] for j in data["job_runs"]] == batch.job_params
    assert all(j["name"] == "tiny-v1" for j in batch.jobs)
    assert "data" in repr(batch) and batch.portal_url.endswith(f"/portal/batch/{batch.batch_id}/")
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)


def test_progress_queries_follow_the_jobs(session: Session) -> None:
    batch = session.submit([{"sleep_s": 1.0}, {"sleep_s": 1.0}, {"fail": True}, {}])
    assert 1 <= batch.get_num_jobs_remaining() <= 4  # the sleeping ones are still going
    summary = batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    assert [j["id"] for j in summary] == batch.job_ids
    assert batch.get_num_jobs_remaining() == 0
    statuses = {j["id"]: j["status"] for j in batch.job_summaries()}
    assert list(statuses.values()) == ["succeeded", "succeeded", "failed", "succeeded"]
    assert len(batch.get_completed_jobs()) == 4
    valid = batch.get_valid_completed_jobs()
    assert [j["id"] for j in valid] == [batch.job_ids[i] for i in (0, 1, 3)]
    assert all(j["result_url"].startswith(("http://", "https://")) for j in valid)
    (failed,) = batch.get_failed_jobs()
    assert failed["id"] == batch.job_ids[2] and failed["result_url"] is None
    assert "fail=True" in failed["error"] and failed["in_progress"] is False


@pytest.mark.slow
def test_await_completion_times_out(session: Session) -> None:
    batch = session.submit([{"sleep_s": 5.0}])
    started = time.monotonic()
    with pytest.raises(JobTimeout) as info:
        batch.await_completion(polling_interval=0.1, timeout=0.5, progress=False)
    assert time.monotonic() - started < 4.0
    assert batch.batch_id in str(info.value) and "1 of 1" in str(info.value)
    # The job keeps running on the server: waiting again finishes.
    summary = batch.await_completion(polling_interval=0.2, timeout=60, progress=False)
    assert summary[0]["status"] == "succeeded"


def test_await_completion_shows_progress(session: Session, capsys) -> None:
    batch = session.submit([{}, {}])
    batch.await_completion(polling_interval=0.1, timeout=60, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and batch.name in err
    with pytest.raises(ValueError):
        batch.await_completion(polling_interval=0)
