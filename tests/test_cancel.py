"""Cancelling: queued jobs never run, running ones stop within seconds, nothing counts as
failed or rendered; from the API, the client, the CLI, the Download widget and revocation."""

from __future__ import annotations

import sqlite3
import uuid
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from infinity_workflows import Session
from infinity_workflows.widgets.download import DownloadInterface
from tests.support.jobs import (
    cancel_stops_running_and_queued,
    submit,
    summary,
    wait_finished,
)
from tests.support.server import LiveServer, portal_login, run_cli
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def srv(server: LiveServer) -> LiveServer:
    """The session's server (two workers), with this module's token."""
    return server


def _statuses(srv: LiveServer, batch_id: str) -> list[str]:
    return [r["status"] for r in summary(srv, batch_id)]


def test_cancel_stops_running_jobs_and_drops_queued_ones(srv: LiveServer) -> None:
    cancel_stops_running_and_queued(srv)


def test_cancel_is_per_token_per_job_and_a_no_op_when_finished(srv: LiveServer) -> None:
    done = submit(srv, [{}, {}])
    wait_finished(srv, done["id"])
    nothing = srv.post(f"api/batch/{done['id']}/cancel/")
    assert nothing.status_code == 200 and nothing.json()["cancelled"] == 0
    assert _statuses(srv, done["id"]) == ["succeeded"] * 2

    other = srv.new_token("other tenant")
    theirs = srv.post(f"api/batch/{done['id']}/cancel/", token=other)
    assert theirs.status_code == 404
    assert srv.post(f"api/batch/{uuid.uuid4()}/cancel/").status_code == 404

    slow = submit(srv, [{"sleep_s": 60.0}, {"sleep_s": 60.0}, {}, {"sleep_s": 60.0}])
    first, _, _, last = [j["id"] for j in slow["job_runs"]]
    assert srv.post(f"api/job_previews/{last}/cancel/").status_code == 404  # not a preview
    one = srv.post(f"api/job_runs/{last}/cancel/")
    assert one.json() == {"id": last, "cancelled": 1}
    srv.post(f"api/job_runs/{first}/cancel/")
    # The first job stops, so its worker takes the quick one while the second sleeps on.
    wait_for(lambda: _statuses(srv, slow["id"])[2] == "succeeded", timeout=120,
             what="the quick job, on the worker the cancel freed")
    assert _statuses(srv, slow["id"]) == ["cancelled", "running", "succeeded", "cancelled"]
    srv.post(f"api/batch/{slow['id']}/cancel/")
    runs = wait_finished(srv, slow["id"])
    assert [r["status"] for r in runs] == ["cancelled", "cancelled", "succeeded", "cancelled"]
    # Counted nowhere as rendered: only the one job that ran adds frames.
    counts = srv.get("api/job_runs/counts/").json()["counts_by_generator"]
    before = sum(c["non_preview_samples_rendered"] for c in counts)
    assert before == 3 * (2 + 1)  # default frames=3: two finished jobs before, one here


def test_the_client_cli_and_widget_cancel(srv: LiveServer, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
    batch = sesh.submit([{}, {"sleep_s": 60.0}, {"sleep_s": 60.0}, {"sleep_s": 60.0}],
                        batch_name="to cancel")
    wait_for(lambda: batch.get_valid_completed_jobs(), timeout=120, what="the quick job")
    assert batch.cancel() == 3
    batch.await_completion(polling_interval=0.1, timeout=120, progress=False)
    assert len(batch.get_cancelled_jobs()) == 3 and batch.get_failed_jobs() == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folders = batch.download(tmp_path / "dl", progress=False)  # no DownloadError
    assert folders == [tmp_path / "dl" / batch.job_ids[0]]
    assert any("cancelled" in str(w.message) for w in caught)
    assert batch.cancel() == 0  # finished: a no-op, not an error

    ui = DownloadInterface(batch, tmp_path / "dl")
    ui.cancel_button.click()
    assert "Nothing to cancel" in ui.message.value
    running = sesh.submit([{"sleep_s": 60.0}] * 2)
    live = DownloadInterface(running, tmp_path / "dl2")
    live.cancel_button.click()
    assert "Cancelled 2 queued or running job(s)" in live.message.value

    queued = sesh.submit([{"sleep_s": 60.0}] * 4)
    env = {**srv.env, "INFINITY_API_TOKEN": srv.token, "INFINITY_API_SERVER": srv.url}
    out = run_cli("batch", "cancel", queued.batch_id, env=env)
    assert "Cancelled 4 job(s)" in out.stdout
    queued.await_completion(polling_interval=0.1, timeout=120, progress=False)
    assert {j["status"] for j in queued.job_summaries()} == {"cancelled"}
    portal, _ = portal_login(srv.url, srv.token)
    page = portal.get(srv.url + f"portal/batch/{queued.batch_id}/", timeout=30).text
    assert page.count(">cancelled<") >= 4, page  # each job's status, as the portal shows it

    bad = run_cli("batch", "cancel", "not-an-id", env=env, check=False)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    elsewhere = run_cli("batch", "cancel", queued.batch_id, "--server",
                        "http://127.0.0.1:9/", env=env, check=False)
    assert elsewhere.returncode == 1 and "no token for http://127.0.0.1:9/" in elsewhere.stderr


def test_revoking_a_token_cancels_its_unfinished_jobs(srv: LiveServer) -> None:
    leaked = srv.new_token("cancel-leaked")
    long_s = 60.0
    batch = submit(srv, [{"sleep_s": long_s}] * 6, token=leaked)
    wait_for(lambda: "running" in _statuses_of(srv, batch["id"]), timeout=120,
             what="a job of the leaked token running")
    token_id = next(line.split()[0] for line in run_cli(
        "token", "list", "--home", str(srv.home), env=srv.env).stdout.splitlines()
        if "'cancel-leaked'" in line)
    run_cli("token", "revoke", "--home", str(srv.home), token_id, env=srv.env)
    wait_for(lambda: set(_statuses_of(srv, batch["id"])) == {"cancelled"}, timeout=120,
             what="every job of the revoked token cancelled")
    # Its running jobs were stopped: both workers serve the next batch, and finish it before
    # those jobs' sleep would have ended (judged by the server's clock, not the test's).
    after = submit(srv, [{}, {}])
    assert [r["status"] for r in wait_finished(srv, after["id"])] == ["succeeded"] * 2
    started = [datetime.fromisoformat(t) for t in _column_of(srv, batch["id"], "start_time")
               if t is not None]
    finished = [datetime.fromisoformat(t) for t in _column_of(srv, after["id"], "end_time")]
    assert started and max(finished) < min(started) + timedelta(seconds=long_s)


def _column_of(srv: LiveServer, batch_id: str, column: str) -> list:
    """Read from the database itself (the revoked token can no longer ask the API)."""
    assert column in {"status", "start_time", "end_time"}
    with sqlite3.connect(srv.home / "infinity.sqlite3", timeout=30) as db:
        return [v for (v,) in db.execute(
            f"SELECT {column} FROM jobs WHERE batch_id = ? ORDER BY seq", (batch_id,))]


def _statuses_of(srv: LiveServer, batch_id: str) -> list[str]:
    return _column_of(srv, batch_id, "status")
