"""One job's result archive, checked and extracted into place, or refused with no trace.

Every entry must stay inside ``<job_id>/`` (no absolute path, no ``..``: zip-slip) and the
archive within the download's :class:`~infinity_workflows.download_limits.DownloadLimits`
(entries, bytes, ratios), all checked before a byte is written; the job is extracted into a
staging folder and renamed into place whole.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .download_limits import (
    RATIO_FLOOR,
    ArchiveRefused,
    DownloadBudget,
    DownloadLimits,
    over_limit,
    shown_bytes,
)
from .files import replace_folder

__all__ = ["EXTRACT_PREFIX", "check_members", "count_entries", "extract_job"]

EXTRACT_PREFIX = ".extract-"
_END = struct.Struct("<4s4H2LH")  # end of central directory: signature ... comment length
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
# Name, extra fields and comment of one entry: beyond this, a directory is only bloat, and
# zipfile would hold all of it in memory (entries x this bounds what it may cost).
_MAX_ENTRY_HEADER = 4096


def count_entries(path: Path, most: int) -> int:
    """Entries in the zip at ``path``, counting no further than ``most + 1``.

    ``zipfile`` reads a whole central directory into objects before anyone can count them,
    so a directory of millions of entries costs gigabytes of memory; this walks it header by
    header instead, from where ``zipfile`` would start, and refuses an entry whose header
    is longer than any file name needs. Where it cannot follow the headers, neither can
    ``zipfile``, which then refuses the archive as corrupt.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        tail_at = max(0, size - (_END.size + 0xFFFF))
        f.seek(tail_at)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            return 0
        end_at = tail_at + at
        *_, count, dir_size, _offset, _comment = _END.unpack_from(tail, at)
        directory_end = end_at
        # Where zipfile looks for zip64's end record: right before its locator.
        end64_at = end_at - _END64_LOCATOR.size - _END64.size
        if at >= _END64_LOCATOR.size and tail[at - _END64_LOCATOR.size:][:4] == b"PK\x06\x07" \
                and end64_at >= 0:
            f.seek(end64_at)
            record = _END64.unpack(f.read(_END64.size))
            if record[0] == b"PK\x06\x06":
                count, dir_size, directory_end = record[7], record[8], end64_at
        if count > most:
            return count
        f.seek(max(0, directory_end - dir_size))
        walked = found = 0
        while walked < dir_size and found <= most:
            header = f.read(_ENTRY.size)
            if len(header) < _ENTRY.size or header[:4] != b"PK\x01\x02":
                break
            fields = _ENTRY.unpack(header)
            skip = fields[10] + fields[11] + fields[12]  # name, extra, comment lengths
            if skip > _MAX_ENTRY_HEADER:  # no file system has such names: only bloat
                raise ArchiveRefused(f"refused: an entry's name and fields take {skip:,} bytes "
                               "(no file name is that long); nothing of this job was kept")
            f.seek(skip, os.SEEK_CUR)
            walked += _ENTRY.size + skip
            found += 1
        return found


def check_members(archive: zipfile.ZipFile, job_id: str, limits: DownloadLimits,
                   archive_size: int) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path parts, provided each stays inside ``<job_id>/`` and the
    archive is within ``limits`` (entries, bytes, ratios as its directory declares them).

    Raises before anything is written, so a hostile archive leaves no trace.
    """
    infos = archive.infolist()
    if limits.entries is not None and len(infos) > limits.entries:  # count_entries missed it
        raise over_limit(limits, "entries", f"the archive holds {len(infos):,} entries")
    members = []
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if (name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")
                or ".." in parts or not parts or parts[0] != job_id
                or (len(parts) == 1 and not info.is_dir())):
            raise ArchiveRefused(
                f"refused: archive entry {name!r} is not inside the job folder {job_id}/ "
                "(absolute, '..' or foreign path); nothing of this job was written")
        if (limits.ratio is not None and info.file_size > RATIO_FLOOR
                and info.file_size > limits.ratio * max(info.compress_size, 1)):
            raise over_limit(limits, "ratio", f"entry {name!r} expands "
                        f"{info.file_size / max(info.compress_size, 1):,.0f} times (to "
                        f"{shown_bytes(info.file_size)})")
        total += info.file_size
        members.append((info, parts))
    if limits.job_bytes is not None and total > limits.job_bytes:
        raise over_limit(limits, "job_bytes", f"the archive expands to {shown_bytes(total)}")
    if (limits.ratio is not None and total > RATIO_FLOOR
            and total > limits.ratio * max(archive_size, 1)):
        raise over_limit(limits, "ratio", f"the archive expands {total / max(archive_size, 1):,.0f}"
                    f" times (to {shown_bytes(total)})")
    return members


def copy_member(src: BinaryIO, dst: BinaryIO, declared: int, name: str) -> None:
    """Copy one member, never more than the size its entry declared (zipfile stops there
    too; counted again here, as this is what fills the disk)."""
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if written > declared:
            raise ArchiveRefused(f"refused: entry {name!r} holds more than the "
                           f"{declared:,} bytes it declares; nothing of this job was kept")
        dst.write(chunk)


def extract_job(archive_path: Path, job_id: str, root: Path, limits: DownloadLimits,
             budget: DownloadBudget) -> Path:
    """Extract a checked archive into a temporary folder, then rename it into place."""
    if limits.entries is not None and count_entries(archive_path,
                                                     limits.entries) > limits.entries:
        raise over_limit(limits, "entries", f"the archive holds more than {limits.entries:,} "
                    "entries")
    with zipfile.ZipFile(archive_path) as archive:
        members = check_members(archive, job_id, limits, archive_path.stat().st_size)
        budget.take(sum(info.file_size for info, _ in members))
        staging = Path(tempfile.mkdtemp(prefix=f"{EXTRACT_PREFIX}{job_id}-", dir=root))
        try:
            job_dir = staging / job_id
            job_dir.mkdir()
            for info, parts in members:
                target = staging.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                # Reading to the end checks the CRC, so a corrupt member raises here.
                with archive.open(info) as src, open(target, "wb") as dst:
                    copy_member(src, dst, info.file_size, info.filename)
            final = root / job_id
            replace_folder(job_dir, final, aside_prefix=f"{EXTRACT_PREFIX}old-")
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)

