"""Benchmark of the API server and client on this machine (a script, not a test).

Starts its own server subprocesses (tiny test generator, temporary home) and prints:

* submit latency (``Session.submit``: local validation + POST api/batch/) for 1, 100 and
  10,000 jobs;
* ``summary/`` latency for a 10,000-job batch (median of several, while its jobs run);
* end-to-end time for 100 tiny jobs: submit -> every job downloaded;
* download throughput (``Batch.download``) beside a plain copy of the same archive bytes
  (and, for reference, a plain copy followed by a local unzip).

Targets: 10,000-job submit < 2 s, summary < 100 ms, download >= 70 % of the plain copy.

Run: ``.venv/bin/python benchmarks/bench_api.py`` (about a minute or two).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infinity_workflows import Session, api  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)

__all__ = ["main"]

TARGET_SUBMIT_10K_S = 2.0
TARGET_SUMMARY_S = 0.100
TARGET_DOWNLOAD_RATIO = 0.70


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def start_server(base: Path, workers: int) -> LiveServer:
    return LiveServer.launch(base, "--workers", str(workers), token_name="bench")


def bench_submit_and_summary(base: Path, repeats: int) -> dict[str, float]:
    srv = start_server(base / "submit", workers=1)
    try:
        sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
        out: dict[str, float] = {}
        for n in (1, 100):
            runs = [timed(lambda n=n: sesh.submit([{"frames": 1}] * n))[0]
                    for _ in range(repeats)]
            out[f"submit_{n}"] = statistics.median(runs)
        jobs = [sesh.random_job(i) | {"payload_kb": 1, "sleep_s": 0.0, "fail": False,
                                      "crash": False} for i in range(10_000)]
        out["submit_10000"], batch = timed(lambda: sesh.submit(jobs, batch_name="bench-10k"))
        # The 10,000 jobs now run in the background, as they would while a user polls.
        times = [timed(lambda: api.get_batch_summary(sesh.transport, batch.batch_id))[0]
                 for _ in range(max(repeats, 7))]
        out["summary_10000"] = statistics.median(times)
        out["summary_10000_max"] = max(times)
        return out
    finally:
        srv.kill()


def bench_end_to_end(base: Path) -> float:
    srv = start_server(base / "e2e", workers=2)
    try:
        sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)

        def run() -> None:
            batch = sesh.submit([{"frames": 3}] * 100, batch_name="bench-e2e")
            batch.download(base / "e2e-download", wait=True, polling_interval=0.2,
                           progress=False)

        return timed(run)[0]
    finally:
        srv.stop()


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


def bench_download(base: Path, jobs: int, payload_kb: int, repeats: int) -> dict[str, float]:
    """Median MB/s of ``Batch.download`` and of two local references on the same archives."""
    srv = start_server(base / "dl", workers=2)
    try:
        sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
        batch = sesh.submit([{"payload_kb": payload_kb, "frames": i + 1} for i in range(jobs)],
                            batch_name="bench-download")
        batch.await_completion(polling_interval=0.5, progress=False)
        archives = [srv.home / "results" / f"{j}.zip" for j in batch.job_ids]
        mb = sum(p.stat().st_size for p in archives) / 1e6

        def copy(target: Path, extract: bool) -> None:
            target.mkdir()
            for p in archives:
                shutil.copyfile(p, target / p.name)
                if extract:  # what unpacking the copied archive locally would add
                    with zipfile.ZipFile(target / p.name) as zf:
                        zf.extractall(target)
                    (target / p.name).unlink()

        def transfer_only() -> None:
            """The same archives over HTTP into nothing: the server's and network's share."""
            urls = [j["result_url"] for j in batch.get_valid_completed_jobs()]
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda u: api.download_result(sesh.transport, u, _Sink()), urls))

        runs: dict[str, list[float]] = {"copy": [], "copy_extract": [], "download": [],
                                        "http": []}
        for i in range(repeats):
            # Interleaved, so that load from elsewhere on the machine hits all three alike.
            runs["copy"].append(timed(lambda i=i: copy(base / f"copy-{i}", False))[0])
            runs["copy_extract"].append(timed(lambda i=i: copy(base / f"unzip-{i}", True))[0])
            runs["http"].append(timed(transfer_only)[0])
            runs["download"].append(timed(
                lambda i=i: batch.download(base / f"download-{i}", progress=False))[0])
            for name in (f"copy-{i}", f"unzip-{i}", f"download-{i}"):
                shutil.rmtree(base / name)
        return {"mb": mb, **{f"{k}_mb_s": mb / statistics.median(v) for k, v in runs.items()}}
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per small measurement")
    parser.add_argument("--download-jobs", type=int, default=20)
    parser.add_argument("--payload-mb", type=int, default=20, help="payload per download job")
    parser.add_argument("--download-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        base = Path(tmp)
        sub = bench_submit_and_summary(base, args.repeats)
        e2e = bench_end_to_end(base)
        dl = bench_download(base, args.download_jobs, args.payload_mb * 1024,
                            args.download_repeats)

    ratio = dl["download_mb_s"] / dl["copy_mb_s"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"machine: {platform.platform()}, python {platform.python_version()}, "
          f"{os.cpu_count()} cores")
    print(f"submit 1 job            {sub['submit_1'] * 1000:8.1f} ms (median)")
    print(f"submit 100 jobs         {sub['submit_100'] * 1000:8.1f} ms (median)")
    print(f"submit 10,000 jobs      {sub['submit_10000'] * 1000:8.1f} ms   target < 2000 ms: "
          f"{verdict(sub['submit_10000'] < TARGET_SUBMIT_10K_S)}")
    print(f"summary/ 10,000 jobs    {sub['summary_10000'] * 1000:8.1f} ms (median; max "
          f"{sub['summary_10000_max'] * 1000:.1f})   target < 100 ms: "
          f"{verdict(sub['summary_10000'] < TARGET_SUMMARY_S)}")
    print(f"end to end, 100 jobs    {e2e:8.2f} s (submit -> all downloaded, 2 workers)")
    print(f"download {args.download_jobs} x {args.payload_mb} MB    "
          f"{dl['download_mb_s']:8.1f} MB/s   plain copy {dl['copy_mb_s']:.1f} MB/s   "
          f"ratio {ratio:.0%}   target >= 70%: {verdict(ratio >= TARGET_DOWNLOAD_RATIO)}")
    print(f"  reference: plain copy + local unzip of the same archives "
          f"{dl['copy_extract_mb_s']:.1f} MB/s (download is "
          f"{dl['download_mb_s'] / dl['copy_extract_mb_s']:.0%} of it); HTTP transfer alone "
          f"(4 streams, bytes discarded) {dl['http_mb_s']:.1f} MB/s (download is "
          f"{dl['download_mb_s'] / dl['http_mb_s']:.0%} of it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
