"""The label video's panels drawn from the labels alone: the 3D skeleton's view and the
rep-count plot. What does not change over a job (floor grid, axes, the whole curve) is drawn
once here; the panels draw only what moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from .draw import Colour, font, segments
from .jobdata import JobLabels

__all__ = ["BACKDROP", "GRID", "rep_plot", "world_view"]

BACKDROP: Colour = (28, 32, 40)
GRID: Colour = (78, 86, 102)


def world_view(labels: JobLabels, width: int, height: int, text: int
               ) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """The 3D skeleton's fixed oblique camera, set once per job: (the floor grid drawn as the
    background, every frame's joints as panel x, y and depth (N, J, 3), and their shadows on
    the floor as panel x, y (N, J, 2)). The camera looks at the person's mean position from
    40 degrees off their facing direction, 1.4 m above; the view fits every frame."""
    world = labels.joints_world
    ok = np.isfinite(world).all(axis=2)
    centre = np.nanmean(world[..., :2][ok], axis=0) if ok.any() else np.zeros(2)
    yaw = math.radians(float(labels.info.get("avatar_yaw", 0.0)) + 40.0)
    facing = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    target = np.array([*centre, 0.8])
    eye = target + 3.6 * facing + np.array([0.0, 0.0, 1.4])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)

    def project(p: np.ndarray) -> np.ndarray:
        rel = p - eye
        depth = rel @ forward
        return np.stack([rel @ right / depth, -(rel @ up) / depth, depth], axis=-1)

    half, step = 1.0, 0.5
    ticks = np.arange(-half, half + 1e-9, step)
    lines = [[(centre[0] + t, centre[1] - half, 0), (centre[0] + t, centre[1] + half, 0)]
             for t in ticks] + \
            [[(centre[0] - half, centre[1] + t, 0), (centre[0] + half, centre[1] + t, 0)]
             for t in ticks]
    grid = project(np.array(lines, float))[..., :2]
    joints = project(np.where(ok[..., None], world, [*centre, 0.0]))
    shadow = project(np.where(ok[..., None], world * [1, 1, 0], [*centre, 0.0]))[..., :2]
    extent = np.concatenate([grid.reshape(-1, 2), joints[..., :2][ok]])
    lo, hi = extent.min(axis=0), extent.max(axis=0)
    margin = text * 1.6
    fit = min((width - 2 * margin) / max(hi[0] - lo[0], 1e-6),
              (height - 2 * margin) / max(hi[1] - lo[1], 1e-6))
    offset = np.array([width, height]) / 2 - fit * (lo + hi) / 2

    def to_px(uv: np.ndarray) -> np.ndarray:
        return uv * fit + offset

    background = Image.new("RGB", (width, height), BACKDROP)
    segments(ImageDraw.Draw(background), to_px(grid), GRID, 1)
    view = np.concatenate([to_px(joints[..., :2]), joints[..., 2:]], axis=-1)
    view[~ok] = np.nan
    return background, view, to_px(shadow)


def rep_plot(labels: JobLabels, width: int, height: int, text: int, line: int,
             colour: Colour) -> tuple[Image.Image, Callable[[float], float],
                                      Callable[[float], float]]:
    """The rep count over time drawn once as a background, with the functions that place a
    time (s) and a rep count on it, for the per-frame cursor."""
    lab = labels
    n, fs = lab.frames, text - 1
    times = np.arange(n) / lab.fps
    reps = np.nan_to_num(lab.rep_count)
    top = max(1.0, math.ceil(float(reps.max()) if n else 1.0))
    left, right = 3.2 * fs, width - 10
    upper, lower = 2.2 * text, height - 2.2 * fs
    span = max(float(times[-1]) if n > 1 else 1.0, 1e-6)

    def x_of(t: float) -> float:
        return left + (right - left) * t / span

    def y_of(r: float) -> float:
        return lower - (lower - upper) * r / top

    background = Image.new("RGB", (width, height), BACKDROP)
    draw = ImageDraw.Draw(background)
    f = font(fs)
    rep_step = max(1, math.ceil(top / 6))
    for r in range(0, int(top) + 1, rep_step):
        draw.line((left, y_of(r), right, y_of(r)), fill=GRID, width=1)
        draw.text((left - 4, y_of(r)), str(r), font=f, fill=(220, 220, 220), anchor="rm")
    t_step = next(s for s in (0.5, 1, 2, 5, 10, 20, 30, 60, 120) if span / s <= 6)
    for t in np.arange(0.0, span + 1e-9, t_step):
        draw.line((x_of(t), lower, x_of(t), lower + 4), fill=(220, 220, 220), width=1)
        draw.text((x_of(t), lower + 5), f"{t:g}", font=f, fill=(220, 220, 220),
                  anchor="ma")
    draw.text((right, lower - 3), "time (s)", font=f, fill=(170, 170, 170), anchor="rd")
    draw.line((left, upper, left, lower, right, lower), fill=(200, 200, 200), width=1)
    if n > 1:
        draw.line([(x_of(t), y_of(r)) for t, r in zip(times, reps, strict=True)],
                  fill=colour, width=line, joint="curve")
    return background, x_of, y_of
