"""Portal previews of what each choice of a generator's gallery parameter looks like.

One preview per choice (all other parameters at their defaults, seed 0), rendered the first
time someone asks for it and cached under ``home/gallery/<generator>/<version>/``. Renders
run in the request's worker thread, at most a few at once, so the portal page itself never
waits for them (each image is its own request).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from ..files import atomic_write
from ..generators import Generator

__all__ = ["Gallery"]

log = logging.getLogger(__name__)
PREVIEW_NAME = "video_preview.png"


class Gallery:
    def __init__(self, root: Path, work_dir: Path, concurrent_renders: int = 2) -> None:
        self.root = root
        self.work_dir = work_dir
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent_renders)
        self._failed: dict[Path, str] = {}  # do not re-run a render that failed

    @staticmethod
    def choices(generator: Generator) -> list:
        name = generator.gallery_param
        if not name or name not in generator.schema or not generator.supports_preview:
            return []
        return list(generator.schema[name].choices or ())

    def path(self, generator: Generator, choice: object) -> Path:
        digest = hashlib.sha256(repr(choice).encode()).hexdigest()[:20]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in generator.name)
        version = "".join(c if c.isalnum() or c in "-_." else "_" for c in generator.version)
        return self.root / safe / version / f"{digest}.png"

    def _lock(self, path: Path) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(path, threading.Lock())

    def image(self, generator: Generator, choice: object) -> Path | None:
        """The cached preview for ``choice``, rendering it first if needed; None on failure."""
        target = self.path(generator, choice)
        if target.is_file():
            return target
        with self._lock(target):
            if target.is_file():
                return target
            if target in self._failed:
                return None
            with self._slots:
                try:
                    self._render(generator, choice, target)
                except Exception as exc:  # noqa: BLE001 - a broken preview must not break pages
                    log.exception("gallery preview of %s=%r failed", generator.gallery_param,
                                  choice)
                    self._failed[target] = f"{type(exc).__name__}: {exc}"
                    return None
        return target

    def _render(self, generator: Generator, choice: object, target: Path) -> None:
        params = generator.schema.complete({generator.gallery_param: choice})
        scratch = Path(tempfile.mkdtemp(dir=self.work_dir, prefix="gallery-"))
        try:
            out_dir = scratch / "out"
            out_dir.mkdir()
            generator.run(params, True, out_dir, 0)
            preview = out_dir / PREVIEW_NAME
            if not preview.is_file():
                found = sorted(out_dir.rglob("*.png"))
                if not found:
                    raise FileNotFoundError(f"the preview wrote no .png file into {out_dir}")
                preview = found[0]
            # The server's home is private (0700/0600), whatever the umask.
            for folder in (self.root, target.parent.parent, target.parent):
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            with atomic_write(target, "wb", permissions=0o600) as fh:
                fh.write(preview.read_bytes())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
