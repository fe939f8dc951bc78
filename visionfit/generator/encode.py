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
import struct
import zipfile
import zlib
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
    "mask_png",
    "palette_png",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_png_atomic",
]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so equal jobs give equal bytes
DEPTH_MAX_MM = 65535  # the largest depth a 16-bit PNG holds; farther (or no hit) is clipped


def write_json_atomic(path: Path, obj: Any) -> None:
    """Compact JSON; our label trees hold no cycles, so the encoder's cycle check (a quarter
    of the time of a job's 2 MB labels.json) is skipped; the bytes are the same."""
    write_bytes_atomic(path, json.dumps(obj, separators=(",", ":"), check_circular=False
                                        ).encode("utf-8"))


def write_png_atomic(path: Path, rgb: np.ndarray) -> None:
    """An RGB PNG at compress level 1, like the masks: a preview is waited for, and level 6
    takes four times as long for a file about a quarter smaller."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    write_bytes_atomic(path, buf.getvalue())


def palette_png(index: np.ndarray, palette: bytes) -> bytes:
    """An 8-bit palette PNG of ``index`` (H, W) uint8; fast, lossless, viewable in colour."""
    h, w = index.shape
    im = Image.frombuffer("P", (w, h), np.ascontiguousarray(index), "raw", "P", 0, 1)
    im.putpalette(palette)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _png(width: int, height: int, bit_depth: int, colour_type: int, scanlines: np.ndarray,
         palette: bytes | None = None) -> bytes:
    """A PNG from its rows, each already prefixed by its filter-type byte (H, 1 + row bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + (chunk(b"PLTE", palette) if palette is not None else b"")
            + chunk(b"IDAT", zlib.compress(np.ascontiguousarray(scanlines).tobytes(), 1))
            + chunk(b"IEND", b""))


def depth_png(depth_m: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG of ``depth_m`` (H, W) metres as whole millimetres (clipped to
    :data:`DEPTH_MAX_MM`).

    Written here rather than by Pillow, which tries every PNG filter on every row of a
    16-bit image (about 1 ms at 256x256): depth is smooth, so one fixed filter ("Up": each row
    minus the row above), computed in NumPy, compresses as well at a fifth of the time.
    """
    mm = np.rint(np.minimum(depth_m, DEPTH_MAX_MM / 1000.0) * 1000.0).astype(">u2")
    h, w = mm.shape
    rows = mm.view(np.uint8).reshape(h, 2 * w)
    scanlines = np.empty((h, 2 * w + 1), dtype=np.uint8)
    scanlines[:, 0] = 2  # filter type Up
    scanlines[0, 0] = 0  # the first row has no row above: unfiltered
    scanlines[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=scanlines[1:, 1:])  # bytes wrap mod 256, as PNG does
    return _png(w, h, 16, 0, scanlines)


def mask_png(mask: np.ndarray, colour: tuple[int, int, int]) -> bytes:
    """A 1-bit palette PNG of a boolean mask (H, W): index 1 (``colour``) where set, 0 (black)
    elsewhere; it reads back as 0/1 like an instance mask's indices, at an eighth of the data
    (a fifth of the time of an 8-bit palette PNG)."""
    h, _w = mask.shape
    scanlines = np.zeros((h, 1 + (mask.shape[1] + 7) // 8), dtype=np.uint8)  # filter None
    scanlines[:, 1:] = np.packbits(mask, axis=1)
    return _png(mask.shape[1], h, 1, 3, scanlines, bytes((0, 0, 0, *colour)))


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
    of the labels are unchanged and ``padding`` says what was added. ``crf`` is x264's
    quality (18: near lossless, for training data; higher: smaller files, for viewing).
    """

    def __init__(self, path: Path, width: int, height: int, fps: float, crf: int = 18
                 ) -> None:
        self.path = Path(path)
        self._pending = PendingFile(self.path, suffix=f".partial{self.path.suffix}")
        self.frames = 0
        params = ["-preset", "ultrafast", "-crf", str(int(crf)), "-threads", "1",
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

    def write(self, frame: np.ndarray | bytes) -> None:
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
