"""A first look at any generator's downloaded jobs: what arrived, and their previews.

The Download notebook of a generator that declares no review cells of its own shows these;
they read only what every job has (its folder, its files, the preview image the generator
protocol names), so they work for every generator.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from .batch import Batch
from .generators import PREVIEW_FILE

__all__ = ["downloaded_jobs_frame", "preview_gallery"]


def downloaded_jobs_frame(batch: Batch, folder: Path | str) -> pd.DataFrame:
    """One row per job of ``batch``: downloaded or not, its files and bytes, its parameters."""
    folder = Path(folder)
    rows = []
    for job in batch.jobs:
        job_dir = folder / job["id"]
        files = [p for p in job_dir.rglob("*") if p.is_file()] if job_dir.is_dir() else []
        rows.append({"job_id": job["id"], "downloaded": job_dir.is_dir(),
                     "files": len(files), "bytes": sum(p.stat().st_size for p in files),
                     **(job.get("param_values") or {})})
    return pd.DataFrame(rows).set_index("job_id")


def preview_gallery(folder: Path | str, max_n: int = 16, width: int = 192) -> Any:
    """The first ``max_n`` downloaded jobs' preview images side by side (IPython HTML)."""
    from IPython.display import HTML

    folder = Path(folder)
    shown = sorted(p for p in folder.glob(f"*/{PREVIEW_FILE}") if p.is_file())[:max_n]
    if not shown:
        return HTML(f"<p>No job in {html.escape(str(folder))} has a {PREVIEW_FILE} yet.</p>")
    tiles = []
    for path in shown:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        label = html.escape(path.parent.name[:8])
        tiles.append(f'<figure style="display:inline-block;margin:4px">'
                     f'<img src="data:image/png;base64,{data}" width="{width}" '
                     f'style="image-rendering:pixelated"><figcaption>{label}</figcaption>'
                     f"</figure>")
    return HTML("".join(tiles))
