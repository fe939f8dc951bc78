"""Fair share under load (a script, not a test): how long token B's work takes on an idle
server, and while token A's long stream of jobs keeps every worker busy.

Starts its own server (tiny test generator, two workers, temporary home). Jobs sleep rather
than compute, so the figures measure the queue's order, not how busy the (shared) machine
is. After a warm-up (workers started), each case alternates idle and loaded runs, so both
see the same machine; the figure is the median ratio. Target: loaded <= 3x idle.

Cases: B's one video behind A's 600 previews; B's 5 previews behind A's 400 previews;
B's 5 previews behind A's 400 videos. Then the CPU cost of choosing the next jobs with
20,000 queued.

Run: ``.venv/bin/python benchmarks/bench_fair_share.py`` (about two minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)
from tests.support.jobs import submit, summary  # noqa: E402

__all__ = ["main"]

TARGET_RATIO = 3.0
WORKERS = 2


def finish_time(srv: LiveServer, token: str, params: list[dict], preview: bool) -> float:
    """Seconds from submitting B's jobs to the last one finishing."""
    started = time.perf_counter()
    batch = submit(srv, params, preview=preview, token=token)
    while any(r["in_progress"] for r in summary(srv, batch["id"], token)):
        time.sleep(0.01)
    return time.perf_counter() - started


def wait_running(srv: LiveServer, batch_id: str, count: int) -> None:
    while sum(r["status"] == "running" for r in summary(srv, batch_id)) < count:
        time.sleep(0.02)


def wait_idle(srv: LiveServer, batch_id: str) -> None:
    while any(r["in_progress"] for r in summary(srv, batch_id)):
        time.sleep(0.02)


def measure_case(srv: LiveServer, b: str, *, a_jobs: int, a_preview: bool, a_seconds: float,
                 a_frames: int, b_params: list[dict], b_preview: bool, repeat: int
                 ) -> tuple[list[float], list[float]]:
    """Alternate: B alone, then B behind A's ``a_jobs`` (cancelled after each run)."""
    idle: list[float] = []
    loaded: list[float] = []
    for _ in range(repeat):
        idle.append(finish_time(srv, b, b_params, b_preview))
        big = submit(srv, [{"sleep_s": a_seconds, "frames": a_frames}] * a_jobs,
                     preview=a_preview)
        wait_running(srv, big["id"], WORKERS)
        loaded.append(finish_time(srv, b, b_params, b_preview))
        srv.post(f"api/batch/{big['id']}/cancel/")
        wait_idle(srv, big["id"])
    return idle, loaded


def claim_order_cpu_ms(folder: Path, queued: int = 20_000, rounds: int = 50,
                       batches: int = 2) -> tuple[float, float]:
    """CPU ms to choose the next 2 jobs with ``queued`` queued in ``batches`` batches of
    as many tokens (previews and videos alternating) and a small batch of a third token,
    3,000 finished and 2 running: the fair order, and plain submission order."""
    import uuid

    from infinity_workflows.server.rows import NewJob, utc_now, utc_text
    from infinity_workflows.server.store import Store
    from infinity_workflows.server.store.job_queue import FAIR_ORDER

    store = Store(folder / f"claim-{batches}.sqlite3")
    sizes = [(f"t{i}", queued // batches, i % 2 == 0) for i in range(batches)]
    for name, n, preview in [*sizes, ("small", 5, False)]:
        store.batches.insert(
            batch_id=str(uuid.uuid4()),
            token_id=store.tokens.id_for(store.tokens.create(name)), name=name,
            generator="g", is_preview=preview, created=utc_text(utc_now()),
            jobs=[NewJob(str(uuid.uuid4()), "{}", i, 1) for i in range(n)],
            idempotency_key=None, request_hash=None)
    conn = store.db.conn
    with conn:
        conn.execute("UPDATE jobs SET status = 'succeeded' WHERE seq <= 3000")
        conn.execute("UPDATE jobs SET status = 'running' WHERE seq IN (3001, 3002)")
    timings = []
    for query in (FAIR_ORDER, "SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq "
                              "LIMIT :limit"):
        samples = []
        for _ in range(rounds):
            started = time.process_time()
            conn.execute(query, {"limit": 2}).fetchall()
            samples.append((time.process_time() - started) * 1000)
        timings.append(statistics.median(samples))
    store.close()
    return timings[0], timings[1]


def _line(label: str, idle: list[float], loaded: list[float]) -> None:
    ratios = [lo / i for i, lo in zip(idle, loaded, strict=True)]
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  {label:42s} idle {statistics.median(idle):5.2f} s, loaded "
          f"{statistics.median(loaded):5.2f} s: {ratio:4.2f}x (max {max(ratios):4.2f}x; "
          f"target <= {TARGET_RATIO:g}x: {verdict})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preview-seconds", type=float, default=0.1,
                        help="how long each preview sleeps")
    parser.add_argument("--video-seconds", type=float, default=0.4,
                        help="how long each video sleeps")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", default="", help="only these cases, e.g. 1,3")
    parser.add_argument("--no-claim-cost", action="store_true")
    args = parser.parse_args(argv)
    p, v = args.preview_seconds, args.video_seconds
    # A video's frames in the proportion of its time to a preview's (one frame): the
    # server shares workers by frames, its estimate of a job's cost.
    frames = max(1, round(v / p))
    video = {"sleep_s": v, "frames": frames}
    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer.launch(Path(tmp), "--workers", str(WORKERS), "--log-level",
                                "warning", token_name="A")
        try:
            b = srv.new_token("B")
            # Warm-up: both workers started, both kinds of job run once.
            finish_time(srv, b, [{"sleep_s": p}] * 4, True)
            finish_time(srv, b, [video] * 2, False)
            cases = {
                "B's 1 video behind A's 600 previews": dict(
                    a_jobs=600, a_preview=True, a_seconds=p, a_frames=1, b_params=[video],
                    b_preview=False),
                "B's 5 previews behind A's 400 previews": dict(
                    a_jobs=400, a_preview=True, a_seconds=p, a_frames=1,
                    b_params=[{"sleep_s": p}] * 5, b_preview=True),
                "B's 5 previews behind A's 400 videos": dict(
                    a_jobs=400, a_preview=False, a_seconds=v, a_frames=frames,
                    b_params=[{"sleep_s": p}] * 5, b_preview=True),
            }
            print(f"fair share on {WORKERS} workers: previews sleep {p:g} s, videos {v:g} s "
                  f"({frames} frames); median of {args.repeat} alternating runs after a "
                  "warm-up", flush=True)
            for n, (label, case) in enumerate(cases.items(), 1):
                if args.cases and str(n) not in args.cases.split(","):
                    continue
                _line(label, *measure_case(srv, b, repeat=args.repeat, **case))
        finally:
            srv.stop()
    if args.no_claim_cost:
        return 0
    print("choosing the next 2 jobs (CPU ms, median of 50):")
    with tempfile.TemporaryDirectory() as tmp:
        for batches in (2, 20, 200):
            fair, fifo = claim_order_cpu_ms(Path(tmp), batches=batches)
            print(f"  20,000 queued in {batches:3d} batches of as many tokens: {fair:.2f} ms "
                  f"fair, {fifo:.2f} ms in submission order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
