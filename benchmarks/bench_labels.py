"""What the VisionFit labels cost: a whole job on this checkout against an earlier one.

Runs ``bench_render.py``'s whole job (BURPEE_03, LIVINGROOM_1, wall art, 3 reps at 24 fps:
260 frames) in fresh subprocesses, alternating between the baseline checkout, this checkout
with its default outputs, and this checkout with ``enable_depth_maps=True``, so all three
see the same machine load. Each subprocess warms up (imports, compiled kernels), then runs
the job ``--jobs`` times and keeps its least CPU time (other work on a shared machine only
ever adds time). The table gives, per variant, the median over the rounds, and the median
over the rounds of its ratio to the baseline measured in the same round (paired, so a
change in machine load between rounds cancels out). CPU time counts the Python process and
its ffmpeg child.

Target (issue 12): with the default outputs the whole job at 256x256 costs at most 10 % more
CPU than the baseline.

Run: ``.venv/bin/python benchmarks/bench_labels.py --baseline /tmp/vf-base [--rounds 5]
[--jobs 3] [--sizes 256 512]``
where ``/tmp/vf-base`` is a checkout of the commit to compare with, e.g.
``git worktree add --detach /tmp/vf-base <commit>``; ``--candidate`` (default: this
checkout) is the other side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Measures one whole job inside the checkout on PYTHONPATH, with bench_render's own code.
_PROBE = """
import json, sys
sys.path.insert(0, "benchmarks")
import bench_render as b
size, extra, jobs = int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
if extra:
    plain = b.job_params
    b.job_params = lambda s, r: b.GEN.schema.complete({**plain(s, r), **extra})
b.bench_preview(128)
runs = [b.bench_whole_job(size, 3) for _ in range(jobs)]
print(json.dumps(min(runs, key=lambda r: r[1])))
"""


def run(checkout: Path, size: int, extra: dict, jobs: int) -> tuple[int, float, float]:
    """(frames, CPU s, wall s) of the cheapest of ``jobs`` whole jobs in one subprocess."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(size), json.dumps(extra),
                          str(jobs)],
                         cwd=checkout, env=env, capture_output=True, text=True, check=True,
                         timeout=900)
    frames, cpu, wall = json.loads(out.stdout.strip().splitlines()[-1])
    return frames, cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="checkout to compare with")
    ap.add_argument("--candidate", type=Path, default=HERE, help="checkout to measure")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    ap.add_argument("--jobs", type=int, default=3, help="jobs per subprocess (least CPU kept)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256])
    args = ap.parse_args()
    variants = {"baseline": (args.baseline, {}),
                "labels (default outputs)": (args.candidate, {}),
                "labels + depth maps": (args.candidate, {"enable_depth_maps": True})}
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]} at start")
    print("| size | variant | frames | CPU s per job (median; least) | frames/CPU-s (median) "
          "| CPU vs baseline (median of paired ratios; quartiles) |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        frames = 0
        for _ in range(args.rounds):
            for name, (checkout, extra) in variants.items():
                frames, seconds, _wall = run(checkout, size, extra, args.jobs)
                cpu[name].append(seconds)
        for name, values in cpu.items():
            med = statistics.median(values)
            ratios = [100.0 * (v / b - 1.0) for v, b in zip(values, cpu["baseline"],
                                                            strict=True)]
            q1, q2, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            print(f"| {size}x{size} | {name} | {frames} | {med:.2f}; {min(values):.2f} | "
                  f"{frames / med:.0f} | {statistics.median(ratios):+.1f} % "
                  f"({q1:+.1f}, {q3:+.1f}) |", flush=True)
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]} at end")


if __name__ == "__main__":
    main()
