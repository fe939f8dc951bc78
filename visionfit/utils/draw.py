"""Raster primitives for label pictures: Pillow's C drawing plus NumPy blending.

A label video draws a few hundred lines, dots and words per frame; Pillow's ImageDraw does
each in microseconds, where a Matplotlib figure per frame costs tens of milliseconds.
Colours are RGB tuples of 0-255 ints.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "Colour",
    "dots",
    "font",
    "hex_colour",
    "legend",
    "overlay",
    "segments",
    "tag",
    "upscale",
]

Colour = tuple[int, int, int]
_TAG_BACKGROUND = (0, 0, 0, 150)


def hex_colour(value: str) -> Colour:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels (no font file needed on the machine)."""
    return ImageFont.load_default(size)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole ``factor`` (pixels stay crisp)."""
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def overlay(base: Image.Image, index: np.ndarray, palette: np.ndarray, alpha: float
            ) -> Image.Image:
    """``base`` with each pixel's palette colour laid over it at opacity ``alpha``, except
    where ``index`` is 0 (the background); done by Pillow in C, no per-pixel Python."""
    h, w = index.shape
    index = np.ascontiguousarray(index, np.uint8)
    colours = Image.frombuffer("P", (w, h), index, "raw", "P", 0, 1)
    colours.putpalette(np.ascontiguousarray(palette, np.uint8).tobytes())
    opacity = np.where(index > 0, np.uint8(round(alpha * 255)), np.uint8(0))
    mask = Image.frombuffer("L", (w, h), opacity, "raw", "L", 0, 1)
    return Image.composite(colours.convert("RGB"), base, mask)


def segments(draw: ImageDraw.ImageDraw, segs: np.ndarray, fill: Colour, width: int) -> None:
    """Line segments (M, 2, 2) of pixel coordinates."""
    for (x0, y0), (x1, y1) in np.asarray(segs, float).tolist():
        draw.line((x0, y0, x1, y1), fill=fill, width=width)


def dots(draw: ImageDraw.ImageDraw, points: np.ndarray, radius: float, fill: Colour | None,
         outline: Colour | None = None, width: int = 1) -> None:
    """Discs (or rings, with ``fill=None``) centred on pixel coordinates (M, 2)."""
    for x, y in np.asarray(points, float).reshape(-1, 2).tolist():
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill,
                     outline=outline, width=width)


def _placed(xy: tuple[float, float], size: tuple[int, int], anchor: str) -> tuple[int, int]:
    """Top-left corner of a ``size`` box whose ``anchor`` (Pillow's two letters: l/m/r then
    a/m/b/d) sits at ``xy``."""
    w, h = size
    x = xy[0] - {"l": 0, "m": w / 2, "r": w}[anchor[0]]
    y = xy[1] - {"a": 0, "t": 0, "m": h / 2, "b": h, "d": h}[anchor[1]]
    return round(x), round(y)


@lru_cache(maxsize=4096)
def _tag_stamp(text: str, size: int, fill: Colour) -> Image.Image:
    """Text on a translucent dark box, rendered once per (text, size, colour): a label
    video shows the same names on every frame, and FreeType is the costly part."""
    f = font(size)
    left, top, right, bottom = f.getbbox(text)
    im = Image.new("RGBA", (right - left + 4, bottom - top + 2), _TAG_BACKGROUND)
    ImageDraw.Draw(im).text((2 - left, 1 - top), text, font=f, fill=(*fill, 255))
    return im


def tag(image: Image.Image, xy: tuple[float, float], text: str, size: int,
        fill: Colour = (255, 255, 255), anchor: str = "la") -> None:
    """Text on a translucent dark box, readable over any picture; ``anchor`` as Pillow's."""
    stamp = _tag_stamp(text, size, tuple(fill))
    image.paste(stamp, _placed(xy, stamp.size, anchor), stamp)


@lru_cache(maxsize=4096)
def _legend_stamp(entries: tuple[tuple[Colour, str, str], ...], size: int) -> Image.Image:
    f = font(size)
    row = size + 3
    r = max(2, size // 3)
    width = max((f.getlength(text) for _, text, _ in entries), default=0)
    im = Image.new("RGBA", (round(2 * r + 10 + width), row * len(entries) + 3),
                   _TAG_BACKGROUND)
    draw = ImageDraw.Draw(im)
    for k, (colour, text, mark) in enumerate(entries):
        cy, cx = 2 + k * row + row / 2, 3 + r
        ink = (*colour, 255)
        if mark == "ring":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=2)
        elif mark == "line":
            draw.line((cx - r - 1, cy, cx + r + 1, cy), fill=ink, width=2)
        elif mark == "square":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=ink)
        else:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ink)
        draw.text((2 * r + 7, cy), text, font=f, fill=(255, 255, 255, 255), anchor="lm")
    return im


def legend(image: Image.Image, entries: Sequence[tuple[Colour, str, str]],
           origin: tuple[float, float], size: int, anchor: str = "ld") -> None:
    """Entries (colour, text, mark) in a box whose ``anchor`` corner (Pillow's letters,
    default bottom-left) sits at ``origin``; mark is 'dot', 'ring', 'line' or 'square'."""
    if not entries:
        return
    stamp = _legend_stamp(tuple((tuple(c), t, m) for c, t, m in entries), size)
    image.paste(stamp, _placed(origin, stamp.size, anchor), stamp)
