"""Preview grids by the names Infinity's toolkit used (``visionfit.utils.images``).

Its Download template does ``view_previews(get_subdirectories(batch_path))``: a list of job
folders rather than the batch folder :func:`visionfit.utils.vis.view_previews` takes. These
functions show the figure (as Infinity's did) and also return it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from infinity_workflows.errors import MissingDataError, ValidationError
from infinity_workflows.review import REVIEW_FOLDER

__all__ = ["get_all_preview_images", "get_subdirectories", "view_list_of_images",
           "view_previews"]

_PREVIEW = "video_preview.png"


def get_subdirectories(base_path: str | Path) -> list[str]:
    """The job folders of a downloaded batch, as strings, sorted; hidden folders (an
    unfinished download's scratch) and ``review/`` (what review wrote) are left out."""
    root = Path(base_path)
    if not root.is_dir():
        raise MissingDataError(f"{root} is not a folder; pass the folder a batch was "
                                "downloaded into")
    return sorted(str(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p.name != REVIEW_FOLDER)


def get_all_preview_images(base_folder: str | Path) -> list[str]:
    """The preview image of one job folder (VisionFit writes one, ``video_preview.png``);
    empty when the folder has none. The masks beside it are labels, not previews."""
    preview = Path(base_folder) / _PREVIEW
    return [str(preview)] if preview.is_file() else []


def _show(fig: Figure) -> Figure:
    """Show ``fig`` as a PNG (whether or not matplotlib's inline backend is set up)."""
    from IPython.display import Image as IPythonImage
    from IPython.display import display

    png = io.BytesIO()
    fig.savefig(png, format="png")
    display(IPythonImage(data=png.getvalue(), format="png"))
    return fig


def view_list_of_images(image_paths: Iterable[str | Path], ncols: int = 5) -> Figure:
    """The images in a grid of ``ncols`` columns, each titled with the start of its job
    folder's name; shown, and returned."""
    paths = [Path(p) for p in image_paths]
    if not paths:
        raise ValidationError("no images to show: the list is empty (is the batch downloaded, and "
                         "are its jobs previews?)")
    ncols = max(1, min(ncols, len(paths)))
    nrows = math.ceil(len(paths) / ncols)
    fig = Figure(figsize=(3 * ncols, 3.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, path in zip(axes, paths, strict=False):
        with Image.open(path) as im:
            ax.imshow(np.asarray(im.convert("RGB")))
        ax.set_title(f"{path.parent.name[:8]}...", fontsize=8)
        ax.set_axis_off()
    for ax in axes[len(paths):]:
        ax.remove()
    return _show(fig)


def view_previews(folder_paths: Iterable[str | Path]) -> Figure:
    """The previews of the given job folders in one grid (Infinity's signature: a list of
    job folders, e.g. ``get_subdirectories(batch_path)`` or a random sample of it)."""
    return view_list_of_images(
        [image for folder in folder_paths for image in get_all_preview_images(folder)])
