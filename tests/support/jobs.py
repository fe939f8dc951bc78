"""Small helpers the server-level suites share: submit a batch, wait for it, read results."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests

from tests.support.waiting import wait_for

__all__ = ["archive_entries", "cancel_stops_running_and_queued", "kill_mid_batch_and_restart",
           "submit", "summary", "wait_finished"]

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


def wait_finished(srv, batch_id: str, timeout: float = 180, token: str | None = None
                  ) -> list[dict[str, Any]]:
    """Poll summary/ until no job is in progress; its job_runs then."""
    def finished() -> list[dict[str, Any]] | None:
        runs = summary(srv, batch_id, token)
        return None if any(r["in_progress"] for r in runs) else runs
    return wait_for(finished, timeout=timeout, interval=0.1,
                    what=f"batch {batch_id} to finish")


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


def _job_times(srv, job_id: str) -> tuple[datetime, datetime]:
    """A preview job's ``(start_time, end_time)`` as the server recorded them."""
    job = srv.get(f"api/job_previews/{job_id}/").json()
    return datetime.fromisoformat(job["start_time"]), datetime.fromisoformat(job["end_time"])


def cancel_stops_running_and_queued(srv, started: Callable[[list[str]], bool] | None = None,
                                    timeout: float = 120) -> None:
    """Two long jobs running (one per worker), the rest queued or handed out ahead: a cancel
    ends all five, as cancelled (never failed, no result), and stops the two running ones:
    the next batch runs on the freed workers and is done before the long jobs would have
    finished by themselves. A second cancel is a no-op.

    ``started(job_ids)``: whether the running jobs have begun on their workers (claimed is
    not yet started on a remote worker); by default their scratch folders exist. ``timeout``
    only bounds each wait: how fast the jobs stop is judged by the server's own clock, so a
    loaded machine makes the test slower, never wrong.
    """
    long_s = 60.0  # the generator's longest sleep: far longer than stopping a job takes
    batch = submit(srv, [{"sleep_s": long_s}] * 5, preview=True)

    def scratch_made(job_ids: list[str]) -> bool:
        return all(any((srv.home / "work").glob(f"{j}-*/{j}")) for j in job_ids)
    has_begun = started or scratch_made

    def begun() -> list[str]:
        # "running" is claimed: while jobs are short the dispatcher hands each worker its
        # next job ahead, so more than two may be claimed; two have begun on the workers.
        claimed = [r["id"] for r in summary(srv, batch["id"]) if r["status"] == "running"]
        on_workers = [job_id for job_id in claimed if has_begun([job_id])]
        return on_workers if len(on_workers) >= 2 else []
    running_ids = wait_for(begun, timeout=timeout, what="two jobs begun on their workers")
    answer = srv.post(f"api/batch/{batch['id']}/cancel/")
    assert answer.status_code == 200 and answer.json() == {"id": batch["id"], "cancelled": 5}
    runs = wait_finished(srv, batch["id"], timeout=timeout)
    assert [r["status"] for r in runs] == ["cancelled"] * 5, runs
    assert all(r["result_url"] is None and not r["in_progress"] for r in runs)
    # The running jobs were stopped, not left to sleep: the workers take new work, and
    # finish it before the long jobs' sleep would have ended.
    after = submit(srv, [{}, {}], preview=True)
    assert [r["status"] for r in wait_finished(srv, after["id"], timeout=timeout)] == \
        ["succeeded"] * 2
    would_end = min(_job_times(srv, j)[0] for j in running_ids) + timedelta(seconds=long_s)
    finished = max(_job_times(srv, r["id"])[1] for r in after["job_runs"])
    assert finished < would_end, (finished, would_end)
    again = srv.post(f"api/batch/{batch['id']}/cancel/")
    assert again.status_code == 200 and again.json()["cancelled"] == 0
