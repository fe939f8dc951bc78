"""Design to a target on VisionFit (a script, not a test): for three targets of different
kinds, the statistic of the designed videos against the target, beside plain
``sample_inputs`` videos at the same video budget, and what the previews cost.

Starts its own server (VisionFit, two workers, temporary home). Every job is 256x256 at
30 fps with ``--reps`` repetitions (all else from the generator's distributions). One plain
batch of ``--videos`` videos is the baseline for all three targets; each design spends
``--previews`` previews. Distances are Wasserstein-1 in the statistic's units (a bound: how
far the share falls short). Render cost is the generator's own CPU seconds per job
(timing.json ``cpu_seconds``: the Python process, not its ffmpeg child, which only videos
have, so the preview share is overstated), with the wall seconds beside it.

The COCO target is a synthetic file made here (``coco_closeups.json``): 300 person boxes
in 640x480 images, area fraction log-normal around 0.12 (people about twice as large as
VisionFit's default camera gives), aspect ratio 0.35 to 0.6, placed anywhere inside.

Run: ``.venv/bin/python benchmarks/bench_design.py [--videos 30] [--previews 90]
[--reps 12] [--out DIR] [--figures docs]`` (about 15 minutes on the shared machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)

__all__ = ["main"]

FIXED = {"image_width": 256, "image_height": 256, "frame_rate": 30}


def synthetic_coco(path: Path, n: int = 300, seed: int = 11) -> Path:
    """A COCO file of ``n`` person boxes whose sizes differ from VisionFit's defaults."""
    rng = np.random.default_rng(seed)
    width, height = 640, 480
    images, anns = [], []
    for i in range(n):
        area = float(np.clip(np.exp(rng.normal(np.log(0.12), 0.45)), 0.02, 0.45))
        aspect = float(rng.uniform(0.35, 0.6))                    # box width / height
        h = min(height, np.sqrt(area * width * height / aspect))
        w = min(width, area * width * height / h)
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        images.append({"id": i + 1, "width": width, "height": height,
                       "file_name": f"{i + 1:06d}.jpg"})
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                     "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                     "area": round(w * h, 1)})
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "person"}]}))
    return path


def cost(folder: Path) -> tuple[float, float, int]:
    """(CPU s, wall s, jobs) summed over the job folders under ``folder`` (recursively)."""
    cpu = wall = 0.0
    jobs = 0
    for timing in folder.rglob("timing.json"):
        data = json.loads(timing.read_text())
        cpu += data["cpu_seconds"]
        wall += data["total_seconds"]
        jobs += 1
    return cpu, wall, jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--previews", type=int, default=90)
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--only", nargs="*",
                        help="targets to run: uniform rare coco (default), pose")
    parser.add_argument("--out", type=Path, default=None, help="keep results here")
    parser.add_argument("--figures", type=Path, default=None,
                        help="write each target's figure here (PNG)")
    args = parser.parse_args(argv)

    from matplotlib import rcParams

    from infinity_workflows import Session
    from infinity_workflows.design import AtLeast, Uniform, design_batch, match_coco
    from infinity_workflows.sampling import sample_inputs
    from visionfit.generator.identity import NAME

    rcParams["figure.dpi"] = 80
    fixed = {**FIXED, "num_reps": args.reps}
    tmp = Path(tempfile.mkdtemp(prefix="bench-design-"))
    out = args.out or tmp / "out"
    out.mkdir(parents=True, exist_ok=True)
    coco = synthetic_coco(out / "coco_closeups.json")
    targets: dict[str, dict[str, Any]] = {
        "uniform": {"bbox_center_x": Uniform(0.15, 0.85)},
        "rare": {"bbox_area_fraction": AtLeast(0.3, above=0.15)},
        "coco": match_coco(coco, ("bbox_area_fraction",)),
        # Not run by default: a statistic that moves with the person (see the README).
        "pose": {"visible_keypoint_fraction": AtLeast(0.3, below=0.5)},
    }
    targets = {k: v for k, v in targets.items()
               if k in (args.only or ("uniform", "rare", "coco"))}
    srv = LiveServer.launch(tmp / "server", "--workers", "2", "--log-level", "warning")
    results: dict[str, Any] = {"fixed": fixed, "videos": args.videos,
                               "previews": args.previews, "targets": {}}
    started = time.perf_counter()
    try:
        sesh = Session(token=srv.token, generator=NAME, server=srv.url)
        plain_jobs = sample_inputs(sesh, args.videos, args.seed, **fixed)
        plain = sesh.submit(plain_jobs, is_preview=False, batch_name="plain videos")
        pending: list[tuple[str, Any, Any]] = []
        for kind, wanted in targets.items():
            design = design_batch(sesh, wanted, args.videos, args.previews,
                                  tmp / kind / "previews", fixed=fixed,
                                  seed=args.seed + len(pending) + 1,
                                  say=lambda m, k=kind: print(f"[{k}] {m}", flush=True))
            videos = sesh.submit(design.job_params, is_preview=False,
                                 batch_name=f"designed videos: {kind}")
            pending.append((kind, design, videos))
        plain_dir = tmp / "plain"
        plain.download(plain_dir, wait=True, timeout=7200, progress=False)
        plain_cpu, plain_wall, _ = cost(plain_dir)
        for kind, design, videos in pending:
            video_dir = tmp / kind / "videos"
            videos.download(video_dir, wait=True, timeout=7200, progress=False)
            achieved = design.achieved(video_dir)
            baseline = design.achieved(plain_dir)
            p_cpu, p_wall, p_jobs = cost(tmp / kind / "previews")
            v_cpu, v_wall, v_jobs = cost(video_dir)
            rows = []
            for name in design.targets:
                exp, ach, base = design.expected()[name], achieved[name], baseline[name]
                rows.append({
                    "statistic": name, "kind": design.kinds[name],
                    "target": design.targets[name].describe(),
                    "plain videos": base.distance, "designed videos": ach.distance,
                    "expected (previews)": exp.distance,
                    "plain previews": design.plain()[name].distance,
                    "ratio": ach.distance / base.distance if base.distance else None,
                    "plain mean": base.mean, "designed mean": ach.mean,
                    "expected mean": exp.mean, "met": ach.met,
                    "model R2": design.model_r2.get(name)})
            results["targets"][kind] = {
                "rows": rows, "preview_cpu_s": p_cpu, "preview_wall_s": p_wall,
                "previews": p_jobs, "video_cpu_s": v_cpu, "video_wall_s": v_wall,
                "videos": v_jobs, "cpu_share": p_cpu / v_cpu, "wall_share": p_wall / v_wall,
                "plain_video_cpu_s": plain_cpu, "plain_video_wall_s": plain_wall}
            print(json.dumps({kind: results["targets"][kind]}, indent=1, default=str),
                  flush=True)
            if args.figures is not None:
                args.figures.mkdir(parents=True, exist_ok=True)
                fig = design.figure(achieved, baseline)
                fig.savefig(args.figures / f"design_{kind}.png", dpi=80)
            shutil.rmtree(video_dir, ignore_errors=True)  # ~10 MB a video
        shutil.rmtree(plain_dir, ignore_errors=True)
    finally:
        srv.stop()
    results["minutes"] = (time.perf_counter() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(table(results))
    if args.out is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def table(results: dict[str, Any]) -> str:
    lines = ["| target | statistic | plain videos | designed videos | ratio | expected "
             "(previews) | preview cost / video cost (CPU, wall) |",
             "|---|---|---|---|---|---|---|"]
    for kind, res in results["targets"].items():
        for row in res["rows"]:
            bound = row["met"] is not None
            plain = f"share {row['plain mean']:.3f}" if bound else f"{row['plain videos']:.4f}"
            done = (f"share {row['designed mean']:.3f} ({'met' if row['met'] else 'not met'})"
                    if bound else f"{row['designed videos']:.4f}")
            ratio = "" if bound or row["ratio"] is None else f"{row['ratio']:.2f}"
            exp = f"share {row['expected mean']:.3f}" if bound else \
                f"{row['expected (previews)']:.4f}"
            lines.append(f"| {kind}: {row['target']} | {row['statistic']} | {plain} | {done} "
                         f"| {ratio} | {exp} | {res['cpu_share']:.3f}, "
                         f"{res['wall_share']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
