"""Fair share under load (a script, not a test): how long token B's small preview batch
takes on an idle server, and while token A's 2,000-job batch keeps every worker busy.

Starts its own server (tiny test generator, two workers, temporary home). Jobs sleep for
``--job-seconds`` rather than compute, so the figures measure the queue's order, not how
busy the (shared) machine is. Target: loaded time <= 3x idle time.

Run: ``.venv/bin/python benchmarks/bench_fair_share.py`` (about a minute).
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


def finish_time(srv: LiveServer, token: str, n: int, job_seconds: float) -> float:
    """Seconds from submitting ``n`` previews to the last one finishing."""
    started = time.perf_counter()
    batch = submit(srv, [{"sleep_s": job_seconds}] * n, preview=True, token=token)
    while any(r["in_progress"] for r in summary(srv, batch["id"], token)):
        time.sleep(0.02)
    return time.perf_counter() - started


def wait_running(srv: LiveServer, batch_id: str, token: str, count: int) -> None:
    while sum(r["status"] == "running" for r in summary(srv, batch_id, token)) < count:
        time.sleep(0.02)


def claim_order_cpu_ms(folder: Path, queued: int = 20_000, rounds: int = 50
                       ) -> tuple[float, float]:
    """CPU ms to choose the next 2 jobs with ``queued`` queued (two big batches and a small
    one, 3,000 finished): the fair order, and plain submission order for reference."""
    import uuid

    from infinity_workflows.server.rows import NewJob, utc_now, utc_text
    from infinity_workflows.server.store import Store
    from infinity_workflows.server.store.job_queue import FAIR_ORDER

    store = Store(folder / "claim.sqlite3")
    for name, n in (("a", queued // 2), ("b", queued // 2), ("c", 5)):
        store.batches.insert(
            batch_id=str(uuid.uuid4()), token_id=store.tokens.id_for(store.tokens.create(name)),
            name=name, generator="g", is_preview=False, created=utc_text(utc_now()),
            jobs=[NewJob(str(uuid.uuid4()), "{}", i, 1) for i in range(n)],
            idempotency_key=None, request_hash=None)
    conn = store.db.conn
    with conn:
        conn.execute("UPDATE jobs SET status = 'succeeded' WHERE seq <= 3000")
        conn.execute("UPDATE jobs SET status = 'running' WHERE seq IN (3001, 3002)")
    timings = []
    for query in (FAIR_ORDER, "SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq "
                              "LIMIT :limit"):
        started = time.process_time()
        for _ in range(rounds):
            conn.execute(query, {"limit": 2}).fetchall()
        timings.append((time.process_time() - started) * 1000 / rounds)
    store.close()
    return timings[0], timings[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-seconds", type=float, default=0.5)
    parser.add_argument("--big", type=int, default=2000, help="jobs in A's batch")
    parser.add_argument("--small", type=int, default=5, help="previews in B's batch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    workers = 2
    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer.launch(Path(tmp), "--workers", str(workers), "--log-level",
                                "warning", token_name="A")
        try:
            b = srv.new_token("B")
            idle = [finish_time(srv, b, args.small, args.job_seconds)
                    for _ in range(args.repeat)]
            loaded: dict[str, list[float]] = {}
            for kind, preview in (("previews", True), ("videos", False)):
                big = submit(srv, [{"sleep_s": args.job_seconds, "frames": 1}] * args.big,
                             preview=preview, token=srv.token)
                wait_running(srv, big["id"], srv.token, workers)
                loaded[kind] = [finish_time(srv, b, args.small, args.job_seconds)
                                for _ in range(args.repeat)]
                srv.post(f"api/batch/{big['id']}/cancel/")
        finally:
            srv.stop()
    idle_s = statistics.median(idle)
    fifo_s = args.big * args.job_seconds / workers  # what submission order would give
    print(f"B: {args.small} previews of {args.job_seconds:g} s on {workers} workers "
          f"(median of {args.repeat})")
    print(f"  idle server:                     {idle_s:6.2f} s")
    for kind, times in loaded.items():
        median = statistics.median(times)
        verdict = "ok" if median <= TARGET_RATIO * idle_s else "OVER TARGET"
        print(f"  while A's {args.big}-job {kind:8s} run: {median:6.2f} s = "
              f"{median / idle_s:.2f}x idle (target <= {TARGET_RATIO:g}x: {verdict})")
    print(f"  in submission order B would wait behind all of A: >= {fifo_s:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        fair, fifo = claim_order_cpu_ms(Path(tmp))
    print(f"choosing the next jobs with 20,000 queued: {fair:.2f} ms CPU fair, "
          f"{fifo:.2f} ms in submission order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
