"""Writing files so that nothing half-written is ever visible: one helper for all of it.

A :class:`PendingFile` is written under a hidden temporary name beside its final path and
renamed into place on :meth:`~PendingFile.commit` (or removed on
:meth:`~PendingFile.abort`): a reader sees the old file or the whole new one, never part of
one. :func:`atomic_write` wraps it as a context manager for code that writes through a file
object; writers that need a path (ffmpeg, zipfile) use :class:`PendingFile` directly.
:func:`replace_folder` swaps a whole folder (a downloaded job, an export) the same way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["PendingFile", "atomic_write", "current_umask", "fsync_folder", "replace_folder",
           "user_file_mode", "write_bytes_atomic", "write_text_atomic"]


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells it
    (``/proc/self/status``); elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def user_file_mode(permissions: int | None = None) -> int:
    """The mode a new file gets: what ``open()`` would give it (0666 less the umask), and
    never more than ``permissions`` when given. A mode is never wider than the umask allows,
    so a user who chose 077 keeps their records private."""
    mode = 0o666 & ~current_umask()
    return mode if permissions is None else mode & permissions


def fsync_folder(folder: Path | str) -> None:
    """Make the entries of ``folder`` (a rename into it) durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PendingFile:
    """``tmp``, a hidden file beside ``path``, becomes ``path`` on :meth:`commit`. From its
    first byte it has the mode :func:`user_file_mode` gives (``permissions`` is the widest
    allowed: 0o600 for secrets and results). ``suffix`` ends its name (a writer such as
    ffmpeg picks the format from it)."""

    def __init__(self, path: Path | str, permissions: int | None = None,
                 suffix: str = ".partial") -> None:
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                   suffix=suffix)
        try:
            os.fchmod(fd, user_file_mode(permissions))
        finally:
            os.close(fd)
        self.tmp = Path(tmp)

    def commit(self, durable: bool = False) -> Path:
        """Rename the written file into place; when ``durable``, the file is synced first
        and its folder after, so the rename too survives a power cut."""
        if durable:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(self.tmp, self.path)
        if durable:
            fsync_folder(self.path.parent)
        return self.path

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: Path | str, mode: str = "w", *, permissions: int | None = None,
                 durable: bool = False, encoding: str | None = None) -> Iterator[IO[Any]]:
    """``with atomic_write(path) as fh: ...``: ``path`` appears whole when the block ends,
    and stays as it was when the block raises."""
    pending = PendingFile(path, permissions)
    try:
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(pending.tmp, mode, encoding=encoding) as fh:
            yield fh
        pending.commit(durable)
    except BaseException:
        pending.abort()
        raise


def write_text_atomic(path: Path | str, text: str, *, permissions: int | None = None) -> Path:
    with atomic_write(path, "w", permissions=permissions) as fh:
        fh.write(text)
    return Path(path)


def write_bytes_atomic(path: Path | str, data: bytes, *, permissions: int | None = None) -> Path:
    with atomic_write(path, "wb", permissions=permissions) as fh:
        fh.write(data)
    return Path(path)


def replace_folder(new: Path, final: Path, aside_prefix: str) -> None:
    """Rename the complete folder ``new`` to ``final``; an existing ``final`` is first moved
    aside (into a temporary folder named ``aside_prefix...``) and then deleted, so ``final``
    is only ever the old whole folder or the new one."""
    if not final.exists():
        os.rename(new, final)
        return
    old = Path(tempfile.mkdtemp(prefix=aside_prefix, dir=final.parent))
    os.rename(final, old / final.name)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)
