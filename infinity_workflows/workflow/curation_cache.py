"""The curation gallery's cache under a batch folder's ``.gallery/``: the statistics table,
re-read only when the set of job folders changed, and every thumbnail in one pack file.

Both are caches: a damaged or outdated one is rebuilt, never trusted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import write_bytes_atomic, write_text_atomic
from ..generators import PREVIEW_FILE
from ..label_statistics import label_statistics_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CACHE_FOLDER", "THUMB_PX", "ThumbPack", "cached_table", "thumbnail_jpeg"]

CACHE_FOLDER = ".gallery"            # hidden, so job listings skip it
THUMB_PX = 128
_TABLE_FILE = "table.json"
_CACHE_VERSION = 2


def thumbnail_jpeg(job_dir: Path, size: int) -> bytes | None:
    """The job's preview image shrunk to at most ``size`` px a side, as JPEG bytes (a
    third of a PNG's size and quicker to encode; a thumbnail needs no exact pixels)."""
    from PIL import Image

    source = job_dir / PREVIEW_FILE
    if not source.is_file():
        return None
    try:
        with Image.open(source) as im:
            im = im.convert("RGB")
            im.thumbnail((size, size), Image.BILINEAR, reducing_gap=2.0)
            if im.width < 16:  # a 1x1 placeholder: show it as a swatch, not a dot
                im = im.resize((size // 2, size // 2), Image.NEAREST)
            out = io.BytesIO()
            im.save(out, "JPEG", quality=85)
    except OSError:
        return None
    return out.getvalue()


class ThumbPack:
    """Every thumbnail of a batch in one file (``<stem>.pack``: JPEGs back to back, and
    ``<stem>.json``: job id -> offset, length), read whole into memory: one open instead of
    thousands, and rewritten once when jobs are added. A cache: rebuilt if damaged."""

    def __init__(self, stem: Path) -> None:
        self.pack, self.index_path = stem.with_suffix(".pack"), stem.with_suffix(".json")
        self.data: dict[str, bytes] = {}
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
            blob = self.pack.read_bytes()
            self.data = {job_id: blob[offset:offset + length]
                         for job_id, (offset, length) in index.items()}
        except (OSError, ValueError, TypeError):
            self.data = {}

    def get(self, job_id: str) -> bytes:
        return self.data.get(job_id, b"")

    def update(self, jobs: Iterable[tuple[str, str]], px: int,
               progress: Callable[[str], None] | None) -> None:
        """Make the thumbnails missing (on two threads: PIL lets go of the GIL while it
        decodes and encodes), then write the pack once."""
        from concurrent.futures import ThreadPoolExecutor

        missing = [(job_id, Path(path)) for job_id, path in jobs if job_id not in self.data]
        if not missing:
            return
        with ThreadPoolExecutor(max_workers=2) as pool:
            for done, (job_id, data) in enumerate(pool.map(
                    lambda job: (job[0], thumbnail_jpeg(job[1], px)), missing), start=1):
                self.data[job_id] = data or b""
                if progress is not None and done % 250 == 0:
                    progress(f"thumbnails: {done:,} of {len(missing):,}")
        index, parts, offset = {}, [], 0
        for job_id, data in self.data.items():
            index[job_id] = (offset, len(data))
            parts.append(data)
            offset += len(data)
        write_bytes_atomic(self.pack, b"".join(parts))
        write_text_atomic(self.index_path, json.dumps(index))


def cached_table(folder: Path, cache: Path, generator: Any,
                  progress: Callable[[str], None] | None) -> pd.DataFrame:
    """The batch's statistics table, re-read only when its set of job folders changed."""
    import pandas as pd

    from ..label_statistics import downloaded_job_folders

    names = [p.name for p in downloaded_job_folders(folder)]
    path = cache / _TABLE_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("version") == _CACHE_VERSION and saved.get("jobs") == names:
            frame = pd.read_json(io.StringIO(saved["table"]), orient="split",
                                 dtype=saved["dtypes"]).set_index("job_id")
            frame.attrs.update(saved["attrs"])
            return frame
    except (OSError, ValueError, KeyError, TypeError):
        pass
    def counted(done: int, total: int) -> None:
        if progress is not None and (done % 250 == 0 or done == total):
            progress(f"label statistics: {done:,} of {total:,} jobs")

    frame = label_statistics_table(folder, generator, counted)
    write_text_atomic(path, json.dumps({
        "version": _CACHE_VERSION, "jobs": names, "attrs": frame.attrs,
        "dtypes": {c: str(t) for c, t in frame.reset_index().dtypes.items()},
        "table": frame.reset_index().to_json(orient="split", double_precision=15)}))
    return frame
