"""Throughput of short jobs: workers get their next job ahead while jobs are short (and only
then), and a Dask worker's heap serves a job's large arrays (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for
from tests.support.jobs import submit, summary, wait_finished


def _running(srv, batch_id: str) -> int:
    return sum(r["status"] == "running" for r in summary(srv, batch_id))


@pytest.mark.slow
def test_short_jobs_are_handed_out_one_ahead_per_worker(make_server) -> None:
    srv = make_server("--workers", "1")
    first = submit(srv, [{}])  # a quick job: the server learns jobs are short
    assert wait_finished(srv, first["id"])[0]["status"] == "succeeded"
    batch = submit(srv, [{"sleep_s": 1.0}] * 3)
    # One worker, two jobs claimed: the next one waits at the worker, not in the database.
    wait_for(lambda: _running(srv, batch["id"]) == 2, timeout=30,
             what="a second job claimed while the first runs")
    assert [r["status"] for r in wait_finished(srv, batch["id"])] == ["succeeded"] * 3


@pytest.mark.slow
def test_long_jobs_are_handed_out_only_as_workers_free_up(make_server) -> None:
    srv = make_server("--workers", "1")
    first = submit(srv, [{"sleep_s": 2.5}])  # longer than LOOK_AHEAD_BELOW_S
    assert wait_finished(srv, first["id"])[0]["status"] == "succeeded"
    batch = submit(srv, [{"sleep_s": 2.5}] * 2)
    most = 0
    deadline = time.monotonic() + 120
    while True:
        runs = summary(srv, batch["id"])
        most = max(most, sum(r["status"] == "running" for r in runs))
        if not any(r["in_progress"] for r in runs) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert most == 1
    assert [r["status"] for r in runs] == ["succeeded"] * 2


_CHURN = """
import resource
import numpy as np
from infinity_workflows.server.executors.dask import _job_heap

def page_faults(work):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    work()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def churn():  # what a render does: large temporary arrays, made and dropped
    for _ in range(40):
        np.ones(4 << 20, np.uint8)

def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() >> 20

def big_job():  # 128 MiB of 1 MiB arrays held at once, then freed; the peak resident size
    arrays = [np.ones(1 << 20, np.uint8) for _ in range(128)]
    return rss_mib()

pinned = page_faults(churn)
with _job_heap():
    churn()
    inside = page_faults(churn)
after = page_faults(churn)
start = rss_mib()
with _job_heap():
    held = big_job()
print(pinned, inside, after, held - start, rss_mib() - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_dask_workers_heap_serves_a_jobs_arrays_and_is_trimmed_after(tmp_path: Path
                                                                       ) -> None:
    """Under the nanny's MALLOC_TRIM_THRESHOLD_, every 4 MiB array is a fresh mapping whose
    pages fault in afresh; inside a job it comes from the heap, and after the job the setting
    holds again and a large heap is given back."""
    pytest.importorskip("distributed")
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", _CHURN], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=True)
    pinned, inside, after, held_mib, left_mib = map(int, out.stdout.split())
    assert pinned >= 40 * 256, out.stdout  # each array faulted in afresh (some huge pages)
    assert inside < pinned / 10, out.stdout
    assert after > pinned / 2, out.stdout  # the environment's setting is back
    assert held_mib >= 100 and left_mib < held_mib / 2, out.stdout
