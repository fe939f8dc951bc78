"""Small helpers the server-level suites share: submit a batch, wait for it, read results."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import requests

__all__ = ["archive_entries", "kill_mid_batch_and_restart", "submit", "summary",
           "wait_finished"]

TINY = "tiny-v1"


def submit(srv, params: list[dict[str, Any]], *, preview: bool = False, name: str = "suite",
           token: str | None = None) -> dict[str, Any]:
    """POST a batch of tiny jobs; the 201 body."""
    body = {"name": name, "job_runs": [{"name": TINY, "is_preview": preview,
                                        "param_values": p} for p in params]}
    response = srv.post("api/batch/", body, token=token)
    assert response.status_code == 201, response.text
    return response.json()


def summary(srv, batch_id: str, token: str | None = None) -> list[dict[str, Any]]:
    response = srv.get(f"api/batch/{batch_id}/summary/", token=token)
    assert response.status_code == 200, response.text
    return response.json()["job_runs"]


def wait_finished(srv, batch_id: str, timeout: float = 120, token: str | None = None
                  ) -> list[dict[str, Any]]:
    """Poll summary/ until no job is in progress; its job_runs then."""
    deadline = time.monotonic() + timeout
    while True:
        runs = summary(srv, batch_id, token)
        if not any(r["in_progress"] for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [r["status"] for r in runs]
            raise AssertionError(f"batch {batch_id} still running after {timeout}s: {states}")
        time.sleep(0.2)


def archive_entries(result_url: str) -> dict[str, bytes]:
    """Download a result (no auth header: the signed link is the credential) and unzip it
    in memory: ``{entry name: bytes}``."""
    response = requests.get(result_url, timeout=60)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def kill_mid_batch_and_restart(srv, jobs: int, sleep_s: float) -> None:
    """kill -9 the server once a few of ``jobs`` have finished, start it again, and check
    nothing was lost, half-written, run again or stored twice (whatever the executor)."""
    from tests.conftest import wait_for  # conftest imports nothing from here: no cycle

    batch = submit(srv, [{"sleep_s": sleep_s, "frames": i + 1, "payload_kb": 64}
                         for i in range(jobs)])
    results = srv.home / "results"

    def some_done() -> list[dict[str, Any]]:
        runs = summary(srv, batch["id"])
        return runs if sum(r["status"] == "succeeded" for r in runs) >= 2 else []
    done = [r["id"] for r in wait_for(some_done, timeout=60, interval=0.05,
                                      what="a few jobs finished") if r["status"] == "succeeded"]
    before = {j: srv.get(f"api/job_runs/{j}/").json() for j in done}
    srv.kill()

    # What a crash leaves behind: only complete archives are visible.
    stamps = {}
    for path in results.iterdir():
        assert path.suffix == ".zip" and path.stem in {r["id"] for r in batch["job_runs"]}
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
        stamps[path.stem] = path.stat().st_mtime_ns
    assert set(done) <= set(stamps) and len(stamps) < jobs, \
        "the kill should land midway through the batch"

    srv.start()
    runs = wait_finished(srv, batch["id"], timeout=120)
    assert [r["status"] for r in runs] == ["succeeded"] * jobs, runs
    assert sorted(p.name for p in results.iterdir()) == sorted(f"{r['id']}.zip" for r in runs)
    for job_id, job in before.items():
        now = srv.get(f"api/job_runs/{job_id}/").json()
        assert (now["worker"], now["end_time"]) == (job["worker"], job["end_time"]), \
            "a job that had finished was run again"
        assert (results / f"{job_id}.zip").stat().st_mtime_ns == stamps[job_id], \
            "a finished result was stored twice"
    assert not list((srv.home / "work").iterdir()), "scratch of killed jobs was cleared"


def cancel_stops_running_and_queued(srv, timeout: float = 10.0) -> None:
    """Two long jobs running (one per worker) and three queued: a cancel ends all five
    within ``timeout`` seconds, as cancelled (never failed, no result), and the workers are
    free at once for the next batch. A second cancel is a no-op."""
    batch = submit(srv, [{"sleep_s": 60.0}] * 5, preview=True)

    def running() -> int:
        return sum(r["status"] == "running" for r in summary(srv, batch["id"]))
    deadline = time.monotonic() + 120
    while running() < 2:
        assert time.monotonic() < deadline, summary(srv, batch["id"])
        time.sleep(0.1)
    time.sleep(1.0)  # claimed is not yet started on a remote worker: let both begin
    asked = time.monotonic()
    answer = srv.post(f"api/batch/{batch['id']}/cancel/")
    assert answer.status_code == 200 and answer.json() == {"id": batch["id"], "cancelled": 5}
    runs = wait_finished(srv, batch["id"], timeout=timeout)
    assert [r["status"] for r in runs] == ["cancelled"] * 5, runs
    assert all(r["result_url"] is None and not r["in_progress"] for r in runs)
    # The running jobs were stopped, not left to sleep: the workers take new work now.
    after = submit(srv, [{}, {}], preview=True)
    assert [r["status"] for r in wait_finished(srv, after["id"], timeout=timeout)] == \
        ["succeeded"] * 2
    assert time.monotonic() - asked < 2 * timeout
    again = srv.post(f"api/batch/{batch['id']}/cancel/")
    assert again.status_code == 200 and again.json()["cancelled"] == 0
