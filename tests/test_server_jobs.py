"""Job life on the real server: failures, worker crashes, restarts, storage errors, links."""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import psutil
import pytest
import requests

from tests.conftest import STRICT_URL_TTL_S
from tests.support.api import assert_error, finished_summary, job, refused_once_expired, submit
from tests.support.server import LiveServer
from tests.support.waiting import wait_for


def statuses(srv: LiveServer, batch_id: str) -> dict[str, dict]:
    body = srv.get(f"api/batch/{batch_id}/summary/").json()
    return {j["id"]: j for j in body["job_runs"]}


def test_a_failing_job_fails_alone_with_its_error(server: LiveServer) -> None:
    batch = submit(server, [job(), job(fail=True), job(frames=2)]).json()
    runs = finished_summary(server, batch["id"])["job_runs"]
    assert [r["status"] for r in runs] == ["succeeded", "failed", "succeeded"]
    failed = runs[1]
    assert failed["in_progress"] is False and failed["result_url"] is None
    assert "RuntimeError" in failed["error"] and "fail=True" in failed["error"]
    assert failed["worker"].startswith("local-pid-")
    assert not (server.home / "results" / f"{failed['id']}.zip").exists()


def test_a_crashing_worker_is_retried_then_failed_and_spares_the_rest(server: LiveServer
                                                                      ) -> None:
    batch = submit(server, [job(sleep_s=0.3), job(crash=True), job(sleep_s=0.3), job()]).json()
    runs = finished_summary(server, batch["id"], timeout=120)["job_runs"]
    assert [r["status"] for r in runs] == ["succeeded", "failed", "succeeded", "succeeded"], runs
    error = runs[1]["error"]
    assert "worker process running this job died 3 times" in error
    assert "--max-attempts" in error
    # The server keeps working afterwards.
    after = submit(server, [job()]).json()
    assert finished_summary(server, after["id"])["job_runs"][0]["status"] == "succeeded"


# kill -9 and restart mid-batch: tests/test_reliability.py (the fault suite).


@pytest.mark.slow
def test_graceful_stop_leaves_unfinished_jobs_queued(make_server) -> None:
    srv = make_server("--workers", "1")
    batch = submit(srv, [job(sleep_s=60), job()]).json()
    wait_for(lambda: statuses(srv, batch["id"])[batch["job_runs"][0]["id"]]["status"]
             == "running", timeout=120, what="first job running")
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 45  # does not wait for the 60 s job
    log = srv.log_path.read_text()
    assert "1 running job(s) put back in the queue" in log
    assert "Traceback" not in log.split("stopping:")[-1]
    srv.extra_args = ["--workers", "2"]
    srv.start()
    now = statuses(srv, batch["id"])
    # Nothing failed or was cancelled by the stop; the quick job may already have run again
    # on the restarted server's second worker.
    assert {v["status"] for v in now.values()} <= {"queued", "running", "succeeded"}
    first = srv.get(f"api/job_runs/{batch['job_runs'][0]['id']}/").json()
    assert first["status"] in ("queued", "running")


def _processes_in_group(pgid: int) -> list[int]:
    found = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid:
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


@pytest.mark.slow
def test_a_stopped_server_leaves_no_process_behind(make_server) -> None:
    """Workers (which ignore stop signals) and multiprocessing's helpers all go with it."""
    srv = make_server("--workers", "2")
    batch = submit(srv, [job() for _ in range(6)]).json()
    finished_summary(srv, batch["id"])
    group = srv.proc.pid
    assert len(_processes_in_group(group)) >= 3  # server, forkserver, workers
    srv.stop()
    wait_for(lambda: not _processes_in_group(group), timeout=15,
             what="every process of the stopped server to end")


def test_a_result_that_cannot_be_stored_fails_the_job_not_the_server(server: LiveServer
                                                                     ) -> None:
    batch = submit(server, [job(sleep_s=1.5)]).json()
    job_id = batch["job_runs"][0]["id"]
    # A folder where the archive must go makes the final rename fail (as a full disk or a
    # read-only folder would), whoever runs the tests.
    blocker = server.home / "results" / f"{job_id}.zip"
    (blocker / "inside").mkdir(parents=True)
    run = finished_summary(server, batch["id"])["job_runs"][0]
    assert run["status"] == "failed"
    assert "could not store the result" in run["error"]
    assert run["result_url"] is None
    follow_up = submit(server, [job()]).json()
    assert finished_summary(server, follow_up["id"])["job_runs"][0]["status"] == "succeeded"


# -- signed result links --------------------------------------------------------------------
def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_result_links_refuse_tampering(server: LiveServer) -> None:
    batch = submit(server, [job(), job()]).json()
    first, second = finished_summary(server, batch["id"])["job_runs"]
    url = first["result_url"]
    assert url.startswith(server.url + f"api/results/{first['id']}/?")
    assert requests.get(url, timeout=30).status_code == 200
    query = parse_qs(urlsplit(url).query)
    expires, signature = int(query["expires"][0]), query["signature"][0]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    for bad in (with_query(url, signature=flipped),
                with_query(url, expires=str(expires + 3600)),
                url.replace(first["id"], second["id"]),
                with_query(url, signature="")):
        body = assert_error(requests.get(bad, timeout=30), 403)
        assert "not valid" in body["detail"]
    assert_error(requests.get(with_query(url, expires="soon"), timeout=30), 400)
    # Links are made fresh on every summary.
    later = finished_summary(server, batch["id"])["job_runs"][0]["result_url"]
    assert requests.get(later, timeout=30).status_code == 200


def test_result_links_expire(strict_server: LiveServer) -> None:
    srv = strict_server  # its links live STRICT_URL_TTL_S seconds
    batch = submit(srv, [job()]).json()
    url = finished_summary(srv, batch["id"])["job_runs"][0]["result_url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert expires <= time.time() + STRICT_URL_TTL_S + 1
    body = assert_error(refused_once_expired(url), 403)
    assert "expired" in body["detail"] and "summary/" in body["detail"]
    fresh = finished_summary(srv, batch["id"])["job_runs"][0]["result_url"]
    assert requests.get(fresh, timeout=30).status_code == 200
