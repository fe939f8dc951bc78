"""Load on one server: many clients polling ``summary/`` while others submit batches.

Pollers loop on ``GET api/batch/<id>/summary/`` of a 500-job batch. Submitters loop on:
submit a batch of previews, poll its summary until it is done, download one result. Every
loop ends on its own at the deadline. Reports requests/s, p50/p99 latency per kind of
request, and every failed request (an exception, or a status other than the expected one).
Target: zero failed requests.

Clients are threads spread over a few processes (so the client's own GIL does not inflate
latencies much); everything talks to the server over loopback.

Run: ``.venv/bin/python benchmarks/bench_load.py`` (starts its own server with the tiny test
generator; 60 s, 50 pollers, 10 submitters), or against a running server:
``INFINITY_API_TOKEN=... .venv/bin/python benchmarks/bench_load.py --url http://127.0.0.1:8765/``.
``--json`` prints the figures as one JSON object (the test suite uses that).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

__all__ = ["main", "run_load"]

GENERATOR = "tiny-v1"
TIMEOUT_S = 30  # per request: a request slower than this counts as failed


@dataclass(frozen=True)
class ClientPlan:
    url: str
    token: str
    deadline: float  # time.time() at which every loop stops
    poll_batch: str
    pollers: int
    submitters: int
    batch_size: int


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


class _Recorder:
    """Per-process samples: ``(kind, seconds, ok, note)``."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, float, bool, str]] = []
        self._lock = threading.Lock()

    def call(self, kind: str, expect: int, fn: Callable[..., requests.Response], *args: Any,
             **kwargs: Any) -> requests.Response | None:
        """``fn(*args, timeout=..., **kwargs)``, timed; the response when it is ``expect``."""
        started = time.perf_counter()
        try:
            response = fn(*args, timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            self._add(kind, time.perf_counter() - started, False, type(exc).__name__)
            return None
        elapsed = time.perf_counter() - started
        ok = response.status_code == expect
        self._add(kind, elapsed, ok, "" if ok else f"HTTP {response.status_code}")
        return response if ok else None

    def _add(self, kind: str, seconds: float, ok: bool, note: str) -> None:
        with self._lock:
            self.samples.append((kind, seconds, ok, note))


def _poller(plan: ClientPlan, rec: _Recorder) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {plan.token}"
    path = f"{plan.url}api/batch/{plan.poll_batch}/summary/"
    while time.time() < plan.deadline:
        rec.call("summary", 200, http.get, path)


def _submitter(plan: ClientPlan, rec: _Recorder, index: int) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {plan.token}"
    body = {"name": f"load-{index}", "job_runs": [
        {"name": GENERATOR, "is_preview": True, "param_values": {"payload_kb": 16}}
        for _ in range(plan.batch_size)]}
    while time.time() < plan.deadline:
        created = rec.call("submit", 201, http.post, f"{plan.url}api/batch/", json=body)
        if created is None:
            time.sleep(0.5)
            continue
        path = f"{plan.url}api/batch/{created.json()['id']}/summary/"
        while time.time() < plan.deadline:
            got = rec.call("submitter summary", 200, http.get, path)
            runs = got.json()["job_runs"] if got is not None else []
            if runs and not any(r["in_progress"] for r in runs):
                link = next((r["result_url"] for r in runs if r["result_url"]), None)
                if link:  # the signed link alone, as a downloader sends it
                    rec.call("download", 200, requests.get, link)
                break
            time.sleep(0.5)


def _run_clients(plan: ClientPlan) -> list[tuple[str, float, bool, str]]:
    """One process's share of clients, as threads; returns its samples."""
    rec = _Recorder()
    threads = [threading.Thread(target=_poller, args=(plan, rec)) for _ in range(plan.pollers)]
    threads += [threading.Thread(target=_submitter, args=(plan, rec, i))
                for i in range(plan.submitters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, plan.deadline - time.time()) + 2 * TIMEOUT_S)
    return rec.samples


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_load(url: str, token: str, *, duration: float, pollers: int, submitters: int,
             processes: int = 4, batch_size: int = 10, poll_batch_jobs: int = 500
             ) -> dict[str, Any]:
    """Drive the server at ``url`` for ``duration`` seconds; the figures as a dict."""
    url = url if url.endswith("/") else url + "/"
    auth = {"Authorization": f"Token {token}"}
    polled = requests.post(f"{url}api/batch/", headers=auth, timeout=120, json={
        "name": "load-polled", "job_runs": [
            {"name": GENERATOR, "is_preview": True, "param_values": {}}
            for _ in range(poll_batch_jobs)]})
    polled.raise_for_status()
    processes = max(1, min(processes, pollers + submitters))
    deadline = time.time() + duration
    plans = [ClientPlan(url, token, deadline, polled.json()["id"], p, s, batch_size)
             for p, s in zip(_split(pollers, processes), _split(submitters, processes),
                             strict=True)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        samples = [s for part in pool.map(_run_clients, plans) for s in part]
    wall = time.perf_counter() - started

    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({s[0] for s in samples}):
        times = sorted(s[1] for s in samples if s[0] == kind)
        by_kind[kind] = {"requests": len(times), "p50_ms": 1000 * statistics.median(times),
                         "p99_ms": 1000 * _percentile(times, 0.99),
                         "max_ms": 1000 * times[-1]}
    everything = sorted(s[1] for s in samples)
    failures = [f"{s[0]}: {s[3]}" for s in samples if not s[2]]
    return {
        "duration_s": round(wall, 2), "pollers": pollers, "submitters": submitters,
        "requests": len(samples), "requests_per_s": len(samples) / wall,
        "p50_ms": 1000 * statistics.median(everything) if everything else math.nan,
        "p99_ms": 1000 * _percentile(everything, 0.99),
        "failed": len(failures), "failures": sorted(set(failures))[:20],
        "by_kind": by_kind,
    }


def _print(report: dict[str, Any]) -> None:
    print(f"{report['pollers']} pollers + {report['submitters']} submitters for "
          f"{report['duration_s']} s: {report['requests']} requests, "
          f"{report['requests_per_s']:.0f} requests/s, p50 {report['p50_ms']:.1f} ms, "
          f"p99 {report['p99_ms']:.1f} ms, failed {report['failed']}")
    print(f"{'request':<18} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, row in report["by_kind"].items():
        print(f"{kind:<18} {row['requests']:>7} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
              f"{row['max_ms']:>8.1f}")
    for failure in report["failures"]:
        print("FAILED", failure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (token from INFINITY_API_TOKEN); "
                        "default: start one with the tiny test generator")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--submitters", type=int, default=10)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--poll-batch-jobs", type=int, default=500,
                        help="jobs in the batch the pollers watch (queued ahead of the "
                             "submitters' batches)")
    parser.add_argument("--server-workers", type=int, default=2,
                        help="--workers of the server this script starts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    load = dict(duration=args.duration, pollers=args.pollers, submitters=args.submitters,
                processes=args.processes, poll_batch_jobs=args.poll_batch_jobs)

    if args.url:
        token = os.environ.get("INFINITY_API_TOKEN", "")
        if not token:
            parser.error("set INFINITY_API_TOKEN to a token of the server at --url")
        report = run_load(args.url, token, **load)
    else:
        from tests.conftest import LiveServer

        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
            srv = LiveServer.launch(Path(tmp), "--workers", str(args.server_workers),
                                    "--log-level", "warning", token_name="load")
            try:
                report = run_load(srv.url, srv.token, **load)
            finally:
                srv.stop()
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
