"""Turn a downloaded batch into one COCO dataset for training.

A VisionFit job labels its frames by video (``file_name: video.mp4`` plus ``frame_number``,
as the hosted service does), one ``labels.json`` per job with ids that start at 1 in every
job. Training tools want one image file per labelled frame and one annotations file with ids
unique across the dataset: :func:`export_coco` writes exactly that, keeping every VisionFit
extra (keypoint visibility, cuboids, occlusion, rep counts) and each job's camera and
parameters. Joint rotations (``quaternions``) and the person's amodal mask
(``amodal_segmentation``) travel inside each annotation; a job's depth maps, when it has
them, become ``depth/<job_id>/<frame_number:06d>.png`` named by the image's
``depth_file_name``.

The export is built in a temporary folder beside its destination and renamed into place
when complete, so a half-written dataset is never visible under the final name.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from infinity_workflows.errors import (
    DataError,
    MissingDataError,
    OutputExistsError,
    ValidationError,
)
from infinity_workflows.files import replace_folder

from .jobdata import batch_folder, job_folders, video_frames
from .summary_index import progress

__all__ = ["ANNOTATIONS_FILE", "export_coco"]

ANNOTATIONS_FILE = "annotations.json"


class _Categories:
    """Categories merged by name across jobs; a name's definition must agree everywhere."""

    def __init__(self) -> None:
        self.by_name: dict[str, dict[str, Any]] = {}

    def merge(self, categories: list[Mapping[str, Any]], job: str) -> dict[int, int]:
        """Add a job's categories; the map from its category ids to the dataset's."""
        mapping: dict[int, int] = {}
        for cat in categories:
            known = self.by_name.get(cat["name"])
            if known is None:
                known = {**cat, "id": len(self.by_name) + 1}
                self.by_name[cat["name"]] = known
            elif {k: v for k, v in known.items() if k != "id"} != \
                    {k: v for k, v in cat.items() if k != "id"}:
                raise DataError(f"job {job} defines category {cat['name']!r} differently "
                                 "from an earlier job; export jobs of one generator version")
            mapping[cat["id"]] = known["id"]
        return mapping

    def as_list(self) -> list[dict[str, Any]]:
        return list(self.by_name.values())


def _job_frames(job_dir: Path) -> Iterator[np.ndarray]:
    """The job's frames in order: decoded from video.mp4, or its one preview image."""
    video = job_dir / "video.mp4"
    if video.is_file():
        yield from video_frames(video)
        return
    with Image.open(job_dir / "video_preview.png") as im:
        yield np.asarray(im.convert("RGB"))


class _DepthMaps:
    """A job's 16-bit depth PNGs by frame number: from ``depth.zip`` (a video) or the plain
    ``image.000000.depth.png`` (a preview); ``present`` is False for a job without them."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = job_dir
        archive = job_dir / "depth.zip"
        self._zip = zipfile.ZipFile(archive) if archive.is_file() else None
        self.present = self._zip is not None or (job_dir / "image.000000.depth.png").is_file()

    def read(self, frame_number: int) -> bytes:
        name = f"image.{frame_number:06d}.depth.png"
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.job_dir / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise DataError(f"job {self.job_dir.name} has depth maps but none for frame "
                             f"{frame_number}; download it again (Batch.download(..., "
                             "overwrite=True))") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _frame_mismatch(job_dir: Path, frames: str, labelled: int) -> DataError:
    return DataError(f"job {job_dir.name} has {frames} frames but its labels.json describes "
                      f"{labelled}; download it again (Batch.download(..., overwrite=True))")


def export_coco(folder: str | Path, out_dir: str | Path | None = None, *,
                every_nth: int = 1, overwrite: bool = False) -> Path:
    """Export the downloaded jobs in ``folder`` as one COCO dataset; returns its
    annotations file. ``folder`` is a batch's download folder, or ``downloads/<batch
    name>/`` holding one batch (then the batch's ``batch_ID_<id>/`` is exported).

    ``out_dir`` (default ``<batch folder>_coco`` beside the batch folder) receives
    ``images/<job_id>/<frame_number:06d>.png`` for every ``every_nth`` frame of each job
    (frame 0 always included) and ``annotations.json``, which ``pycocotools.coco.COCO``
    loads. Image and annotation ids are renumbered from 1 across the dataset and categories
    are merged by name; each image keeps its VisionFit fields plus ``job_id`` (and
    ``depth_file_name`` when the job has depth maps), and a top-level ``jobs`` list holds each
    job's parameters, seed and camera (``info`` of its labels).
    """
    if not isinstance(every_nth, int) or every_nth < 1:
        raise ValidationError(f"every_nth must be a whole number of at least 1, got {every_nth!r}")
    source = batch_folder(folder)
    jobs = job_folders(source)
    if not jobs:
        raise MissingDataError(f"{source} holds no downloaded jobs; download the batch "
                                "first (Batch.download or the Download notebook)")
    target = Path(out_dir) if out_dir is not None else source.with_name(f"{source.name}_coco")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass overwrite=True to replace "
                                "it, or choose another out_dir")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-partial-", dir=target.parent))
    try:
        dataset = _build(jobs, staging, every_nth, source)
        (staging / ANNOTATIONS_FILE).write_text(json.dumps(dataset))
        replace_folder(staging, target, aside_prefix=f".{target.name}-old-")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / ANNOTATIONS_FILE


def _build(jobs: list[Path], staging: Path, every_nth: int, source: Path) -> dict[str, Any]:
    categories = _Categories()
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    job_records: list[dict[str, Any]] = []
    for job_dir in progress(jobs, f"Exporting {len(jobs)} job(s)"):
        job_id = job_dir.name
        labels = json.loads((job_dir / "labels.json").read_text())
        job = json.loads((job_dir / "job.json").read_text())
        category_ids = categories.merge(labels["categories"], job_id)
        image_ids: dict[int, int] = {}
        (staging / "images" / job_id).mkdir(parents=True)
        entries = labels["images"]
        decoded = 0
        depths = _DepthMaps(job_dir)
        if depths.present:
            (staging / "depth" / job_id).mkdir(parents=True)
        try:
            for decoded, frame in enumerate(_job_frames(job_dir), start=1):
                if decoded > len(entries):
                    raise _frame_mismatch(job_dir, "more", len(entries))
                entry = entries[decoded - 1]
                number = entry.get("frame_number", decoded - 1)
                if number % every_nth:
                    continue
                name = f"images/{job_id}/{number:06d}.png"
                Image.fromarray(frame).save(staging / name, compress_level=1)
                image_ids[entry["id"]] = len(images) + 1
                extra = {}
                if depths.present:
                    extra["depth_file_name"] = f"depth/{job_id}/{number:06d}.png"
                    (staging / extra["depth_file_name"]).write_bytes(depths.read(number))
                images.append({**entry, "id": len(images) + 1, "file_name": name,
                               "job_id": job_id, **extra})
        finally:
            depths.close()
        if decoded != len(entries):
            raise _frame_mismatch(job_dir, str(decoded), len(entries))
        for ann in labels["annotations"]:
            if ann["image_id"] in image_ids:
                annotations.append({**ann, "id": len(annotations) + 1,
                                    "image_id": image_ids[ann["image_id"]],
                                    "category_id": category_ids[ann["category_id"]]})
        job_records.append({"job_id": job_id, "name": job.get("name"), "seed": job.get("seed"),
                            "params": job.get("params"), "info": labels.get("info", {})})
    batch_id_file = source / "batch_id.txt"
    first = job_records[0]["info"]
    return {
        "info": {"description": f"COCO export of {len(jobs)} job(s) from {source.name}",
                 "generator": first.get("generator"), "version": first.get("version"),
                 "batch_id": batch_id_file.read_text().strip()
                 if batch_id_file.is_file() else None,
                 "every_nth_frame": every_nth,
                 "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        "licenses": [],
        "categories": categories.as_list(),
        "images": images,
        "annotations": annotations,
        "jobs": job_records,
    }
