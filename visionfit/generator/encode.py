"""Writing a job's files: H.264 video, palette PNG masks, 16-bit depth PNGs, zips, JSON.

Every file is written under a temporary name and renamed into place when complete, so a
reader never sees half a file. Mask PNGs are 8-bit palette images (pixel value = instance
or category index, palette = its colour), which encode about six times faster than RGB
and open in colour in any viewer; ``Image.open(p).convert("RGB")`` gives the colours. Depth
maps are 16-bit greyscale PNGs in millimetres.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
from PIL import Image

from infinity_workflows.files import PendingFile, write_bytes_atomic

__all__ = [
    "DEPTH_MAX_MM",
    "FramePngs",
    "VideoEncoder",
    "depth_png",
    "palette_png",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_png_atomic",
]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so equal jobs give equal bytes
DEPTH_MAX_MM = 65535  # the largest depth a 16-bit PNG holds; farther (or no hit) is clipped


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def write_png_atomic(path: Path, rgb: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue())


def palette_png(index: np.ndarray, palette: bytes) -> bytes:
    """An 8-bit palette PNG of ``index`` (H, W) uint8; fast, lossless, viewable in colour."""
    h, w = index.shape
    im = Image.frombuffer("P", (w, h), np.ascontiguousarray(index), "raw", "P", 0, 1)
    im.putpalette(palette)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def depth_png(depth_m: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG of ``depth_m`` (H, W) metres as whole millimetres."""
    mm = np.rint(np.minimum(depth_m, DEPTH_MAX_MM / 1000.0) * 1000.0).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(mm).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class FramePngs:
    """Per-frame PNGs of a job: stored (not deflated) in the zip ``path`` for a video, renamed
    into place on close; for a preview (``plain``), plain files beside where the zip would be.
    """

    def __init__(self, path: Path, plain: bool = False) -> None:
        self.path = Path(path)
        self._pending = None if plain else PendingFile(self.path)
        self._zip = None if plain else zipfile.ZipFile(self._pending.tmp, "w",
                                                       compression=zipfile.ZIP_STORED)

    def add(self, name: str, data: bytes) -> None:
        if self._zip is None:
            write_bytes_atomic(self.path.parent / name, data)
            return
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._pending.commit()

    def abort(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._pending.abort()


class VideoEncoder:
    """H.264 (yuv420p) MP4 at exactly ``fps``, fed raw RGB frames through one ffmpeg process.

    H.264 in yuv420p can only show even sizes (its crop unit is two pixels), so an odd
    width or height gets one black column or row at the right or bottom; pixel coordinates
    of the labels are unchanged and ``padding`` says what was added.
    """

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.path = Path(path)
        self._pending = PendingFile(self.path, suffix=f".partial{self.path.suffix}")
        self.frames = 0
        params = ["-preset", "ultrafast", "-crf", "18", "-threads", "1",
                  "-movflags", "+faststart", "-map_metadata", "-1", "-fflags", "+bitexact",
                  "-flags:v", "+bitexact"]
        pad_w, pad_h = width % 2, height % 2
        self.padding = (pad_w, pad_h)
        if pad_w or pad_h:
            params += ["-vf", f"pad={width + pad_w}:{height + pad_h}:0:0"]
        self._gen = imageio_ffmpeg.write_frames(
            str(self._pending.tmp), (width, height), fps=fps, codec="libx264", quality=None,
            macro_block_size=1, pix_fmt_out="yuv420p", output_params=params,
            ffmpeg_log_level="error")
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        self._gen.send(frame)
        self.frames += 1

    def close(self) -> None:
        self._gen.close()
        self._pending.commit()

    def abort(self) -> None:
        try:
            self._gen.close()
        finally:
            self._pending.abort()
