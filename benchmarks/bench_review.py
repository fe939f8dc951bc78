"""Record size and review time of the Download notebook, before and after (a script, not a
test).

What is measured: the Download record's review (its metadata table and every cell of
VisionFit's review snippet: summary table, previews, one job's video and label video, the
mosaic, histograms, coverage), executed by nbclient in a fresh kernel, on downloaded batches
of 20, 200 and 2,000 previews and of 20 videos. The record is the notebook rendered from
each version's own template and snippet; only its setup and Download cells are replaced by
a stand-in ``batch`` (ids, type, parameters read from the job folders) and a
``download_ui`` that downloaded nothing (as a headless ``DOWNLOAD_NOW`` run), so no server
is involved. Sizes are of the executed notebook as saved; times are wall seconds of the
review cells (nbclient's per-cell timing), cold (fresh download folder) and warm (the same
cells again on the same folder: label videos and, after, the summary index exist).

"Before" is another checkout (``--before``, e.g. ``git worktree add /work/w2-baseline
c5fa7c6``), imported by its kernels through PYTHONPATH; "after" is this checkout. The two
are interleaved, alternating which goes first, so the machine's load falls on both.

Data: the real VisionFit generator renders 20 previews (256 px) and 20 videos (small: 128
px, 6 fps, 1 rep) once into ``--cache``; 200 and 2,000 previews are the 20 replicated under
new job ids (hard links: same files, distinct jobs).

Run: ``.venv/bin/python benchmarks/bench_review.py --before /work/w2-baseline``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from infinity_workflows.records.snippets import apply_snippet

HERE = Path(__file__).resolve().parent.parent
GENERATOR = "visionfit-flagship-v0.1.0"

STAND_IN = '''%matplotlib inline
import json
from pathlib import Path

from IPython.display import display

from infinity_workflows.workflow import batch_metadata_frame
try:
    from infinity_workflows.review import table_view
except ImportError:  # before: no such helper
    pass

folder = Path(FOLDER)


class _Batch:
    """What the review cells use of a Batch: ids, type, each job's parameters."""

    def __init__(self, folder, job_type):
        dirs = sorted(d for d in folder.iterdir() if (d / "job.json").is_file())
        self.job_ids = [d.name for d in dirs]
        self.job_type = job_type
        self.jobs = [{"id": d.name, "is_preview": job_type == "preview",
                      "param_values": json.loads((d / "job.json").read_text())["params"]}
                     for d in dirs]


class _DownloadUI:
    report = None  # nothing downloaded by the buttons: the review shows everything


batch = _Batch(folder, JOB_TYPE)
sesh = None
'''


def render(folder: Path, is_preview: bool, count: int, seed: int) -> None:
    """``count`` jobs by the real generator into ``folder/<job_id>/``."""
    from visionfit.generator import VisionFitGenerator
    from visionfit.utils.sampling import sample_input

    gen = VisionFitGenerator()
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    size = {"image_width": 256, "image_height": 256} if is_preview else \
        {"image_width": 128, "image_height": 128, "frame_rate": 6, "num_reps": 1}
    for _ in range(count):
        params = gen.schema.complete(sample_input(gen.schema, rng=rng, **size))
        job = folder / str(uuid.uuid4())
        job.mkdir()
        gen.run(params, is_preview, job, rng.getrandbits(63))
    (folder / "batch_id.txt").write_text(str(uuid.uuid4()))


def sources(cache: Path) -> dict[str, Path]:
    previews, videos = cache / "previews20", cache / "videos20"
    for path, is_preview, seed in ((previews, True, 1), (videos, False, 2)):
        if not (path / "batch_id.txt").is_file():
            shutil.rmtree(path, ignore_errors=True)
            print(f"rendering {path.name} ...", flush=True)
            render(path, is_preview, 20, seed)
    return {"previews": previews, "videos": videos}


def replicate(source: Path, target: Path, jobs: int) -> Path:
    """``jobs`` job folders made of ``source``'s (hard links), each under a new id."""
    originals = sorted(d for d in source.iterdir() if (d / "job.json").is_file())
    target.mkdir(parents=True)
    for k in range(jobs):
        shutil.copytree(originals[k % len(originals)], target / str(uuid.uuid4()),
                        copy_function=os.link)
    shutil.copy(source / "batch_id.txt", target / "batch_id.txt")
    return target


def record(checkout: Path, folder: Path, job_type: str) -> nbformat.NotebookNode:
    """The checkout's Download record for ``folder``, setup and Download cells stood in."""
    import runpy

    nb = nbformat.read(str(checkout / "infinity_workflows/notebooks/download_batch.ipynb"),
                       as_version=4)
    snippet = runpy.run_path(str(checkout / "visionfit/generator/snippets.py"))["DOWNLOAD"]
    apply_snippet(nb, snippet)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source += (f"\nFOLDER = {str(folder)!r}\nJOB_TYPE = {job_type!r}\n"
                      f"GENERATOR = {GENERATOR!r}")
    for cell in nb.cells:
        if cell.cell_type == "code" and "open_batch(" in cell.source:
            cell.source = STAND_IN
        elif cell.cell_type == "code" and "download_interface(" in cell.source:
            cell.source = "download_ui = _DownloadUI()"
    return nb


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
            ).total_seconds()


def run(checkout: Path, folder: Path, job_type: str, out: Path) -> dict[str, float]:
    """Execute the record; its saved size (bytes) and review seconds (all but stand-ins)."""
    nb = record(checkout, folder, job_type)
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(checkout)
    try:
        started = time.perf_counter()
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(out.parent)}}).execute()
        wall = time.perf_counter() - started
    finally:
        if env_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_path
    nbformat.write(nb, str(out))
    review = sum(cell_seconds(c) for c in nb.cells if c.cell_type == "code"
                 and "_DownloadUI" not in c.source and "open_batch" not in c.source
                 and "class _Batch" not in c.source)
    return {"bytes": out.stat().st_size, "review_s": review, "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the old code")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-review")
    ap.add_argument("--sizes", default="20,200,2000", help="preview batch sizes")
    ap.add_argument("--videos", type=int, default=20, help="video batch size (0: none)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; medians kept")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    src = sources(args.cache)
    cases = [("previews", int(n)) for n in args.sizes.split(",")] + \
        ([("videos", args.videos)] if args.videos else [])
    checkouts = {"before": args.before.resolve(), "after": HERE}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        for kind, n in cases:
            job_type = "preview" if kind == "previews" else "video"
            for k in range(args.repeat):
                order = ["before", "after"] if k % 2 == 0 else ["after", "before"]
                for name in order:
                    base = Path(tmp) / f"{name}-{kind}{n}-{k}"
                    folder = replicate(src[kind], base / "downloads" / f"batch_ID_{k}", n)
                    (base / "records").mkdir()
                    for phase in ("cold", "warm"):
                        got = run(checkouts[name], folder, job_type,
                                  base / "records" / f"download_{phase}.ipynb")
                        key = f"{kind}{n}/{name}/{phase}"
                        results.setdefault(key, []).append(got)
                        print(key, got, flush=True)
                    shutil.rmtree(base)
    table = {key: {m: statistics.median(r[m] for r in runs) for m in runs[0]}
             for key, runs in results.items()}
    print("\n| batch | record before | record after | review before (cold/warm) | "
          "review after (cold/warm) | after/before (cold) |")
    print("|---|---|---|---|---|---|")
    for kind, n in cases:
        b = {p: table[f"{kind}{n}/before/{p}"] for p in ("cold", "warm")}
        a = {p: table[f"{kind}{n}/after/{p}"] for p in ("cold", "warm")}
        print(f"| {n} {kind} | {b['cold']['bytes'] / 1e6:.2f} MB | "
              f"{a['cold']['bytes'] / 1e6:.3f} MB | {b['cold']['review_s']:.1f} / "
              f"{b['warm']['review_s']:.1f} s | {a['cold']['review_s']:.1f} / "
              f"{a['warm']['review_s']:.1f} s | "
              f"{a['cold']['review_s'] / b['cold']['review_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
