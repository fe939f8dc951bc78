"""Benchmark of the VisionFit generator (a script, not a test).

Prints, in one run, at 256x256 and 512x512:

* the whole job (``VisionFitGenerator().run``: render, labels, masks, mp4 encoding, zip,
  JSON) as frames per CPU-second of this process plus its ffmpeg child (the honest "per
  core" figure), and as frames per wall-clock second;
* the encode-only ceiling for the same frames and masks: the job's own frames (decoded from
  its video.mp4) and its own masks (decoded from its segmentation.zip) encoded again with
  the job's own writers and settings (``encode.VideoEncoder``: libx264 ultrafast, crf 18,
  one thread; ``encode.palette_png``: 8-bit palette, compress level 1, and ``encode.mask_png``
  for the 1-bit amodal masks; ``encode.FramePngs``),
  in frames per CPU-second; no renderer can beat it, since a job must write these files;
* their ratio (whole job / ceiling), the figure the targets are set on: the median over the
  repeats of each back-to-back pair's ratio, with the lowest and highest (job and ceiling
  are medians too);
* rendering alone (body cast, shadow, depth test, composition per frame; frames/CPU-s);
* a preview job's wall time (median of several);
* start-up: in a fresh worker process of a process pool (forkserver, as the server's local
  pool starts them) and on a fresh Dask worker process, the first job's wall time and the
  second's; the first loads the compiled kernels from the disk cache (``--cold`` first
  empties a private cache, to show the one-off compile cost).

Targets (issue 13): ratio >= 0.4 at 256x256, >= 0.3 at 512x512; preview <= 40 ms at
256x256. CPU time ratios taken in one run stay meaningful on a shared machine.

Run: ``.venv/bin/python benchmarks/bench_render.py [--reps 3] [--repeat 3] [--sizes 256 512]``.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from visionfit.generator import VisionFitGenerator
from visionfit.generator.encode import FramePngs, VideoEncoder, mask_png, palette_png
from visionfit.generator.job import Job
from visionfit.utils.vis import video_frames

GEN = VisionFitGenerator()


def job_params(size: int, reps: int) -> dict:
    return GEN.schema.complete({
        "exercise": "BURPEE_03", "scene": "LIVINGROOM_1", "num_reps": reps, "frame_rate": 24,
        "add_wall_art": True, "image_width": size, "image_height": size,
    })


def cpu_seconds() -> float:
    """User+system CPU seconds of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_render_only(size: int, reps: int) -> float:
    job = Job.build(job_params(size, reps), False, 7)
    job.static  # the room is cast once per job  # noqa: B018
    start = time.process_time()
    for i in range(job.frames):
        job.compose(i)
    return job.frames / (time.process_time() - start)


def bench_whole_job(size: int, reps: int, keep: Path | None = None
                    ) -> tuple[int, float, float]:
    """(frames, CPU s, wall s) of one whole job; its files are left in ``keep`` if given."""
    params = job_params(size, reps)
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        GEN.run(params, False, out, 7)
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds() - cpu0
    return GEN.estimate(params, False), cpu, wall


def load_outputs(folder: Path) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray, bytes,
                                                                       int]]]:
    """A job's frames and its masks (name, indices, palette, bit depth) as arrays."""
    frames = [f.copy() for f in video_frames(folder / "video.mp4")]
    masks = []
    with zipfile.ZipFile(folder / "segmentation.zip") as z:
        for name in z.namelist():
            data = z.read(name)
            im = Image.open(io.BytesIO(data))
            palette = bytes(im.getpalette() or b"")
            masks.append((name, np.array(im), palette, data[24]))  # IHDR bit depth
    return frames, masks


def encode_like_the_job(index: np.ndarray, palette: bytes, bit_depth: int) -> bytes:
    """A mask PNG again, with the writer the job used for it: ``mask_png`` for the 1-bit
    amodal masks, ``palette_png`` for the 8-bit instance and category masks."""
    if bit_depth == 1:
        return mask_png(index.astype(bool), tuple(palette[3:6]))
    return palette_png(index, palette)


def bench_encode_only(folder: Path, size: int, fps: int) -> float:
    """Frames per CPU-second of writing the job's own frames and masks, nothing else."""
    frames, masks = load_outputs(folder)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = cpu_seconds()
        video = VideoEncoder(Path(tmp) / "video.mp4", size, size, fps)
        zipped = FramePngs(Path(tmp) / "segmentation.zip")
        per_frame = len(masks) // len(frames)
        for i, frame in enumerate(frames):
            for name, index, palette, depth in masks[i * per_frame:(i + 1) * per_frame]:
                zipped.add(name, encode_like_the_job(index, palette, depth))
            video.write(frame)
        video.close()
        zipped.close()
        cpu = cpu_seconds() - cpu0
    return len(frames) / cpu


def bench_preview(size: int) -> float:
    params = job_params(size, 1)
    times = []
    for seed in range(7):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            GEN.run(params, True, Path(tmp), seed)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _timed_job(size: int) -> float:
    """Wall seconds of one whole job (run inside a pool worker)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        GEN.run(job_params(size, 1), False, Path(tmp), 7)
        return time.perf_counter() - start


def bench_fresh_worker(size: int) -> tuple[float, float]:
    """(first, second) job wall seconds in one new forkserver pool worker."""
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        first = pool.submit(_timed_job, size).result()
        second = pool.submit(_timed_job, size).result()
    return first, second


def bench_dask_worker(size: int) -> tuple[float, float]:
    """(first, second) job wall seconds on one new Dask worker process (local cluster)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        first = client.submit(_timed_job, size, pure=False).result()
        second = client.submit(_timed_job, size, pure=False).result()
    return first, second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="reps of BURPEE_03 (3.6 s each)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--cold", action="store_true",
                    help="measure start-up with an empty kernel cache (compiles once)")
    args = ap.parse_args()
    if args.cold:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-numba-")
    bench_preview(128)  # warm imports and caches
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]} at start")
    print("| size | frames | whole job (frames/CPU-s, incl. ffmpeg) | encode-only ceiling "
          "(frames/CPU-s) | ratio | whole job (frames/wall-s) | render only (frames/CPU-s) "
          "| preview (wall) |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        whole, ceiling = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            with tempfile.TemporaryDirectory() as tmp:
                frames, cpu, wall = bench_whole_job(size, args.reps, Path(tmp))
                whole.append((frames / cpu, frames / wall))
                ceiling.append(bench_encode_only(Path(tmp), size, 24))
        # The ratio of each back-to-back pair, then their median: robust to load swings
        # between pairs; the lowest and highest are printed beside it.
        ratios = sorted(c / top for (c, _), top in zip(whole, ceiling, strict=True))
        job_fps = statistics.median(c for c, _ in whole)
        wall_fps = statistics.median(w for _, w in whole)
        top = statistics.median(ceiling)
        render_fps = max(bench_render_only(size, args.reps) for _ in range(args.repeat))
        preview = bench_preview(size)
        print(f"| {size}x{size} | {frames} | {job_fps:.0f} | {top:.0f} | "
              f"**{statistics.median(ratios):.2f}** ({ratios[0]:.2f} to {ratios[-1]:.2f}) | "
              f"{wall_fps:.0f} | {render_fps:.0f} | {preview * 1000:.0f} ms |", flush=True)
    for size in args.sizes:
        for where, bench in (("pool", bench_fresh_worker), ("Dask", bench_dask_worker)):
            first, second = bench(size)
            print(f"fresh {where} worker, {size}x{size}, 1 rep: first job {first:.2f} s, "
                  f"second {second:.2f} s, start-up cost {first - second:+.2f} s "
                  f"({'empty' if args.cold else 'warm'} kernel cache)", flush=True)
            args.cold = False  # the first measurement filled the cache
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]} at end")


if __name__ == "__main__":
    main()
