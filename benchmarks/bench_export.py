"""Benchmark of ``visionfit.utils.export.export_coco`` (a script, not a test).

Renders a few VisionFit video jobs into a folder shaped like a downloaded batch, then
exports them as one COCO dataset and prints frames per second (decode the mp4, write each
frame as PNG, renumber and write the labels), beside the time the same jobs took to render.

Run: ``.venv/bin/python benchmarks/bench_export.py [--jobs 4] [--size 256] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path

from visionfit.generator import VisionFitGenerator
from visionfit.utils.export import export_coco


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    gen = VisionFitGenerator()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch"
        batch.mkdir()
        started = time.perf_counter()
        for i in range(args.jobs):
            params = gen.schema.complete({
                "exercise": "BURPEE_03", "scene": "LIVINGROOM_1", "num_reps": 2,
                "frame_rate": 24, "image_width": args.size, "image_height": args.size})
            job_dir = batch / str(uuid.uuid4())
            job_dir.mkdir()
            gen.run(params, False, job_dir, seed=i + 1)
        render_s = time.perf_counter() - started
        frames = sum(len(json.loads((d / "labels.json").read_text())["images"])
                     for d in batch.iterdir())
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            export_coco(batch, Path(tmp) / "coco", overwrite=True)
            times.append(time.perf_counter() - started)
    best = min(times)
    print(f"machine: {platform.platform()}, python {platform.python_version()}")
    print(f"{args.jobs} video jobs, {frames} frames at {args.size}x{args.size}")
    print(f"render (for scale)   {frames / render_s:8.0f} frames/s wall")
    print(f"export_coco          {frames / best:8.0f} frames/s wall (best of {args.repeat}: "
          f"{best:.2f} s)")


if __name__ == "__main__":
    main()
