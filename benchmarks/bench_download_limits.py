"""Download limits against a hostile server (a script, not a test): what refusing costs and
what the limits cost a normal download.

Plays a hostile result server on loopback (``tests/support/hostile.py``) behind a scripted
API (``tests/support/scripted.py``) and measures, through ``Batch.download``:

* a 1 MB zip that expands to 1 GiB: time to refuse it with the default limits, beside the
  time to extract it with every limit lifted (what main did), interleaved;
* 100,001 empty entries: time to refuse, beside extracting them unguarded;
* a body that never ends: bytes the server got out and time until refused, with the default
  ``archive_bytes`` and with a stated 64 MiB;
* a body trickling one byte every 5 s, and headers doing the same, under
  ``download(wait=True, timeout=10)``: seconds until it returns;
* the limits' fixed cost per archive (the cut-off's watcher thread, counting entries);
* the limits' cost on a normal download: the real server (tiny generator), ``--jobs``
  archives of ``--payload-mb``, downloaded with the default limits and with none, interleaved
  ``--repeat`` times; the ratio of the medians.

Run: ``.venv/bin/python benchmarks/bench_download_limits.py`` (about two minutes).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infinity_workflows import Batch, DownloadError, JobTimeout, Session  # noqa: E402
from infinity_workflows.download import DownloadLimits  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)
from tests.support import hostile  # noqa: E402
from tests.support.scripted import Scripted  # noqa: E402

__all__ = ["main"]

NO_LIMITS = {name: None for name in DownloadLimits.__dataclass_fields__}
GENERATOR = {"name": "tiny-v1", "version": "1", "description": "", "options": {},
             "params": [{"name": "frames", "type": "int", "default_value": 1,
                         "options": {"min": 1, "max": 10}, "description": ""}]}


def hostile_batch(api: Scripted, result_url: str) -> tuple[Batch, str]:
    """A one-job batch whose API ``api`` plays and whose result is at ``result_url``."""
    batch_id, job = str(uuid.uuid4()), str(uuid.uuid4())
    api.plan = [(200, GENERATOR, 0.0),
                (200, {"id": batch_id, "name": "hostile", "job_runs": [
                    {"id": job, "name": "tiny-v1", "is_preview": False,
                     "param_values": {}}]}, 0.0)]
    batch = Session(token="bench-token", generator="tiny-v1", server=api.url
                    ).batch_from_api(batch_id)
    api.plan = [(200, {"id": batch_id, "job_runs": [
        {"id": job, "in_progress": False, "status": "succeeded", "error": None,
         "result_url": result_url}]}, 0.0)] * 50
    return batch, job


def attempt(batch: Batch, root: Path, **kwargs: Any) -> tuple[float, str]:
    """Seconds one download took, and how it ended."""
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch.download(root, progress=False, **kwargs)
        outcome = "downloaded"
    except DownloadError as exc:
        outcome = next(iter(exc.failed.values())).split(";")[0]
    except JobTimeout:
        outcome = "JobTimeout"
    elapsed = time.perf_counter() - started
    shutil.rmtree(root, ignore_errors=True)
    return elapsed, outcome


def hostile_figures(tmp: Path, repeat: int) -> None:
    api, results = Scripted(), hostile.HostileResults()
    api.start()
    results.start()
    try:
        batch, job = hostile_batch(api, results.url("bomb"))
        results.routes["/bomb"] = hostile.serve_bytes(hostile.zip_bomb(job))
        refuse, extract = [], []
        for _ in range(repeat):
            refuse.append(attempt(batch, tmp / "bomb")[0])
            extract.append(attempt(batch, tmp / "bomb", limits=NO_LIMITS)[0])
        size = len(hostile.zip_bomb(job))
        print(f"zip bomb, {size / 1e6:.2f} MB -> 1 GiB: refused in "
              f"{statistics.median(refuse) * 1000:.0f} ms (median of {repeat}); extracted "
              f"unguarded in {statistics.median(extract):.2f} s; ratio "
              f"{statistics.median(extract) / statistics.median(refuse):.0f}x")

        batch, job = hostile_batch(api, results.url("many"))
        results.routes["/many"] = hostile.serve_bytes(hostile.many_entries(job, 100_001))
        refused, outcome = attempt(batch, tmp / "many")
        unguarded, _ = attempt(batch, tmp / "many", limits=NO_LIMITS)
        print(f"100,001 empty entries: {outcome[:50]}... in {refused:.2f} s; extracted "
              f"unguarded in {unguarded:.2f} s")

        for label, limits in (("default archive_bytes (2 GiB)", None),
                              ("archive_bytes=64M", {"archive_bytes": "64M"})):
            batch, job = hostile_batch(api, results.url(f"endless-{len(label)}"))
            path = f"/endless-{len(label)}"
            results.routes[path] = hostile.endless()
            seconds, outcome = attempt(batch, tmp / "endless", limits=limits)
            print(f"endless body, {label}: server got out {results.sent[path] / 2**20:,.0f} "
                  f"MiB; refused after {seconds:.1f} s ({outcome[:60]})")

        for label, behaviour in (("body", hostile.trickle(5.0)),
                                 ("headers", hostile.trickle_headers(5.0))):
            batch, job = hostile_batch(api, results.url(f"slow-{label}"))
            results.routes[f"/slow-{label}"] = behaviour
            seconds, outcome = attempt(batch, tmp / "slow", wait=True, polling_interval=0.5,
                                       timeout=10)
            print(f"{label} trickling a byte every 5 s, download(wait=True, timeout=10): "
                  f"{outcome} after {seconds:.2f} s")
    finally:
        results.stop()
        api.stop()


def overhead_figures(tmp: Path, jobs: int, payload_mb: int, repeat: int) -> None:
    srv = LiveServer.launch(tmp / "srv", "--workers", "2", "--log-level", "warning")
    try:
        session = Session(token=srv.token, generator="tiny-v1", server=srv.url)
        batch = session.submit([{"payload_kb": payload_mb * 1024, "frames": i + 1}
                                for i in range(jobs)])
        batch.await_completion(polling_interval=0.2, timeout=600, progress=False)
        megabytes = jobs * payload_mb
        times: dict[str, list[float]] = {"default limits": [], "no limits": []}
        pair = [("default limits", None), ("no limits", NO_LIMITS)]
        for _ in range(repeat):
            pair.reverse()  # each goes first as often: the page cache favours neither
            for label, limits in pair:
                seconds, outcome = attempt(batch, tmp / "normal", limits=limits)
                assert outcome == "downloaded", outcome
                times[label].append(seconds)
        with_limits = statistics.median(times["default limits"])
        without = statistics.median(times["no limits"])
        print(f"normal download, {jobs} jobs x {payload_mb} MB, 4 threads (median of "
              f"{repeat}, interleaved): default limits {megabytes / with_limits:,.0f} MB/s, "
              f"no limits {megabytes / without:,.0f} MB/s; ratio {with_limits / without:.2f}")
    finally:
        srv.stop()


def fixed_costs(tmp: Path, rounds: int = 2000) -> None:
    """What the limits add to each archive, whatever its size: the cut-off's watcher thread
    and counting the entries of an 8-entry archive, against fetching a 1-byte file."""
    import io
    import os
    import zipfile

    from infinity_workflows.cut_off import CutOff
    from infinity_workflows.download_archive import count_entries

    archive = tmp / "eight.zip"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in "abcdefgh":
            zf.writestr(f"job/{name}", os.urandom(1000))
    archive.write_bytes(out.getvalue())
    started = time.perf_counter()
    for _ in range(rounds):
        with CutOff(time.monotonic() + 3600):
            pass
    cut_off = (time.perf_counter() - started) / rounds * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        count_entries(archive, 100_000)
    counting = (time.perf_counter() - started) / rounds * 1000
    print(f"fixed cost per archive (mean of {rounds}): cut-off {cut_off:.3f} ms, counting 8 "
          f"entries {counting:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--payload-mb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fixed_costs(Path(tmp))
        hostile_figures(Path(tmp), args.repeat)
        overhead_figures(Path(tmp), args.jobs, args.payload_mb, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
