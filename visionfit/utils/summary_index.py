"""One file per downloaded batch that the table, the histograms and the coverage report read.

Reading every job's ``labels.json`` (megabytes for a long video) each time a review cell
runs costs minutes at batch size. The index, ``<folder>/review/summary.jsonl``, holds one
line per job: its parameters, its label statistics (the summary table's columns) and its
coverage counts (visibility per joint, occlusion and box histograms: sums over frames, so
the batch's figure is the sum of its jobs'). It is brought up to date on every read: a job
folder not indexed yet, or whose ``labels.json``/``job.json`` changed (a download with
``overwrite``), is read once and added; a folder gone is dropped. The file is rewritten
atomically, so a reader never sees half of it and two notebooks at once cost nothing worse
than doing the work twice. A folder that cannot be written (read-only) is still reviewed,
from memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from infinity_workflows.files import write_text_atomic

from ..generator.label_summary import LABEL_STATS, statistics_of
from .jobdata import JobLabels, batch_folder, job_folders, read_json

__all__ = ["BOX_BINS", "INDEX_FILE", "LABEL_STATS", "OCCLUSION_BINS", "VISIBILITY_VALUES",
           "index_digest", "job_statistics", "progress", "read_index"]

INDEX_FILE = "review/summary.jsonl"
FORMAT = 1  # bumped when a row's fields change, so older indexes are rebuilt

VISIBILITY_VALUES = (2, 1, 0)        # COCO v: visible, occluded, out of frame
OCCLUSION_BINS = np.linspace(0, 100, 21)
BOX_BINS = np.linspace(0, 1, 17)
_PROGRESS_FROM = 50  # jobs to read before a progress bar is worth showing


def job_statistics(labels: JobLabels) -> dict[str, float]:
    """The per-job statistics of one job's labels (the LABEL_STATS columns and avg_ of
    each image metric), by the generator's declared label summary, so the index, the
    table and the core's `job_statistics` agree."""
    visible = (labels.keypoints[:, :, 2] == 2).mean(axis=1) if labels.keypoints.shape[1] \
        else np.full(labels.frames, np.nan)
    return statistics_of(width=labels.width, height=labels.height,
                         person_bbox=labels.person_bbox, visible_keypoints=visible,
                         percent_occlusion=labels.percent_occlusion,
                         percent_in_fov=labels.percent_in_fov, rep_count=labels.rep_count,
                         metrics=labels.metrics)


def _sparse(counts: np.ndarray) -> list[list[int]]:
    """Nonzero cells of a count array as [flat index, count] pairs (a preview fills one)."""
    flat = counts.ravel()
    return [[int(i), int(flat[i])] for i in np.flatnonzero(flat)]


def job_coverage(labels: JobLabels) -> dict[str, Any]:
    """What one job adds to the coverage report, as counts over its frames with a person."""
    present = np.isfinite(labels.person_bbox).all(axis=1)
    box = labels.person_bbox[present]
    wh = np.array([labels.width, labels.height], float)
    vis = labels.keypoints[present][:, :, 2]
    occlusion = labels.percent_occlusion[present]
    centres = (box[:, :2] + box[:, 2:] / 2) / wh
    sizes = box[:, 2:] / wh
    heat = [np.histogram2d(p[:, 0], p[:, 1], bins=[BOX_BINS, BOX_BINS])[0]
            for p in (centres, sizes)]
    return {
        "keypoint_names": labels.keypoint_names,
        "frames": int(present.sum()),
        "visibility": [[int((vis[:, k] == v).sum()) for v in VISIBILITY_VALUES]
                       for k in range(vis.shape[1])],
        "occlusion": np.histogram(occlusion[np.isfinite(occlusion)],
                                  bins=OCCLUSION_BINS)[0].astype(int).tolist(),
        "centres": _sparse(heat[0]),
        "sizes": _sparse(heat[1]),
    }


def _signature(job_dir: Path) -> list[int]:
    sig = [FORMAT]
    for name in ("job.json", "labels.json"):
        try:
            st = (job_dir / name).stat()
        except FileNotFoundError:
            sig += [0, 0]
        else:
            sig += [st.st_mtime_ns, st.st_size]
    return sig


def _row(job_dir: Path, signature: list[int]) -> dict[str, Any]:
    job = read_json(job_dir / "job.json")
    row: dict[str, Any] = {"job_id": job_dir.name, "signature": signature,
                           "kind": "video" if (job_dir / "video.mp4").is_file() else "preview",
                           "params": job.get("params", {}), "stats": {}, "coverage": None}
    if (job_dir / "labels.json").is_file():
        labels = JobLabels.load(job_dir)
        row["stats"] = job_statistics(labels)
        row["coverage"] = job_coverage(labels)
    return row


def progress(items: list[Path], what: str) -> Iterable[Path]:
    """``items``, with a progress bar (tqdm: a widget in a notebook) when there are many."""
    if len(items) < _PROGRESS_FROM:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=what, unit="job", leave=False)


def _read_rows(path: Path) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:  # none yet, or unreadable: every job is read again
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
            rows[row["job_id"]] = row
        except (ValueError, KeyError, TypeError):
            continue  # a damaged line: that job is simply read again
    return rows


def read_index(folder: str | Path) -> list[dict[str, Any]]:
    """The index rows of the downloaded jobs in ``folder``, in job-folder order, after
    adding the jobs not indexed yet (with a progress bar when there are many)."""
    root = batch_folder(folder)
    jobs = job_folders(root)
    path = root / INDEX_FILE
    known = _read_rows(path)
    signatures = {d.name: _signature(d) for d in jobs}
    stale = [d for d in jobs if known.get(d.name, {}).get("signature") != signatures[d.name]]
    for job_dir in progress(stale, f"Indexing {len(stale)} job(s)"):
        known[job_dir.name] = _row(job_dir, signatures[job_dir.name])
    rows = [known[d.name] for d in jobs]
    if stale or len(known) != len(rows):
        try:
            path.parent.mkdir(exist_ok=True)
            write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
        except OSError:
            pass  # a read-only download: reviewed from memory, indexed next time it can be
    return rows


def index_digest(folder: str | Path) -> str:
    """A digest of the batch's summary index after bringing it up to date: it changes
    exactly when what the table, histograms and coverage show does, so a figure drawn for
    one digest can be shown again without drawing (``linked_figure(..., key=...)``)."""
    rows = read_index(folder)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    return hashlib.sha1(f"{FORMAT}\n{text}".encode()).hexdigest()
