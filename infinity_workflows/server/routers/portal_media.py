"""The portal's media: a job's thumbnail and its video, read from its result archive and
streamed in parts (range requests), so a browser can seek and a long video is never read into
memory whole. Behind the session cookie, so no token or signed link is put in a page."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ..dependencies import SettingsDep, StoreDep
from .portal_common import VIDEO_TYPES, PortalNotFound, PortalUser, uuid_or_404, video_name

__all__ = ["router"]

# The most one answer to a range request carries: a browser asks again for the rest, so a
# long video is never read into memory whole.
VIDEO_CHUNK = 4 * 1024 * 1024

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/thumbnail/{job_id}/")
def thumbnail(job_id: str, store: StoreDep, settings: SettingsDep, token_id: PortalUser):
    """The job's ``video_preview.png``, read from its result archive."""
    job_id = uuid_or_404(job_id)
    row = store.batches.job(token_id, job_id)
    if row is None or row.status != "succeeded":
        raise PortalNotFound(f"thumbnail of job {job_id}")
    try:
        with zipfile.ZipFile(settings.home.results / f"{job_id}.zip") as zf:
            data = zf.read(f"{job_id}/video_preview.png")
    except (OSError, KeyError, zipfile.BadZipFile):
        raise PortalNotFound(f"thumbnail of job {job_id}") from None
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive of one ``Range: bytes=...`` header; None for the whole
    file (no header, or several ranges); ValueError when it cannot be satisfied."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes="):].strip().partition("-")
    if not first:  # the last N bytes
        n = int(last)
        if n <= 0:
            raise ValueError(header)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise ValueError(header)
    return start, min(end, size - 1)


def _read_member(archive: Path, info: zipfile.ZipInfo, zf: zipfile.ZipFile, start: int,
                 length: int) -> bytes:
    """``length`` bytes of a member from ``start``: read in place for a stored member (a
    video is stored, not deflated), else by decompressing up to there."""
    if info.compress_type == zipfile.ZIP_STORED:
        with archive.open("rb") as fh:
            fh.seek(info.header_offset)
            local = fh.read(30)
            if len(local) == 30 and local[:4] == b"PK\x03\x04":
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len + start)
                return fh.read(length)
    with zf.open(info) as member:
        member.seek(start)
        return member.read(length)


@router.get("/video/{job_id}/")
def video(request: Request, job_id: str, store: StoreDep, settings: SettingsDep,
          token_id: PortalUser):
    """A finished job's video, for the player on its row; answers range requests, so a
    browser can seek and fetch a long video in parts."""
    job_id = uuid_or_404(job_id)
    row = store.batches.job(token_id, job_id)
    archive = settings.home.results / f"{job_id}.zip"
    name = video_name(str(archive), job_id) if row and row.status == "succeeded" else None
    if name is None:
        raise PortalNotFound(f"video of job {job_id}")
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(name)
            size = info.file_size
            try:
                wanted = _byte_range(request.headers.get("range"), size)
            except ValueError:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
            if wanted is not None:
                start, end = wanted[0], min(wanted[1], wanted[0] + VIDEO_CHUNK - 1)
                data = _read_member(archive, info, zf, start, end - start + 1)
    except (OSError, KeyError, zipfile.BadZipFile):
        raise PortalNotFound(f"video of job {job_id}") from None
    media_type = VIDEO_TYPES[Path(name).suffix.lower()]
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    if wanted is None:  # the whole file, streamed a part at a time
        headers["Content-Length"] = str(size)
        return StreamingResponse(_member_parts(archive, name), headers=headers,
                                 media_type=media_type)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data, status_code=206, headers=headers, media_type=media_type)


def _member_parts(archive: Path, name: str) -> Iterator[bytes]:
    with zipfile.ZipFile(archive) as zf, zf.open(name) as member:
        while part := member.read(VIDEO_CHUNK):
            yield part
