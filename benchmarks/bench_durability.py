"""What durable results cost (a script, not a test): jobs per second for 100 tiny jobs,
submit to the last one recorded, with this checkout's server and with another source tree
(e.g. the code before results were synced), run alternately so both see the same machine.

Run: ``.venv/bin/python benchmarks/bench_durability.py [--compare DIR]`` where DIR holds
another version of the package (``git archive <commit> | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer, cli_env  # noqa: E402  (the test suite's launcher)
from tests.support.jobs import submit, summary  # noqa: E402

__all__ = ["main"]


@dataclass
class ServerFrom(LiveServer):
    """A LiveServer running the package found in ``source`` (first on the path)."""

    source: Path = ROOT

    @property
    def env(self) -> dict[str, str]:
        env = cli_env(self.home, self.config)
        env["PYTHONPATH"] = os.pathsep.join([str(self.source), env["PYTHONPATH"]])
        return env


def jobs_per_second(source: Path, jobs: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        srv = ServerFrom(home=Path(tmp) / "home", config=Path(tmp) / "config",
                         extra_args=["--workers", str(workers), "--log-level", "warning"],
                         source=source)
        srv.home.mkdir(parents=True)
        srv.token = srv.new_token("bench")
        srv.start()
        try:
            submit(srv, [{}], preview=True)  # workers warm
            time.sleep(1.0)
            started = time.perf_counter()
            batch = submit(srv, [{"frames": 1}] * jobs)
            while any(r["in_progress"] for r in summary(srv, batch["id"])):
                time.sleep(0.01)
            return jobs / (time.perf_counter() - started)
        finally:
            srv.stop()


def sync_cost_ms(folder: Path, count: int = 200, size: int = 64 * 1024) -> tuple[float, float]:
    """Milliseconds per result placed without and with the syncs, on ``folder``'s disk."""
    from infinity_workflows.files import fsync_folder

    data = os.urandom(size)
    results = folder / "results"
    results.mkdir()
    timings = []
    for durable in (False, True):
        started = time.perf_counter()
        for i in range(count):
            tmp = folder / f"tmp-{i}"
            with open(tmp, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, results / f"{durable}-{i}.zip")
            if durable:
                fsync_folder(results)
        timings.append((time.perf_counter() - started) * 1000 / count)
    return timings[0], timings[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, default=None,
                        help="another source tree to measure alternately")
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sources = {"this checkout": ROOT}
    if args.compare:
        sources["compared"] = args.compare.resolve()
    rates: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(args.repeat):
        for name, source in sources.items():
            rates[name].append(jobs_per_second(source, args.jobs, args.workers))
    for name, values in rates.items():
        print(f"{name:14s} {statistics.median(values):6.1f} jobs/s (median of {args.repeat}; "
              f"runs {', '.join(f'{v:.1f}' for v in values)}) for {args.jobs} tiny jobs on "
              f"{args.workers} workers")
    if args.compare:
        ratio = statistics.median(rates["this checkout"]) / statistics.median(rates["compared"])
        print(f"this checkout / compared: {ratio:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        plain, durable = sync_cost_ms(Path(tmp))
    print(f"placing one 64 KiB result: {plain:.2f} ms as a plain rename, {durable:.2f} ms "
          f"synced (file, rename, folder): +{durable - plain:.2f} ms per job")
    return 0


if __name__ == "__main__":
    sys.exit(main())
