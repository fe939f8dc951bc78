"""Benchmark of the curation gallery's redraw over 2,000 previews (a script, not a test).

The batch: ``--sources`` real VisionFit previews (256x256) rendered here, replicated on disk
into ``--jobs`` job folders under fresh ids (job.json, labels.json, video_preview.png
copied, so every file is a real preview's; statistics repeat across copies). Then, in one
run, interleaved round by round:

* **gallery**: :class:`CurationGallery` as the Download notebook builds it (statistics and
  128 px thumbnails made once and cached), timing a filter change (an occlusion range,
  alternating two) and a page change (a random page) from the call to the last widget value
  set (``last_redraw_s``);
* **naive**: the same filter and page drawn the obvious way: the table filtered with
  ``DataFrame.query``, and a new page of widgets each made from the full-size preview file.

Both run in this process without a browser (no comm messages), so they compare the Python
side; the browser's end-to-end redraw is measured by tests/test_browser_gallery.py.
Target: a redraw <= 200 ms; figures as medians and 95th percentiles, and the ratio of the
medians gallery / naive.

Run: ``.venv/bin/python benchmarks/bench_gallery.py [--jobs 2000] [--rounds 30]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import ipywidgets as widgets

from infinity_workflows.widgets.gallery import CurationGallery
from infinity_workflows.workflow.curation import Filter
from visionfit.generator import VisionFitGenerator

COPIED = ("job.json", "labels.json", "video_preview.png")


def make_batch(root: Path, sources: int, jobs: int) -> Path:
    gen = VisionFitGenerator()
    from visionfit.utils.sampling import sample_input

    rng = random.Random(3)
    made = []
    for _ in range(sources):
        job = root / "sources" / str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job.mkdir(parents=True)
        gen.run(gen.schema.complete(sample_input(gen.schema, rng=rng, num_reps=1,
                                                 frame_rate=6)), True, job,
                rng.getrandbits(63))
        made.append(job)
    batch = root / "batch"
    for i in range(jobs):
        job = batch / str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job.mkdir(parents=True)
        for name in COPIED:
            shutil.copyfile(made[i % sources] / name, job / name)
    return batch


def naive_redraw(df, query: str, page: int, per_page: int) -> list[widgets.Image]:
    rows = df.query(query)
    ids = rows.index[page * per_page:(page + 1) * per_page]
    return [widgets.Image(value=(Path(df.at[j, "job_path"]) / "video_preview.png")
                          .read_bytes(), format="png", width=128) for j in ids]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--sources", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--per-page", type=int, default=24)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        folder = make_batch(Path(tmp), args.sources, args.jobs)
        print(f"batch of {args.jobs} made in {time.perf_counter() - started:.1f} s")
        started, cpu = time.perf_counter(), time.process_time()
        gallery = CurationGallery(folder, per_page=args.per_page)
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        gallery = CurationGallery(folder, per_page=args.per_page)
        cached = time.perf_counter() - started
        df = gallery.curation.frame
        ranges = [(20.0, 100.0), (5.0, 60.0)]
        rng = random.Random(1)
        times: dict[str, list[float]] = {k: [] for k in
                                         ("filter", "page", "naive filter", "naive page")}
        for k in range(args.rounds):
            low, high = ranges[k % 2]
            gallery.add_filter(Filter("avg_percent_occlusion", low=low, high=high))
            times["filter"].append(gallery.last_redraw_s)
            query = f"{low} <= avg_percent_occlusion <= {high}"
            started = time.perf_counter()
            naive_redraw(df, query, 0, args.per_page)
            times["naive filter"].append(time.perf_counter() - started)
            page = rng.randrange(gallery.pages())
            gallery.go_to_page(page)
            times["page"].append(gallery.last_redraw_s)
            started = time.perf_counter()
            naive_redraw(df, query, page, args.per_page)
            times["naive page"].append(time.perf_counter() - started)
    med = {k: 1000 * statistics.median(v) for k, v in times.items()}
    # The 95th percentile: on a shared machine the single worst round is a preemption.
    worst = {k: 1000 * statistics.quantiles(v, n=20)[-1] for k, v in times.items()}
    print(f"first load (statistics + thumbnails of {args.jobs}): {first:.1f} s "
          f"({first_cpu:.1f} CPU s); cached: {cached:.2f} s")
    print(f"{'redraw':<8} {'gallery ms':>11} {'p95':>6} {'naive ms':>9} {'p95':>6} {'ratio':>6}")
    for kind in ("filter", "page"):
        print(f"{kind:<8} {med[kind]:>11.1f} {worst[kind]:>6.1f} {med['naive ' + kind]:>9.1f} "
              f"{worst['naive ' + kind]:>6.1f} {med[kind] / med['naive ' + kind]:>6.2f}")


if __name__ == "__main__":
    main()
