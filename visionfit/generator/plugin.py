"""The VisionFit generator as an Infinity Workflows plug-in.

Loading the plug-in costs only its declarations (schema, sampling table, snippets): the
server, the CLI and a notebook that samples jobs never run the renderer, so it (with NumPy
kernels compiled by Numba, ffmpeg and pycocotools) is imported inside :meth:`run`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infinity_workflows.files import write_bytes_atomic
from infinity_workflows.generators import Generator

from .distributions import CATEGORIES, DISTRIBUTIONS
from .identity import NAME, VERSION
from .label_summary import STATISTICS, read_statistics
from .params import SCHEMA
from .snippets import DOWNLOAD, SUBMIT

__all__ = ["VisionFitGenerator"]


class VisionFitGenerator(Generator):
    """A person doing reps of an exercise in a room, with exact COCO labels."""

    name = NAME
    version = VERSION
    description = (
        "Videos of a person doing repetitions of an exercise in a furnished room, seen by a "
        "pinhole camera, with exact labels: COCO keypoints with visibility, instance and "
        "semantic masks, boxes, 3D joints and their rotations, cuboids and camera "
        "matrices, and per-stage timings."
    )
    schema = SCHEMA
    supports_preview = True
    gallery_param = "scene"
    distributions = DISTRIBUTIONS
    categories = CATEGORIES
    notebook_snippets = {"submit": SUBMIT, "download": DOWNLOAD}
    examples = "visionfit:examples"
    label_statistics = STATISTICS

    def estimate(self, params: dict[str, Any], is_preview: bool) -> int:
        from .catalog import EXERCISES
        from .motion import frame_count

        return frame_count(EXERCISES[params["exercise"]], params, is_preview)

    def job_statistics(self, job_folder: Path) -> dict[str, float]:
        """Occlusion, field of view, box size, visible keypoints, reps and brightness of one
        downloaded job (:mod:`.label_summary`), the columns of the review table."""
        return read_statistics(Path(job_folder))

    def frame_statistics(self, job_folder: Path) -> dict[str, Any]:
        """Per person in every frame: box size and position, keypoint visibility (a wrist
        hidden or not), occlusion; the per-frame hook of design to a target. Its labels are
        COCO, so the core's COCO reader computes them (the same as for a user's COCO file)."""
        from infinity_workflows.design.coco import coco_statistics

        path = Path(job_folder) / "labels.json"
        if not path.is_file():
            return {}
        return coco_statistics(json.loads(path.read_text(encoding="utf-8")), "person")

    def run(self, params: dict[str, Any], is_preview: bool, out_dir: Path, seed: int) -> None:
        from .job import run_job

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        run_job(params, is_preview, out_dir, int(seed))
        write_bytes_atomic(out_dir / "job.json", json.dumps(
            {"name": self.name, "version": self.version, "seed": int(seed), "params": params},
            sort_keys=True).encode("utf-8"))
