"""Benchmark of the VisionFit generator (a script, not a test).

Prints, at 256x256 and 512x512:

* rendering alone: frames/s of body cast + depth test + composition (the room is cast
  once per job and counted in the whole-job figure), CPU time of this process;
* the whole job (``VisionFitGenerator().run``: render, labels, masks, mp4 encoding, zip,
  JSON), as frames per CPU-second of this process plus its ffmpeg child (the honest
  "per core" figure) and as frames per wall-clock second;
* a preview job's wall time (median of several).

Target: whole job >= 100 frames/s per core at 256x256, preview < 0.2 s.

Run: ``.venv/bin/python benchmarks/bench_render.py [--reps 3] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from visionfit.generator import VisionFitGenerator
from visionfit.generator.job import Job

GEN = VisionFitGenerator()


def job_params(size: int, reps: int) -> dict:
    return GEN.schema.complete({
        "exercise": "BURPEE_03", "scene": "LIVINGROOM_1", "num_reps": reps, "frame_rate": 24,
        "add_wall_art": True, "image_width": size, "image_height": size,
    })


def cpu_seconds() -> tuple[float, float]:
    """(this process, finished children) user+system CPU seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def bench_render_only(size: int, reps: int) -> tuple[int, float]:
    job = Job.build(job_params(size, reps), False, 7)
    job.static  # the room is cast once per job  # noqa: B018
    start = time.process_time()
    for i in range(job.frames):
        job.compose(i)
    return job.frames, time.process_time() - start


def bench_whole_job(size: int, reps: int) -> tuple[int, float, float]:
    params = job_params(size, reps)
    with tempfile.TemporaryDirectory() as tmp:
        me0, kids0 = cpu_seconds()
        wall0 = time.perf_counter()
        GEN.run(params, False, Path(tmp), 7)
        wall = time.perf_counter() - wall0
        me1, kids1 = cpu_seconds()
    return GEN.estimate(params, False), (me1 - me0) + (kids1 - kids0), wall


def bench_preview(size: int) -> float:
    params = job_params(size, 1)
    times = []
    for seed in range(5):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            GEN.run(params, True, Path(tmp), seed)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="reps of BURPEE_03 (3.6 s each)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    args = ap.parse_args()
    bench_preview(128)  # warm imports and caches
    print("| size | frames | render only (frames/s, CPU) | whole job (frames/CPU-s, incl. "
          "ffmpeg) | whole job (frames/wall-s) | preview (wall) |")
    print("|---|---|---|---|---|---|")
    for size in (256, 512):
        render = [bench_render_only(size, args.reps) for _ in range(args.repeat)]
        frames = render[0][0]
        render_fps = max(f / s for f, s in render)
        whole = [bench_whole_job(size, args.reps) for _ in range(args.repeat)]
        cpu_fps = max(f / c for f, c, _ in whole)
        wall_fps = max(f / w for f, _, w in whole)
        preview = bench_preview(size)
        print(f"| {size}x{size} | {frames} | {render_fps:.0f} | {cpu_fps:.0f} | {wall_fps:.0f} "
              f"| {preview * 1000:.0f} ms |", flush=True)


if __name__ == "__main__":
    main()
