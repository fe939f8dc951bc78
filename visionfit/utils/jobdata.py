"""Reading a downloaded VisionFit job: its folder, frames, masks and labels as arrays.

A downloaded batch is a folder of job folders ``<folder>/<job_id>/`` holding ``job.json``
(``{name, version, seed, params}``), ``labels.json`` (COCO keypoints plus VisionFit's extras),
``video_preview.png``, the masks (``image.NNNNNN.iseg.png`` instance and ``.cseg.png``
semantic, 8-bit palette PNGs: in ``segmentation.zip`` for a video, loose for a preview) and,
for video jobs, ``video.mp4``. Everything that draws or summarises a job reads it through
here, so there is one reader per file.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from infinity_workflows.errors import DataError, MissingDataError

__all__ = [
    "CUBOID_EDGES",
    "JobLabels",
    "MaskReader",
    "batch_folder",
    "caption",
    "job_folders",
    "job_params",
    "mask_from_rle",
    "person_category",
    "read_frame",
    "read_json",
    "video_frames",
]

# The 12 edges of a labelled cuboid. Corner k sits at the min or max of the box along each of
# its three axes as the three bits of k say (labels.json: info.cuboid_corner_order), so two
# corners share an edge when their indices differ in exactly one bit.
CUBOID_EDGES = tuple((a, b) for a in range(8) for b in range(a + 1, 8)
                     if bin(a ^ b).count("1") == 1)


def _jobs_in(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "job.json").is_file())


def batch_folder(folder: str | Path) -> Path:
    """The folder that holds the job folders: ``folder`` itself, or its one
    ``batch_ID_<id>/`` when ``folder`` is ``downloads/<batch name>/`` (where the Download
    notebook puts each batch of that name)."""
    root = Path(folder)
    if not root.is_dir():
        raise MissingDataError(f"{root} is not a folder; pass the folder Batch.download() "
                                f"wrote (it holds one sub-folder per job)")
    if _jobs_in(root):
        return root
    batches = sorted(p for p in root.glob("batch_ID_*") if p.is_dir() and _jobs_in(p))
    if len(batches) > 1:
        raise DataError(f"{root} holds {len(batches)} batches of that name "
                        f"({', '.join(p.name for p in batches)}); pass one of them, "
                        f"e.g. {batches[-1]}")
    return batches[0] if batches else root


def job_folders(folder: str | Path) -> list[Path]:
    """The downloaded job folders ``<folder>/<job_id>/`` (those holding a job.json), sorted;
    temporary folders of an unfinished download (names starting with '.') are skipped.
    ``downloads/<batch name>/`` stands for its one batch folder (:func:`batch_folder`)."""
    return _jobs_in(batch_folder(folder))


def read_json(path: Path) -> Any:
    with Path(path).open(encoding="utf-8") as fh:
        return json.load(fh)


def job_params(job_dir: Path) -> dict[str, Any]:
    """The parameters in the job's job.json ({} when it has none)."""
    path = Path(job_dir) / "job.json"
    return dict(read_json(path).get("params", {})) if path.is_file() else {}


def caption(params: Mapping[str, Any], names: Sequence[str] = ("scene", "exercise")) -> str:
    return " / ".join(str(params[p]) for p in names if p in params)


def person_category(labels: Mapping[str, Any]) -> Mapping[str, Any]:
    for cat in labels.get("categories", []):
        if cat.get("name") == "person":
            return cat
    raise DataError("labels.json has no 'person' category")


def video_frames(video: str | Path) -> Iterator[np.ndarray]:
    """Every frame of an mp4 as an RGB array, decoded once, in order."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video), pix_fmt="rgb24")
    try:
        width, height = next(reader)["size"]
        for data in reader:
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def read_frame(job_folder: str | Path, frame: int = 0) -> np.ndarray:
    """Frame ``frame`` of a job as an RGB array: decoded from video.mp4 for a video job,
    video_preview.png for a preview (which has only frame 0)."""
    job_dir = Path(job_folder)
    video = job_dir / "video.mp4"
    if video.is_file():
        if frame < 0:
            raise IndexError(f"frame must be >= 0, got {frame}")
        count = 0
        for count, data in enumerate(video_frames(video), start=1):
            if count == frame + 1:
                return data.copy()
        raise IndexError(f"frame {frame} is past the end of {video} ({count} frames)")
    preview = job_dir / "video_preview.png"
    if not preview.is_file():
        raise MissingDataError(f"{job_dir} has neither video.mp4 nor video_preview.png; is it "
                                f"a downloaded job folder?")
    if frame != 0:
        raise IndexError(f"{job_dir.name} is a preview job: it has only frame 0")
    with Image.open(preview) as im:
        return np.asarray(im.convert("RGB"))


def mask_from_rle(anns: Sequence[Mapping[str, Any]], height: int, width: int) -> np.ndarray:
    """An instance mask (RGB) painted from the annotations' RLE and colours (when no PNG)."""
    from pycocotools import mask as mask_utils

    canvas = np.zeros((height, width, 3), np.uint8)
    for ann in anns:
        rle = ann.get("segmentation")
        if not isinstance(rle, Mapping):
            continue
        rle = dict(rle)
        if isinstance(rle.get("counts"), str):
            rle["counts"] = rle["counts"].encode()
        canvas[mask_utils.decode(rle).astype(bool)] = ann.get("color", (255, 255, 255))[:3]
    return canvas


class MaskReader:
    """A job's per-frame PNGs from its zips (segmentation.zip, depth.zip) or, for a preview,
    loose files; each zip is opened once. Masks (``kind`` 'iseg', 'cseg' or
    'iseg.<annotation id>') come as (index (H, W) uint8, palette (256, 3) uint8)."""

    ARCHIVES = ("segmentation.zip", "depth.zip")

    def __init__(self, job_dir: str | Path) -> None:
        self.job_dir = Path(job_dir)
        self._zips = [zipfile.ZipFile(self.job_dir / a) for a in self.ARCHIVES
                      if (self.job_dir / a).is_file()]
        self._names = {n.rsplit("/", 1)[-1]: (z, n) for z in self._zips for n in z.namelist()}

    def close(self) -> None:
        for z in self._zips:
            z.close()

    def __enter__(self) -> MaskReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, frame_number: int, kind: str) -> Any:
        name = f"image.{frame_number:06d}.{kind}.png"
        if name in self._names:
            archive, member = self._names[name]
            return io.BytesIO(archive.read(member))
        return self.job_dir / name if (self.job_dir / name).is_file() else None

    def depth_mm(self, frame_number: int) -> np.ndarray | None:
        """The frame's depth map (H, W) in whole millimetres, or None without depth maps."""
        data = self._open(frame_number, "depth")
        if data is None:
            return None
        with Image.open(data) as im:
            return np.asarray(im).astype(np.int32)

    def read(self, frame_number: int, kind: str) -> tuple[np.ndarray, np.ndarray] | None:
        data = self._open(frame_number, kind)
        if data is None:
            return None
        name = f"image.{frame_number:06d}.{kind}.png"
        with Image.open(data) as im:
            if im.mode == "P":
                palette = np.zeros((256, 3), np.uint8)
                raw = np.frombuffer(bytes(im.getpalette() or []), np.uint8)[:768]
                palette.reshape(-1)[:len(raw)] = raw
                return np.asarray(im), palette
            # An RGB mask (older jobs): its own colours, one palette entry per colour.
            rgb = np.asarray(im.convert("RGB"))
            colours, index = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
            if len(colours) > 256:
                raise DataError(f"{name} has more than 256 colours; it is not a mask")
            palette = np.zeros((256, 3), np.uint8)
            palette[:len(colours)] = colours
            return index.reshape(rgb.shape[:2]).astype(np.uint8), palette

    def colours(self, frame_number: int, kind: str) -> np.ndarray | None:
        """The mask as RGB (H, W, 3), or None when the job has no such PNG."""
        found = self.read(frame_number, kind)
        return None if found is None else found[1][found[0]]


def _nan_array(shape: tuple[int, ...]) -> np.ndarray:
    return np.full(shape, np.nan)


@dataclass
class JobLabels:
    """A job's labels.json as per-frame arrays (frame i = the i-th image), for drawing and
    statistics without walking dicts per pixel or per frame."""

    job_dir: Path
    width: int
    height: int
    fps: float
    info: dict[str, Any]
    categories: dict[int, dict[str, Any]]
    person_id: int
    keypoint_names: list[str]
    skeleton: list[tuple[int, int]]          # 0-based pairs into keypoint_names
    frame_numbers: np.ndarray                # (N,)
    rep_count: np.ndarray                    # (N,) rep_count_from_start (nan if absent)
    metrics: dict[str, np.ndarray]           # image metric name -> (N,)
    keypoints: np.ndarray                    # (N, K, 3) x, y, v (v = 0 where no person)
    joint_names: list[str]
    joints_2d: np.ndarray                    # (N, J, 3) x, y, depth z (nan where absent)
    joints_visibility: np.ndarray            # (N, J) COCO v
    joints_world: np.ndarray                 # (N, J, 3) metres, z up
    person_bbox: np.ndarray                  # (N, 4) x, y, w, h (nan where no person)
    person_area: np.ndarray                  # (N,) mask pixels
    percent_occlusion: np.ndarray            # (N,)
    percent_in_fov: np.ndarray               # (N,)
    annotations: list[list[dict[str, Any]]] = field(repr=False)  # per frame, all instances

    @property
    def frames(self) -> int:
        return len(self.frame_numbers)

    @classmethod
    def load(cls, job_folder: str | Path) -> JobLabels:
        job_dir = Path(job_folder)
        path = job_dir / "labels.json"
        if not path.is_file():
            raise MissingDataError(f"{path} does not exist; is {job_dir} a downloaded "
                                    f"VisionFit job folder?")
        labels = read_json(path)
        images = labels.get("images", [])
        if not images:
            raise DataError(f"{path} lists no images")
        person = person_category(labels)
        person_id = person["id"]
        names = list(person.get("keypoints", []))
        index = {img["id"]: i for i, img in enumerate(images)}
        per_frame: list[list[dict[str, Any]]] = [[] for _ in images]
        persons: list[dict[str, Any] | None] = [None] * len(images)
        for ann in labels.get("annotations", []):
            i = index.get(ann.get("image_id"))
            if i is None:
                continue
            per_frame[i].append(ann)
            if ann.get("category_id") == person_id and persons[i] is None:
                persons[i] = ann
        joint_names = next((list(p["armature_keypoints"]) for p in persons
                            if p and p.get("armature_keypoints")), [])
        n, k, j = len(images), len(names), len(joint_names)
        keypoints = np.zeros((n, k, 3))
        joints_2d, joints_world = _nan_array((n, j, 3)), _nan_array((n, j, 3))
        joints_v = np.zeros((n, j), np.int64)
        bbox, area = _nan_array((n, 4)), np.zeros(n)
        occlusion, in_fov = _nan_array((n,)), _nan_array((n,))
        for i, ann in enumerate(persons):
            if ann is None:
                continue
            if ann.get("keypoints"):
                keypoints[i] = np.asarray(ann["keypoints"], float).reshape(k, 3)
            arm = ann.get("armature_keypoints") or {}
            if arm and list(arm) == joint_names:
                rows = list(arm.values())
                joints_2d[i] = [(r["x"], r["y"], r.get("z", math.nan)) for r in rows]
                joints_world[i] = [(r.get("x_global", math.nan), r.get("y_global", math.nan),
                                    r.get("z_global", math.nan)) for r in rows]
                joints_v[i] = [r.get("v", 0) for r in rows]
            bbox[i] = ann["bbox"]
            area[i] = ann.get("area", 0)
            occlusion[i] = ann.get("percent_occlusion", math.nan)
            in_fov[i] = ann.get("percent_in_fov", math.nan)
        metric_names = list(dict.fromkeys(m for img in images for m in img.get("metrics", {})))
        info = labels.get("info", {})
        return cls(
            job_dir=job_dir, width=int(images[0]["width"]), height=int(images[0]["height"]),
            fps=float(info.get("frame_rate") or job_params(job_dir).get("frame_rate") or 1),
            info=info, categories={c["id"]: c for c in labels.get("categories", [])},
            person_id=person_id, keypoint_names=names,
            skeleton=[(a - 1, b - 1) for a, b in person.get("skeleton", [])],
            frame_numbers=np.array([img.get("frame_number", i) for i, img in enumerate(images)],
                                   np.int64),
            rep_count=np.array([img.get("rep_count_from_start", math.nan) for img in images],
                               float),
            metrics={m: np.array([img.get("metrics", {}).get(m, math.nan) for img in images],
                                 float) for m in metric_names},
            keypoints=keypoints, joint_names=joint_names, joints_2d=joints_2d,
            joints_visibility=joints_v, joints_world=joints_world, person_bbox=bbox,
            person_area=area, percent_occlusion=occlusion, percent_in_fov=in_fov,
            annotations=per_frame)
