"""What a worker does with one job, wherever it runs: render, zip, place the archive.

A job is rendered into a fresh scratch folder and zipped there; only the finished archive is
moved into ``results/`` by an atomic rename, so a result is never half-visible, and it is
durable before the job counts as succeeded: the file is synced, renamed, the folder synced,
and only then does the dispatcher commit the outcome. The steps are separate
(:func:`render_archive`, :func:`place_archive`) because a remote worker returns the
archive's bytes and the server places them (:func:`store_archive_bytes`).
"""

from __future__ import annotations

import errno
import os
import zipfile
import zlib
from pathlib import Path

from ...files import atomic_write, fsync_folder
from ...generators import GeneratorRegistry
from .base import JobFailed, JobTask

__all__ = ["STORED_SUFFIXES", "describe", "place_archive", "render_archive",
           "store_archive_bytes", "worker_registry"]

# Formats that are compressed already: deflating them again costs time and saves nothing.
STORED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp4", ".webm",
                             ".mkv", ".avi", ".zip", ".gz", ".xz", ".bz2", ".zst", ".npz"})


_registries: dict[tuple[str, ...], GeneratorRegistry] = {}


def worker_registry(specs: tuple[str, ...]) -> GeneratorRegistry:
    """Generators, found once per worker process (imports can be slow)."""
    registry = _registries.get(specs)
    if registry is None:
        registry = _registries[specs] = GeneratorRegistry.discover(list(specs))
    return registry


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _compresses(path: Path) -> bool:
    """Whether deflating ``path`` is worth it: known compressed formats are not, and for
    anything else a sample decides, so that incompressible data (noise, encrypted or
    already-packed bytes under any name) is stored and nobody inflates it for nothing."""
    if path.suffix.lower() in STORED_SUFFIXES:
        return False
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    return len(sample) < 1024 or len(zlib.compress(sample, 1)) < 0.9 * len(sample)


_SAMPLE_BYTES = 256 * 1024


def _zip_folder(folder: Path, archive: Path, root_name: str) -> None:
    """Zip ``folder`` as ``root_name/...``, in a stable order, and flush it to disk."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(zipfile.ZipInfo(f"{root_name}/"), b"")
        for path in sorted(folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            arcname = f"{root_name}/{path.relative_to(folder).as_posix()}"
            zf.write(path, arcname,
                     compress_type=zipfile.ZIP_DEFLATED if _compresses(path)
                     else zipfile.ZIP_STORED)
    with archive.open("rb+") as fh:
        os.fchmod(fh.fileno(), 0o600)  # results are private data, whatever the umask
        os.fsync(fh.fileno())


_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _out_of_space(exc: BaseException, folder: Path) -> JobFailed | None:
    """A disk that filled up is no fault of the generator: say so, and what to do."""
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
        return JobFailed(f"ran out of disk space while writing the job's files in {folder} "
                         f"({describe(exc)}); free some space there (or give the server a "
                         "larger --home) and submit the job again")
    return None


def render_archive(task: JobTask, scratch: Path) -> Path:
    """Run the job into ``scratch/<job_id>/`` and zip it; returns the archive (in scratch).

    Raises JobFailed with a sentence a person can act on.
    """
    generator = worker_registry(task.generator_specs).get(task.generator)
    if generator is None:
        raise JobFailed(f"generator {task.generator!r} is not installed on this worker; "
                        "install it or start the worker with the same --generator options")
    out_dir = scratch / task.job_id
    out_dir.mkdir()
    try:
        generator.run(dict(task.params), task.is_preview, out_dir, task.seed)
    except Exception as exc:  # noqa: BLE001 - any generator error ends the job, not the worker
        raise (_out_of_space(exc, scratch)
               or JobFailed(f"the generator failed: {describe(exc)}")) from None
    archive = scratch / f"{task.job_id}.zip"
    try:
        _zip_folder(out_dir, archive, task.job_id)
    except OSError as exc:
        raise (_out_of_space(exc, scratch)
               or JobFailed(f"could not write the job's archive: {describe(exc)}")) from None
    return archive


def place_archive(archive: Path, results_dir: Path, job_id: str) -> Path:
    """Move a finished (and already synced) archive to ``results/<job_id>.zip`` in one
    atomic rename, then sync the folder so the rename itself survives a power cut: only
    then may the job be recorded as succeeded."""
    target = results_dir / f"{job_id}.zip"
    try:
        os.replace(archive, target)
        fsync_folder(results_dir)
    except OSError as exc:
        raise JobFailed(f"could not store the result in {results_dir}: {describe(exc)}"
                        ) from None
    return target


def store_archive_bytes(data: bytes, results_dir: Path, job_id: str) -> Path:
    """Write archive bytes received from a remote worker to ``results/<job_id>.zip``,
    durably and atomically, as :func:`place_archive` does for a local one."""
    target = results_dir / f"{job_id}.zip"
    try:
        with atomic_write(target, "wb", permissions=0o600, durable=True) as fh:
            fh.write(data)
    except OSError as exc:
        raise JobFailed(f"could not store the result in {results_dir}: {describe(exc)}"
                        ) from None
    return target
