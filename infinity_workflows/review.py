"""A first look at any generator's downloaded jobs: what arrived, and their previews.

The Download notebook of a generator that declares no review cells of its own shows these;
they read only what every job has (its folder, its files, the preview image the generator
protocol names), so they work for every generator.

Records stay small whatever the batch size: pictures and videos are never embedded in a
notebook. They stay files beside the downloads (``<folder>/review/`` for what review makes)
and the notebook links them with URLs relative to its own folder (the kernel's working
directory), which JupyterLab resolves, shows and plays (:class:`LinkedFile`).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .generators import PREVIEW_FILE

if TYPE_CHECKING:
    import pandas as pd

    from .batch import Batch

__all__ = ["REVIEW_FOLDER", "LinkedFile", "TableView", "downloaded_jobs_frame",
           "linked_figure", "preview_gallery", "relative_url", "review_folder", "table_view"]

REVIEW_FOLDER = "review"
SHORT_ID = 8  # characters of a job id shown in a table (the DataFrame keeps the full id)
_PLAYER = "controls loop muted playsinline autoplay"


def review_folder(folder: Path | str) -> Path:
    """``<folder>/review/``, created: where review writes videos, mosaics and figures."""
    path = Path(folder) / REVIEW_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def relative_url(path: Path | str, start: Path | str | None = None) -> str:
    """``path`` as a URL relative to ``start`` (default: the working directory, which is the
    notebook's folder in a Jupyter kernel), percent-encoded so spaces and '#' survive."""
    path = Path(path).absolute()
    try:
        rel = os.path.relpath(path, Path(start or Path.cwd()).absolute())
    except ValueError:  # another drive (Windows): only an absolute path can name it
        rel = str(path)
    return quote(Path(rel).as_posix())


class LinkedFile:
    """A picture or video shown from its file through a relative URL, never embedded: the
    notebook keeps a few hundred bytes, and JupyterLab fetches the file when it shows it."""

    def __init__(self, path: Path | str, *, width: int | None = None, caption: str = "",
                 video: bool | None = None) -> None:
        self.path = Path(path)
        self.width = width
        self.caption = caption
        self.video = self.path.suffix.lower() in (".mp4", ".webm") if video is None else video
        self.url = relative_url(self.path)

    def _repr_html_(self) -> str:
        url = html.escape(self.url, quote=True)
        size = f' width="{self.width}"' if self.width else ' style="max-width: 100%"'
        if self.video:
            tag = (f'<video src="{url}" {_PLAYER}{size}>your browser cannot play '
                   f'<a href="{url}">{html.escape(self.path.name)}</a></video>')
        else:
            tag = f'<img src="{url}" alt="{html.escape(self.path.name)}"{size}>'
        note = f"<br><small>{html.escape(self.caption)}</small>" if self.caption else ""
        return f"<div>{tag}{note}</div>"

    def __repr__(self) -> str:
        return f"{'Video' if self.video else 'Picture'}: {self.path}"


def linked_figure(figure: Any, path: Path | str, *, key: Any = None, dpi: int = 80,
                  width: int | None = None) -> LinkedFile:
    """A matplotlib figure saved as a PNG at ``path`` (whole or not at all) and linked, so a
    large figure costs the notebook a line instead of its bytes.

    ``figure`` is the figure or a function that makes it. With ``key`` (JSON data naming what
    the figure shows, e.g. the summary index's digest and the options), a file made for the
    same key is linked again without drawing: re-running a review cell costs nothing."""
    from .files import atomic_write, write_text_atomic

    path = Path(path)
    stamp = path.with_name(f".{path.name}.key")
    wanted = None if key is None else json.dumps(key, sort_keys=True, default=str)
    if wanted is not None and path.is_file() and stamp.is_file() and \
            stamp.read_text(encoding="utf-8") == wanted:
        return LinkedFile(path, width=width)
    fig = figure() if callable(figure) else figure
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")
    if wanted is not None:
        write_text_atomic(stamp, wanted)
    return LinkedFile(path, width=width)


def downloaded_jobs_frame(batch: Batch, folder: Path | str) -> pd.DataFrame:
    """One row per job of ``batch``: downloaded or not, its files and bytes, its parameters."""
    import pandas as pd

    folder = Path(folder)
    rows = []
    for job in batch.jobs:
        job_dir = folder / job["id"]
        files = [p for p in job_dir.rglob("*") if p.is_file()] if job_dir.is_dir() else []
        rows.append({"job_id": job["id"], "downloaded": job_dir.is_dir(),
                     "files": len(files), "bytes": sum(p.stat().st_size for p in files),
                     **(job.get("param_values") or {})})
    return pd.DataFrame(rows).set_index("job_id")


class _Gallery:
    def __init__(self, tiles: list[tuple[Path, str]], width: int, note: str) -> None:
        self.tiles, self.width, self.note = tiles, width, note

    def _repr_html_(self) -> str:
        figures = [f'<figure style="display:inline-block;margin:4px">'
                   f'<img src="{html.escape(relative_url(path), quote=True)}" '
                   f'width="{self.width}" style="image-rendering:pixelated">'
                   f"<figcaption>{html.escape(label)}</figcaption></figure>"
                   for path, label in self.tiles]
        return "".join(figures) + (f"<p>{html.escape(self.note)}</p>" if self.note else "")

    def __repr__(self) -> str:
        return f"{len(self.tiles)} preview(s)" + (f"; {self.note}" if self.note else "")


def preview_gallery(folder: Path | str, max_n: int = 16, width: int = 192) -> Any:
    """The first ``max_n`` downloaded jobs' preview images side by side, linked from their
    files (nothing embedded, so the notebook stays small)."""
    from IPython.display import HTML

    folder = Path(folder)
    found = sorted(p for p in folder.glob(f"*/{PREVIEW_FILE}") if p.is_file())
    if not found:
        return HTML(f"<p>No job in {html.escape(str(folder))} has a {PREVIEW_FILE} yet.</p>")
    note = f"first {max_n} of {len(found)}" if len(found) > max_n else ""
    return _Gallery([(p, p.parent.name[:SHORT_ID]) for p in found[:max_n]], width, note)


class TableView:
    """A DataFrame as an HTML table that reads at batch size: job ids shortened to
    :data:`SHORT_ID` characters (the DataFrame keeps them whole), cells on one line, at most
    ``max_rows`` rows (the first and last halves) in the notebook."""

    def __init__(self, df: pd.DataFrame, max_rows: int = 20) -> None:
        self.df = df
        self.max_rows = max_rows

    def _short(self) -> pd.DataFrame:
        df = self.df
        if len(df) > self.max_rows:
            half = self.max_rows // 2
            df = df.iloc[list(range(half)) + list(range(len(df) - half, len(df)))]
        df = df.drop(columns=[c for c in ("job_path",) if c in df.columns])
        if "job_id" in df.columns:
            df = df.set_index("job_id")
        if df.index.name == "job_id":
            df = df.set_axis([str(i)[:SHORT_ID] for i in df.index], axis=0)
            df.index.name = "job"
        return df

    def _repr_html_(self) -> str:
        shown = self._short()
        more = (f"<p><small>{len(shown)} of {len(self.df)} rows shown; the whole table is "
                f"the DataFrame.</small></p>" if len(shown) < len(self.df) else "")
        table = shown.to_html(max_cols=40, float_format=lambda v: f"{v:.4g}", notebook=True,
                              border=0)
        return (f'<div style="white-space: nowrap; overflow-x: auto">{table}</div>{more}')

    def __repr__(self) -> str:
        return self._short().to_string(max_cols=12, max_colwidth=24)


def table_view(df: pd.DataFrame, max_rows: int = 20) -> TableView:
    """``df`` shown as :class:`TableView` (the DataFrame itself is unchanged)."""
    return TableView(df, max_rows)
