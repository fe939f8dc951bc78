"""A job's labels as one video (or, for a preview, one picture), and a batch as a mosaic.

:func:`visualize_all_labels` decodes the job's video once, paints every panel of each
frame (:mod:`visionfit.utils.label_panels`), lays them out in a grid and streams the grid into
one H.264 MP4 (yuv420p, even size) that JupyterLab and browsers play inline.
:func:`display_batch_results` tiles several jobs' label videos into one mosaic video.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from infinity_workflows.errors import DataError, ValidationError
from infinity_workflows.files import write_text_atomic
from infinity_workflows.review import LinkedFile, review_folder
from visionfit.generator.encode import VideoEncoder, write_png_atomic

from .draw import tag
from .jobdata import (
    JobLabels,
    MaskReader,
    batch_folder,
    caption,
    job_folders,
    job_params,
    video_frames,
)
from .label_panels import DEFAULT_PANELS, PANELS, LabelPainter, panel_scale

__all__ = ["LABEL_STILL", "LABEL_VIDEO", "display_batch_results", "label_grid",
           "visualize_all_labels"]

LABEL_VIDEO = "label_video.mp4"
LABEL_STILL = "label_still.png"
MOSAIC = "label_mosaic"
_COLUMNS = 4
_CRF = 23  # for looking at, not for training: a third of the bytes of crf 18
_CAPTION = 16  # pixels under each tile of a mosaic for its job id, scene and exercise


def _panel_names(panels: Iterable[str] | None) -> list[str]:
    names = list(DEFAULT_PANELS) if panels is None else list(panels)
    unknown = [p for p in names if p not in PANELS]
    if unknown or not names:
        raise ValidationError(f"unknown panel(s) {unknown or '(none given)'}; choose among "
                         f"{', '.join(PANELS)}")
    return names


def _frame_indices(frames: Any, count: int, job: str) -> list[int]:
    if frames is None:
        return list(range(count))
    if isinstance(frames, slice):
        wanted = list(range(count))[frames]
    else:
        wanted = sorted({int(f) for f in ([frames] if isinstance(frames, int) else frames)})
    bad = [f for f in wanted if not 0 <= f < count]
    if bad or not wanted:
        raise IndexError(f"frames {bad or '(none)'} out of range: {job} has {count} frame(s), "
                         f"0 to {count - 1}")
    return wanted


def _layout(count: int) -> tuple[int, int]:
    """(columns, rows) of the grid of ``count`` panels."""
    cols = min(_COLUMNS, count)
    return cols, math.ceil(count / cols)


def label_grid(painter: LabelPainter, names: Sequence[str], i: int, rgb: np.ndarray
               ) -> Image.Image:
    """Frame ``i``'s panels laid out row by row, ``_COLUMNS`` to a row."""
    cols, rows = _layout(len(names))
    h, w = painter.height, painter.width
    grid = Image.new("RGB", (cols * w, rows * h))
    frame = painter.enlarge(rgb)
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        grid.paste(painter.paint(name, i, frame), (c * w, r * h))
    return grid


def _player(path: Path, width: int | None = None) -> LinkedFile:
    """The file, linked (not embedded), so the notebook stays small: JupyterLab plays it
    from its URL relative to the notebook's folder."""
    return LinkedFile(path, width=width)


def _decoded(job_dir: Path, wanted: list[int], count: int) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB) for the wanted frames, decoding the video once."""
    want = set(wanted)
    seen = 0
    for seen, rgb in enumerate(video_frames(job_dir / "video.mp4"), start=1):
        if seen - 1 in want:
            yield seen - 1, rgb
        if seen - 1 >= wanted[-1]:
            return
    raise DataError(f"{job_dir / 'video.mp4'} has {seen} frames but labels.json describes "
                     f"{count}; the download is incomplete: download the job again")


def visualize_all_labels(job_folder: str | Path, frames: Any = None,
                         panels: Iterable[str] | None = None, out: str | Path | None = None,
                         width: int | None = None) -> Any:
    """Every label of a job, frame-synchronised, as one inline video.

    Panels (``panels`` picks and orders them, names in :data:`~.label_panels.PANELS`;
    default all but ``depth``): boxes with instance names, skeleton, 2D keypoints by
    visibility, 3D cuboids, instance (with the person's amodal outline) and semantic
    segmentation over the picture, the 3D skeleton from a fixed oblique camera over a floor
    grid, the rep count with a moving cursor, and the depth map if the job has one.
    ``frames``: None (all), an index, a slice or indices. Writes ``label_video.mp4`` in the
    job folder (or ``out``) and returns a player linked to that file (nothing embedded in
    the notebook); for a preview job it writes and shows ``label_still.png`` instead. A
    complete one made before (every frame and panel, newer than the labels) is shown as
    it is.
    """
    job_dir = Path(job_folder)
    names = _panel_names(panels)
    video = (job_dir / "video.mp4").is_file()
    if frames is None and panels is None and out is None and _complete(job_dir, video):
        return _player(job_dir / (LABEL_VIDEO if video else LABEL_STILL), width)  # made before
    labels = JobLabels.load(job_dir)
    wanted = _frame_indices(frames, labels.frames, job_dir.name)
    with MaskReader(job_dir) as masks:
        painter = LabelPainter(labels, masks)
        if not (job_dir / "video.mp4").is_file():
            if wanted != [0]:
                raise IndexError(f"{job_dir.name} is a preview job: it has only frame 0")
            with Image.open(job_dir / "video_preview.png") as im:
                rgb = np.asarray(im.convert("RGB"))
            path = Path(out) if out is not None else job_dir / LABEL_STILL
            write_png_atomic(path, np.asarray(label_grid(painter, names, 0, rgb)))
            return _player(path, width)
        path = Path(out) if out is not None else job_dir / LABEL_VIDEO
        cols, rows = _layout(len(names))
        encoder = VideoEncoder(path, cols * painter.width, rows * painter.height, labels.fps,
                               crf=_CRF)
        try:
            for i, rgb in _decoded(job_dir, wanted, labels.frames):
                encoder.write(label_grid(painter, names, i, rgb).tobytes())
        except BaseException:
            encoder.abort()
            raise
        encoder.close()
    return _player(path, width)


# -- the batch as a mosaic ------------------------------------------------------------------


def _sample(jobs: list[Path], n: int) -> list[Path]:
    """``n`` jobs spread evenly over the batch (the same ones every time)."""
    if n < 1:
        raise ValidationError(f"n must be at least 1, got {n}")
    if len(jobs) <= n:
        return jobs
    return [jobs[int(k)] for k in np.linspace(0, len(jobs) - 1, n).round()]


def _complete(job_dir: Path, video: bool) -> bool:
    """Whether the job's label video (still) exists, is newer than its labels and shows
    every frame and panel (not a selection made by an earlier call)."""
    import imageio_ffmpeg

    path = job_dir / (LABEL_VIDEO if video else LABEL_STILL)
    if not path.is_file() or path.stat().st_mtime < (job_dir / "labels.json").stat().st_mtime:
        return False
    labels = JobLabels.load(job_dir)
    s = panel_scale(labels.width, labels.height)
    cols, rows = min(_COLUMNS, len(DEFAULT_PANELS)), math.ceil(len(DEFAULT_PANELS) / _COLUMNS)
    size = (cols * labels.width * s, rows * labels.height * s)
    size = (size[0] + size[0] % 2, size[1] + size[1] % 2) if video else size
    if not video:
        with Image.open(path) as im:
            return im.size == size
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    finally:
        reader.close()
    return tuple(meta["size"]) == size and round(meta["duration"] * meta["fps"]) == \
        labels.frames


def _tile(picture: np.ndarray, size: tuple[int, int], title: str) -> np.ndarray:
    """``picture`` fitted into ``size`` (w, h) without distortion, over a caption strip."""
    w, h = size
    im = Image.fromarray(picture)
    fit = min(w / im.width, (h - _CAPTION) / im.height)
    im = im.resize((max(1, round(im.width * fit)), max(1, round(im.height * fit))),
                   Image.Resampling.BILINEAR, reducing_gap=2.0)
    canvas = Image.new("RGB", size)
    canvas.paste(im, ((w - im.width) // 2, (h - _CAPTION - im.height) // 2))
    tag(canvas, (w / 2, h - 2), title, _CAPTION - 4, anchor="md")
    return np.asarray(canvas)


class _Looping:
    """Frames of a video by index, decoded forward and restarted when asked to go back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._frames: Iterator[np.ndarray] = iter(())
        self._at = -1
        self._last: np.ndarray | None = None

    def get(self, index: int) -> np.ndarray:
        if index < self._at or self._last is None:
            self._frames, self._at = video_frames(self.path), -1
        while self._at < index:
            try:
                self._last = next(self._frames)
            except StopIteration:
                raise DataError(f"{self.path} ends before frame {index}; delete it and "
                                 f"run display_batch_results again") from None
            self._at += 1
        assert self._last is not None
        return self._last


def display_batch_results(folder: str | Path, n: int = 6, tile_width: int = 512,
                          width: int | None = None) -> Any:
    """A mosaic of ``n`` jobs' label videos (label stills for a previews batch) side by
    side, sampled evenly from the batch; each job's label video is made if missing (with a
    progress bar). Jobs play in step by time, shorter ones looping; asked again for the same
    label videos, the mosaic already made is shown as it is. Returns a player (or
    picture) linked to the file, ``review/label_mosaic.mp4`` (``.png``) in the batch
    folder."""
    root = batch_folder(folder)
    jobs = _sample(job_folders(root), n)
    if not jobs:
        raise DataError(f"{root} holds no downloaded jobs yet (download the batch first)")
    videos = [j for j in jobs if (j / "video.mp4").is_file()]
    jobs = videos or jobs
    missing = [j for j in jobs if not _complete(j, bool(videos))]
    if missing:
        from tqdm.auto import tqdm

        for job_dir in tqdm(missing, desc="Label videos for the mosaic", unit="job",
                            leave=False, disable=len(missing) < 2):
            visualize_all_labels(job_dir)
    cols = 1 if len(jobs) == 1 else 2
    rows = math.ceil(len(jobs) / cols)
    tile = (tile_width, tile_width // 2 + _CAPTION)
    titles = [f"{j.name[:8]}  {caption(job_params(j))}" for j in jobs]
    if not videos:
        grid = np.zeros((rows * tile[1], cols * tile[0], 3), np.uint8)
        for k, (job_dir, title) in enumerate(zip(jobs, titles, strict=True)):
            with Image.open(job_dir / LABEL_STILL) as im:
                picture = np.asarray(im.convert("RGB"))
            r, c = divmod(k, cols)
            grid[r * tile[1]:(r + 1) * tile[1], c * tile[0]:(c + 1) * tile[0]] = \
                _tile(picture, tile, title)
        path = review_folder(root) / f"{MOSAIC}.png"
        write_png_atomic(path, grid)
        return _player(path, width)

    path = review_folder(root) / f"{MOSAIC}.mp4"
    made_from = path.with_name(f".{path.name}.key")
    key = json.dumps([tile_width, titles, [(j / LABEL_VIDEO).stat().st_mtime_ns
                                           for j in jobs]])
    if path.is_file() and made_from.is_file() and made_from.read_text() == key:
        return _player(path, width)  # the same jobs' label videos: nothing to encode again
    made_from.unlink(missing_ok=True)
    timing = [JobLabels.load(j) for j in jobs]
    fps = max(lab.fps for lab in timing)
    duration = max(lab.frames / lab.fps for lab in timing)
    readers = [_Looping(j / LABEL_VIDEO) for j in jobs]
    encoder = VideoEncoder(path, cols * tile[0], rows * tile[1], fps, crf=_CRF)
    try:
        for k in range(max(1, round(duration * fps))):
            grid = np.zeros((rows * tile[1], cols * tile[0], 3), np.uint8)
            for slot, (reader, lab, title) in enumerate(zip(readers, timing, titles,
                                                            strict=True)):
                index = int(k / fps * lab.fps) % lab.frames
                r, c = divmod(slot, cols)
                grid[r * tile[1]:(r + 1) * tile[1], c * tile[0]:(c + 1) * tile[0]] = \
                    _tile(reader.get(index), tile, title)
            encoder.write(grid)
    except BaseException:
        encoder.abort()
        raise
    encoder.close()
    write_text_atomic(made_from, key)
    return _player(path, width)
