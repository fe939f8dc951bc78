"""Notebook display helpers by the names Infinity's toolkit used (``visionfit.utils.notebook``).

Its Download template shows a video job as ``display_video_as_gif(job_path + "/video.mp4")``;
the GIF is written beside the video (aside, then renamed), so showing it again is instant.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from infinity_workflows.errors import DataError, MissingDataError, ValidationError
from visionfit.utils.jobdata import video_frames
from visionfit.utils.videos import video_fps

__all__ = ["display_image", "display_video_as_gif", "save_figure", "suppress_useless_warnings",
           "write_aside"]


def display_image(image_path: str | Path, display_width: int = 600) -> Any:
    """Show a PNG or GIF inline at ``display_width`` pixels; returns the display object."""
    from IPython.display import Image as IPythonImage
    from IPython.display import display

    path = Path(image_path)
    shown = IPythonImage(data=path.read_bytes(), format=path.suffix.lstrip(".").lower() or
                         "png", width=display_width)
    display(shown)
    return shown


def display_video_as_gif(video_path: str | Path, output_path: str | Path | None = None,
                         downsample_resolution: int = 1, downsample_frames: int = 1,
                         display_width: int = 600) -> Any:
    """Show an mp4 as an animated GIF (kept in a saved notebook, unlike a video player):
    every ``downsample_frames``-th frame at 1/``downsample_resolution`` of its size."""
    if downsample_resolution < 1 or downsample_frames < 1:
        raise ValidationError("downsample_resolution and downsample_frames must be at least 1")
    video = Path(video_path)
    if not video.is_file():
        raise MissingDataError(f"{video} does not exist (a preview job has no video.mp4: "
                                "look at it with view_previews)")
    out = Path(output_path) if output_path else video.with_suffix(".gif")
    frames = [Image.fromarray(f[::downsample_resolution, ::downsample_resolution])
              for i, f in enumerate(video_frames(video)) if i % downsample_frames == 0]
    if not frames:
        raise DataError(f"{video} has no frames")
    duration_ms = round(1000 * downsample_frames / video_fps(video))
    write_aside(out, lambda tmp: frames[0].save(tmp, format="GIF", save_all=True,
                                                append_images=frames[1:],
                                                duration=duration_ms, loop=0))
    return display_image(out, display_width)


def write_aside(out: Path, write: Callable[[str], Any]) -> Path:
    """``write(temporary path)`` beside ``out``, then rename it to ``out``: a reader never
    sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}-", suffix=out.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out


def save_figure(fig: Any, output: str | Path, default_name: str) -> Path:
    """Save a matplotlib figure: into the folder ``output`` as ``default_name``, or as the
    file ``output`` when it has an image suffix (Infinity's ``output_dir`` was a file
    path). The folder is created; the file appears whole."""
    target = Path(output)
    if target.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        target = target / default_name
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_aside(target, lambda tmp: fig.savefig(tmp, format=target.suffix[1:]))


class _DropBlackWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Black is not installed" not in record.getMessage()


def suppress_useless_warnings() -> None:
    """Hide papermill's warning that the ``black`` formatter is not installed."""
    logging.getLogger("papermill.translators").addFilter(_DropBlackWarning())
