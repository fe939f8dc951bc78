"""Video helpers by the names Infinity's toolkit used (``visionfit.utils.videos``).

Frames are decoded by :func:`visionfit.utils.jobdata.video_frames` and written by the
generator's H.264 :class:`~visionfit.generator.encode.VideoEncoder` (aside, then renamed), so
a stacked video plays in any browser. One difference from Infinity's OpenCV version: frames
are RGB, not BGR.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from infinity_workflows.errors import DataError, ValidationError
from visionfit.generator.encode import VideoEncoder
from visionfit.utils.jobdata import video_frames

__all__ = ["create_grid_of_videos", "parse_video_frames", "stack_videos", "video_fps"]


def video_fps(video_path: str | Path) -> float:
    """The frame rate an mp4 declares (read from its header, nothing decoded)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video_path))
    try:
        return float(next(reader)["fps"])
    finally:
        reader.close()


def _resized(frame: np.ndarray, height: int | None, width: int | None) -> np.ndarray:
    h, w = frame.shape[:2]
    if height is not None:
        size = (max(1, round(w * height / h)), height)
    elif width is not None:
        size = (width, max(1, round(h * width / w)))
    else:
        return frame
    return np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR))


def parse_video_frames(video_path: str | Path, height: int | None = None,
                       width: int | None = None) -> np.ndarray:
    """Every frame as one ``(frames, height, width, 3)`` RGB array, optionally resized to
    ``height`` or ``width`` (aspect ratio kept)."""
    if height is not None and width is not None:
        raise ValidationError("give height or width, not both: the other follows the aspect ratio")
    frames = [_resized(f, height, width) for f in video_frames(video_path)]
    if not frames:
        raise DataError(f"{video_path} has no frames")
    return np.stack(frames)


def _write(frames: np.ndarray, fps: float, output_path: Path) -> str:
    encoder = VideoEncoder(output_path, frames.shape[2], frames.shape[1], fps)
    try:
        for frame in frames:
            encoder.write(np.ascontiguousarray(frame))
    except BaseException:
        encoder.abort()
        raise
    encoder.close()
    return str(output_path)


def stack_videos(paths: Sequence[str | Path], clip_to_minimum: bool = True, axis: int = 2,
                 num_pad_axis: int = 0, fixed_size: int | None = None,
                 output_path: str | Path | None = None) -> str:
    """Videos side by side (``axis=2``) or one above the other (``axis=1``) in a new mp4;
    returns its path (beside the first video unless ``output_path``). ``fixed_size``
    resizes every video to that height (side by side) or width (stacked);
    ``num_pad_axis`` appends that many white tiles; ``clip_to_minimum`` cuts every video to
    the shortest (otherwise their lengths must match)."""
    if axis not in (1, 2):
        raise ValidationError(f"axis must be 1 (one above the other) or 2 (side by side), "
                         f"not {axis}")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValidationError("no videos to stack")
    rates = {video_fps(p) for p in paths}
    if len(rates) != 1:
        raise ValidationError(f"the videos have different frame rates ({sorted(rates)}); stack "
                         "videos of one frame rate")
    size = {"height": fixed_size} if axis == 2 else {"width": fixed_size}
    videos = [parse_video_frames(p, **size) for p in paths]
    across = 1 if axis == 2 else 2  # the dimension that must agree
    if len({v.shape[across] for v in videos}) != 1:
        raise ValidationError(f"the videos' {'heights' if axis == 2 else 'widths'} differ "
                         f"({[v.shape[across] for v in videos]}); pass fixed_size")
    lengths = [len(v) for v in videos]
    if clip_to_minimum:
        videos = [v[:min(lengths)] for v in videos]
    elif len(set(lengths)) != 1:
        raise ValidationError(f"the videos' lengths differ ({lengths} frames); pass "
                         "clip_to_minimum=True")
    blank = np.full_like(videos[0], 255)
    stacked = np.concatenate(videos + [blank] * num_pad_axis, axis=axis)
    out = Path(output_path) if output_path else paths[0].parent / f"{uuid.uuid4()}.mp4"
    return _write(stacked, rates.pop(), out)


def create_grid_of_videos(video_paths: Sequence[str | Path], num_per_row: int,
                          output_path: str | Path | None = None) -> str:
    """The videos in rows of ``num_per_row`` (the last row padded with white tiles), as one
    mp4; returns its path."""
    if num_per_row < 1:
        raise ValidationError("num_per_row must be at least 1")
    paths = [Path(p) for p in video_paths]
    rows = [paths[i:i + num_per_row] for i in range(0, len(paths), num_per_row)]
    if len(rows) == 1:
        return stack_videos(rows[0], axis=2, output_path=output_path)
    row_videos = [stack_videos(row, axis=2, num_pad_axis=num_per_row - len(row))
                  for row in rows]
    try:
        return stack_videos(row_videos, axis=1, output_path=output_path)
    finally:
        for row in row_videos:
            Path(row).unlink(missing_ok=True)
