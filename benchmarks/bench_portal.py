"""The portal and housekeeping at batch size (a script, not a test): what a 500-job batch
page costs when each finished job's row gets a video player, what ``api/storage/`` costs,
and what deleting the batch frees and takes.

Starts its own server (the tiny generators, two workers, temporary home), runs a 500-job
batch of ``tiny-video-v1`` (a real H.264 video per job) and one of ``tiny-v1`` (no video),
then times, interleaved so the shared machine's load hits both alike:

* the video batch's page the first time (each job's archive is opened once to find its
  video) and after (remembered), against the same page of the batch without videos;
* ``GET api/storage/`` (a stat per job) against ``GET api/batch/`` (one query);
* ``DELETE api/batch/<id>/`` of the video batch, and the disk it frees.

Run: ``.venv/bin/python benchmarks/bench_portal.py`` (about two minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VIDEO, LiveServer  # noqa: E402  (the test suite's launcher)
from tests.support.api import finished_summary, login  # noqa: E402

__all__ = ["main"]


def _batch(srv: LiveServer, generator: str, n: int) -> str:
    runs = [{"name": generator, "is_preview": False, "param_values": {"frames": 2}}] * n
    answer = srv.post("api/batch/", {"name": generator, "job_runs": runs})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _timed(get) -> float:
    started = time.perf_counter()
    answer = get()
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer.launch(Path(tmp), "--workers", "2", "--generator", VIDEO)
        try:
            videos, plain = _batch(srv, "tiny-video-v1", args.jobs), _batch(srv, "tiny-v1",
                                                                              args.jobs)
            for batch_id in (videos, plain):
                finished_summary(srv, batch_id, timeout=1800)
            browser = login(srv)

            def page(batch_id: str):
                return lambda: browser.get(f"{srv.url}portal/batch/{batch_id}/", timeout=120)

            # Interleaved: the plain page first, then the video page's first render.
            plain_first = _timed(page(plain))
            cold = _timed(page(videos))
            warm, without = [], []
            storage, listing = [], []
            for _ in range(args.rounds):
                warm.append(_timed(page(videos)))
                without.append(_timed(page(plain)))
                storage.append(_timed(lambda: srv.get("api/storage/")))
                listing.append(_timed(lambda: srv.get("api/batch/")))
            body = srv.get("api/storage/").json()
            disk = {b["id"]: b["bytes"] for b in body["batches"]}
            started = time.perf_counter()
            deleted = requests.delete(f"{srv.url}api/batch/{videos}/", headers=srv.headers(),
                                      timeout=120)
            delete_s = time.perf_counter() - started
            assert deleted.status_code == 200, deleted.text
            left = list((srv.home / "results").glob("*.zip"))
            started = time.perf_counter()
            second = requests.delete(f"{srv.url}api/batch/{plain}/", headers=srv.headers(),
                                     timeout=120)
            second_s = time.perf_counter() - started
            assert second.status_code == 200, second.text
        finally:
            srv.stop()
    med = statistics.median
    print(f"{args.jobs}-job batch page, median of {args.rounds} (interleaved):")
    print(f"  without videos: {med(without) * 1000:.0f} ms (first {plain_first * 1000:.0f} ms)")
    print(f"  with a video per row: first {cold * 1000:.0f} ms "
          f"({cold / med(without):.2f}x the page without), then {med(warm) * 1000:.0f} ms "
          f"({med(warm) / med(without):.2f}x)")
    print(f"api/storage/ over {2 * args.jobs} jobs: {med(storage) * 1000:.1f} ms, "
          f"{med(storage) / med(listing):.1f}x api/batch/ ({med(listing) * 1000:.1f} ms)")
    print(f"DELETE of the {args.jobs}-video batch: {delete_s * 1000:.0f} ms, freed "
          f"{deleted.json()['freed_bytes'] / 1e6:.2f} MB ({deleted.json()['removed']} archives;"
          f" storage said {disk[videos] / 1e6:.2f} MB); {len(left)} archives of the other "
          f"batch left ({disk[plain] / 1e6:.2f} MB); then the other batch's DELETE: "
          f"{second_s * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
