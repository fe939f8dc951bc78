"""Downloading a batch's results: resumable, one whole job folder at a time, hostile-proof.

A download is made to survive interruption and never to show a half-written job:

* each job's zip streams to ``<path>/.partial/<job_id>.zip``, is checked, extracted into a
  temporary folder inside ``<path>`` and only then renamed to ``<path>/<job_id>/``, so a job
  folder that exists is complete and a later call skips it (resume);
* an archive entry that is absolute, contains ``..`` or is not under ``<job_id>/`` refuses
  the whole job before anything of it is written (zip-slip);
* ``<path>/batch_id.txt`` claims the folder for the batch, and a folder holding another batch
  is refused before anything is downloaded;
* result URLs are signed and may expire, so fresh ones are read from ``summary/`` right
  before each round of downloads, and a refused link is fetched again with a new URL;
* a server is not trusted to be reasonable either: :class:`DownloadLimits` bounds what one
  archive may weigh as it arrives and once extracted, how many entries it holds, how much
  it may expand, how long it may take, and what one download may write in all. A refused
  archive leaves nothing behind, and the error names the job, the limit and how to raise it.

:meth:`Batch.download <infinity_workflows.batch.Batch.download>` is the way in; this module
needs of a batch only its ids, name and summaries (:class:`Downloadable`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol

from tqdm.auto import tqdm

from . import api
from .errors import (
    APIError,
    ConfigurationError,
    DownloadError,
    InfinityError,
    JobTimeout,
    ProtocolError,
    ServerUnreachable,
    ValidationError,
)
from .files import replace_folder, write_text_atomic
from .polling import Deadline, check_interval
from .transport import CutOff

__all__ = [
    "BATCH_ID_FILE",
    "LIMITS_ENV",
    "PARTIAL_DIR",
    "DownloadLimits",
    "Downloadable",
    "claim_folder",
    "download_batch",
]

BATCH_ID_FILE = "batch_id.txt"
PARTIAL_DIR = ".partial"
_EXTRACT_PREFIX = ".extract-"
# A signed link refused with one of these was most likely expired: fetch a fresh one.
_STALE_LINK_STATUSES = (401, 403, 404, 410)
_LINK_ATTEMPTS = 3


class Downloadable(Protocol):
    """What a download needs of a batch (a :class:`~infinity_workflows.Batch` has it)."""

    batch_id: str
    name: str

    @property
    def job_ids(self) -> list[str]: ...

    def job_summaries(self) -> list[dict[str, Any]]: ...


class _Refused(InfinityError):
    """A result archive this download will not keep: an entry outside its job folder, or
    over a limit; nothing of it is written."""


class _OutOfTime(InfinityError):
    """The download's own timeout ended while an archive was still arriving."""


# -- limits: what one archive, and one download, may cost ----------------------------------
LIMITS_ENV = "INFINITY_DOWNLOAD_LIMITS"
_GIB = 1 << 30
# Below this many bytes (once extracted) a member or archive is too small to be a bomb, and
# small files (an empty JSON list, a blank mask) legitimately compress a thousandfold.
_RATIO_FLOOR = 1 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)i?b?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class DownloadLimits:
    """What a server may make one download write or wait for; None lifts a limit.

    The defaults hold the largest VisionFit job (about 0.8 GB at 512x512, 30 fps, 20 slow
    reps with depth maps and sensor noise; its members compress at most 5x) with room to
    spare, yet refuse a 1 MB zip that expands to 1 GB before a byte of it is extracted.
    ``INFINITY_DOWNLOAD_LIMITS`` changes the defaults (``"job_bytes=8G,ratio=500"``);
    ``Batch.download(..., limits=...)`` one call (a ``DownloadLimits`` or a dict of fields).
    """

    archive_bytes: int | None = 2 * _GIB
    """Bytes of one job's archive as it arrives (also a Content-Length over it)."""
    job_bytes: int | None = 4 * _GIB
    """Bytes of one job's files once extracted."""
    batch_bytes: int | None = 100 * _GIB
    """Bytes of job files one download call writes in all."""
    keep_free_bytes: int | None = 1 * _GIB
    """Space a job's extraction must leave free on the download folder's disk."""
    entries: int | None = 100_000
    """Entries (files and folders) in one archive."""
    ratio: float | None = 100.0
    """How many times its compressed size a member, or the whole archive, may expand to
    (checked from 1 MiB extracted up)."""
    archive_seconds: float | None = 3600.0
    """Seconds one archive may take to arrive, however slowly its bytes come (the call's
    ``timeout`` is an end for the whole download)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))
                                      or not value >= 0):  # NaN too
                raise ValidationError(f"DownloadLimits.{f.name} must be a number >= 0 or "
                                      f"None (no limit), not {value!r}")

    @classmethod
    def from_env(cls, **changes: Any) -> DownloadLimits:
        """The defaults as ``INFINITY_DOWNLOAD_LIMITS`` changes them, then ``changes``
        (sizes as numbers or text such as ``"8G"``; ``None`` or ``"none"``: no limit)."""
        stated: dict[str, Any] = {}
        text = os.environ.get(LIMITS_ENV, "").strip()
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ConfigurationError(f"{LIMITS_ENV}: {item!r} is not NAME=VALUE; e.g. "
                                         f"{LIMITS_ENV}='job_bytes=8G,ratio=500'")
            stated[name.strip()] = value.strip()
        stated.update(changes)
        names = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for name, value in stated.items():
            if name not in names:
                raise ConfigurationError(f"no download limit is called {name!r}; the limits "
                                         f"are {', '.join(sorted(names))}")
            values[name] = _limit_value(name, value)
        return cls(**values)

    @classmethod
    def of(cls, limits: DownloadLimits | Mapping[str, Any] | None) -> DownloadLimits:
        """``limits`` as given to a download: None, the defaults (with the environment's
        changes); a mapping, those changed; a DownloadLimits, itself."""
        if isinstance(limits, DownloadLimits):
            return limits
        return cls.from_env(**dict(limits or {}))


def _limit_value(name: str, value: Any) -> float | int | None:
    if value is None or (isinstance(value, str) and value.lower() in ("none", "off", "")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    match = _SIZE.fullmatch(str(value))
    if match is None:
        raise ConfigurationError(f"download limit {name}: {value!r} is not a number (sizes "
                                 "may end in K, M, G or T: 8G), nor 'none'")
    number = float(match[1]) * _UNITS[match[2].lower()]
    return number if name in ("ratio", "archive_seconds") else int(number)


def _bytes(value: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:,.0f} bytes"


def _shown(name: str, value: float) -> str:
    if name.endswith("bytes"):
        return _bytes(value)
    if name == "archive_seconds":
        return f"{value:g} s"
    return f"{value:g}"


def _typed(name: str, value: float) -> str:
    """``value`` as one would type it for limit ``name`` (``8G``), ``_limit_value`` reads."""
    if name.endswith("bytes"):
        for unit, size in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20)):
            if value >= size:
                return f"{value / size:.3g}{unit}"
        return f"{value:.0f}"
    return f"{value:g}"


def _over(limits: DownloadLimits, name: str, what: str) -> _Refused:
    """The refusal for limit ``name``: what was found, the limit, and how to change it."""
    value = getattr(limits, name)
    if name == "keep_free_bytes":  # the one limit a user lowers to let more in
        change, suggestion = "free some space or lower", _typed(name, value / 8)
    else:
        change, suggestion = "raise", _typed(name, max(value * 4, 1))
    return _Refused(
        f"refused: {what}, over the limit {name}={_shown(name, value)}; nothing of this job "
        f"was kept. If you trust this server and want the job, {change} it: "
        f"download(..., limits={{'{name}': '{suggestion}'}}) or "
        f"{LIMITS_ENV}='{name}={suggestion}'")


class _Budget:
    """The bytes one download call may still write (``batch_bytes``), shared by its
    threads; and the disk space each job must leave free."""

    def __init__(self, limits: DownloadLimits, root: Path) -> None:
        self.limits = limits
        self.root = root
        self.left = limits.batch_bytes
        self._lock = threading.Lock()

    def check_open(self) -> None:
        if self.left is not None and self.left <= 0:
            raise _over(self.limits, "batch_bytes", "this download has written its limit "
                        "already, so the job was not fetched")

    def take(self, size: int) -> None:
        """Claim ``size`` bytes for one job's extraction, or refuse it."""
        with self._lock:
            if self.left is not None and size > self.left:
                raise _over(self.limits, "batch_bytes", f"the job's {_bytes(size)}"
                            f" would take this download past its limit "
                            f"({_bytes(self.left)} left)")
            self.keep_free(size, "the job's files")
            if self.left is not None:
                self.left -= size

    def keep_free(self, size: int, what: str) -> None:
        """Refuse when writing ``size`` more bytes would leave less than the reserve."""
        keep = self.limits.keep_free_bytes
        if keep is not None:
            free = shutil.disk_usage(self.root).free
            if free - size < keep:
                raise _over(self.limits, "keep_free_bytes",
                            f"{what} would leave {_bytes(max(free - size, 0))} free on the "
                            f"disk of {self.root}")


class _Partial:
    """An archive's ``.partial`` file as it arrives; every 64 MiB it looks that the disk
    keeps its reserve, so that parallel endless bodies cannot fill it either."""

    _LOOK_EVERY = 64 << 20

    def __init__(self, out: BinaryIO, budget: _Budget) -> None:
        self._out = out
        self._budget = budget
        self._unchecked = 0
        self.size = 0

    def write(self, data: bytes) -> int:
        self._unchecked += len(data)
        if self._unchecked >= self._LOOK_EVERY:
            self._unchecked = 0
            self._budget.keep_free(0, f"the archive, {_bytes(self.size)} in,")
        self.size += len(data)
        return self._out.write(data)


# -- one job: an archive, checked and extracted into place -----------------------------------
_END = struct.Struct("<4s4H2LH")  # end of central directory: signature ... comment length
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
# Name, extra fields and comment of one entry: beyond this, a directory is only bloat, and
# zipfile would hold all of it in memory (entries x this bounds what it may cost).
_MAX_ENTRY_HEADER = 4096


def _count_entries(path: Path, most: int) -> int:
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
                raise _Refused(f"refused: an entry's name and fields take {skip:,} bytes "
                               "(no file name is that long); nothing of this job was kept")
            f.seek(skip, os.SEEK_CUR)
            walked += _ENTRY.size + skip
            found += 1
        return found


def _check_members(archive: zipfile.ZipFile, job_id: str, limits: DownloadLimits,
                   archive_size: int) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path parts, provided each stays inside ``<job_id>/`` and the
    archive is within ``limits`` (entries, bytes, ratios as its directory declares them).

    Raises before anything is written, so a hostile archive leaves no trace.
    """
    infos = archive.infolist()
    if limits.entries is not None and len(infos) > limits.entries:  # _count_entries missed it
        raise _over(limits, "entries", f"the archive holds {len(infos):,} entries")
    members = []
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if (name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")
                or ".." in parts or not parts or parts[0] != job_id
                or (len(parts) == 1 and not info.is_dir())):
            raise _Refused(
                f"refused: archive entry {name!r} is not inside the job folder {job_id}/ "
                "(absolute, '..' or foreign path); nothing of this job was written")
        if (limits.ratio is not None and info.file_size > _RATIO_FLOOR
                and info.file_size > limits.ratio * max(info.compress_size, 1)):
            raise _over(limits, "ratio", f"entry {name!r} expands "
                        f"{info.file_size / max(info.compress_size, 1):,.0f} times (to "
                        f"{_bytes(info.file_size)})")
        total += info.file_size
        members.append((info, parts))
    if limits.job_bytes is not None and total > limits.job_bytes:
        raise _over(limits, "job_bytes", f"the archive expands to {_bytes(total)}")
    if (limits.ratio is not None and total > _RATIO_FLOOR
            and total > limits.ratio * max(archive_size, 1)):
        raise _over(limits, "ratio", f"the archive expands {total / max(archive_size, 1):,.0f}"
                    f" times (to {_bytes(total)})")
    return members


def _copy_member(src: BinaryIO, dst: BinaryIO, declared: int, name: str) -> None:
    """Copy one member, never more than the size its entry declared (zipfile stops there
    too; counted again here, as this is what fills the disk)."""
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if written > declared:
            raise _Refused(f"refused: entry {name!r} holds more than the "
                           f"{declared:,} bytes it declares; nothing of this job was kept")
        dst.write(chunk)


def _extract(archive_path: Path, job_id: str, root: Path, limits: DownloadLimits,
             budget: _Budget) -> Path:
    """Extract a checked archive into a temporary folder, then rename it into place."""
    if limits.entries is not None and _count_entries(archive_path,
                                                     limits.entries) > limits.entries:
        raise _over(limits, "entries", f"the archive holds more than {limits.entries:,} "
                    "entries")
    with zipfile.ZipFile(archive_path) as archive:
        members = _check_members(archive, job_id, limits, archive_path.stat().st_size)
        budget.take(sum(info.file_size for info, _ in members))
        staging = Path(tempfile.mkdtemp(prefix=f"{_EXTRACT_PREFIX}{job_id}-", dir=root))
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
                    _copy_member(src, dst, info.file_size, info.filename)
            final = root / job_id
            replace_folder(job_dir, final, aside_prefix=f"{_EXTRACT_PREFIX}old-")
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _fetch(t: api.Transport, url: str, job_id: str, root: Path, limits: DownloadLimits,
           budget: _Budget, ends_at: float | None) -> Path:
    """One job: its archive streamed into ``.partial``, checked, extracted into place.

    ``ends_at`` (:func:`time.monotonic`) is the end of the whole download; the archive's
    own ``archive_seconds`` may end it sooner. Whatever refuses it, the ``.partial`` file
    and the staging folder are gone before this returns.
    """
    budget.check_open()
    own_end = (None if limits.archive_seconds is None
               else time.monotonic() + limits.archive_seconds)
    ends = [e for e in (ends_at, own_end) if e is not None]
    partial = root / PARTIAL_DIR / f"{job_id}.zip"
    try:
        with open(partial, "wb") as file:  # a stale file of an interrupted run is replaced
            out = _Partial(file, budget)
            try:
                api.download_result(t, url, out,  # type: ignore[arg-type]
                                    max_bytes=limits.archive_bytes,
                                    deadline=min(ends) if ends else None)
            except api.ResultTooLarge as exc:
                raise _over(limits, "archive_bytes", exc.found) from None
            except ProtocolError as exc:
                raise _Refused(f"refused: {exc}; nothing of this job was kept") from None
            except JobTimeout:
                if ends_at is not None and time.monotonic() >= ends_at:
                    raise _OutOfTime(f"{out.size:,} bytes of its archive had arrived when "
                                     "the download's time ran out") from None
                raise _over(limits, "archive_seconds", "the archive was still arriving, "
                            f"{out.size:,} bytes in") from None
        return _extract(partial, job_id, root, limits, budget)
    except zipfile.BadZipFile as exc:
        raise _Refused(f"the result archive is corrupt ({exc})") from None
    finally:
        partial.unlink(missing_ok=True)


# -- the folder: claimed for one batch, cleared of what an interrupted run left -------------
def claim_folder(root: Path, batch_id: str) -> None:
    """Refuse a folder of another batch; otherwise mark it as ``batch_id``'s."""
    marker = root / BATCH_ID_FILE
    if marker.exists():
        other = marker.read_text().strip()
        if other != batch_id:
            raise ConfigurationError(
                f"{root} already holds batch {other} (see {marker}); download batch "
                f"{batch_id} into another folder so the two are not mixed")
        return
    write_text_atomic(marker, batch_id + "\n")


def _prepare(root: Path, batch_id: str) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigurationError(f"{root} is a file; download into a folder")
    root.mkdir(parents=True, exist_ok=True)
    claim_folder(root, batch_id)
    # Left by an interrupted run: never complete, so never trusted. (Two downloads into
    # one folder at the same time are not supported.)
    for stale in root.glob(f"{_EXTRACT_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(root / PARTIAL_DIR, ignore_errors=True)
    (root / PARTIAL_DIR).mkdir()


# -- the batch: rounds of fetching until nothing is left (or, without wait, once) ------------
class _Progress:
    """Where each job of one download stands."""

    def __init__(self, done: dict[str, Path], pending: list[str]) -> None:
        self.done = done
        self.pending = pending
        self.failed: dict[str, str] = {}
        self.cancelled: set[str] = set()
        self.out_of_time: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.in_progress = 0

    def sort(self, summaries: list[dict[str, Any]]) -> dict[str, str]:
        """Read the batch's summary: the pending jobs ready to fetch, ``{job id: url}``."""
        summary = {j["id"]: j for j in summaries}
        ready: dict[str, str] = {}
        self.in_progress = 0
        for job_id in self.pending:
            job = summary.get(job_id)
            if job is None:
                self.failed[job_id] = "missing from the server's summary of the batch"
            elif job.get("status") == "cancelled":
                self.cancelled.add(job_id)  # not a failure: nothing to fetch, by request
            elif job.get("status") == "failed":
                reason = job.get("error") or "no reason given"
                self.failed[job_id] = f"failed on the server: {reason}"
            elif job["in_progress"]:
                self.in_progress += 1
            elif job.get("result_url"):
                ready[job_id] = job["result_url"]
            else:
                self.failed[job_id] = "finished without a result to download"
        return ready

    def settle(self) -> None:
        self.pending = [j for j in self.pending if j not in self.done
                        and j not in self.failed and j not in self.cancelled]

    def refused(self, job_id: str, exc: APIError) -> bool:
        """Whether a refused link is worth a fresh one (else the job has failed)."""
        self.attempts[job_id] = self.attempts.get(job_id, 0) + 1
        if exc.status in _STALE_LINK_STATUSES and self.attempts[job_id] < _LINK_ATTEMPTS:
            return True
        self.failed[job_id] = str(exc)
        return False


def _round(pool: ThreadPoolExecutor, t: api.Transport, ready: dict[str, str], root: Path,
           state: _Progress, bar: Any, limits: DownloadLimits, budget: _Budget,
           ends_at: float | None) -> bool:
    """Fetch ``ready`` in parallel; True when some link was refused and may be retried."""
    futures = {pool.submit(_fetch, t, url, job_id, root, limits, budget, ends_at): job_id
               for job_id, url in ready.items()}
    retry = False
    for future in as_completed(futures):
        job_id = futures[future]
        try:
            state.done[job_id] = future.result()
            bar.update(1)
        except APIError as exc:
            retry = state.refused(job_id, exc) or retry
        except _OutOfTime as exc:
            state.out_of_time[job_id] = str(exc)  # still pending: a later call may fetch it
        except (ServerUnreachable, _Refused, OSError) as exc:
            state.failed[job_id] = str(exc)
    return retry


def _summaries(batch: Downloadable, ends_at: float | None) -> list[dict[str, Any]]:
    """The batch's summaries, read before the download's end however slowly they come."""
    with CutOff(ends_at) as cut_off:
        try:
            return batch.job_summaries()
        except ServerUnreachable:
            if cut_off.fired:
                raise _OutOfTime("the batch's summary was still arriving") from None
            raise


def download_batch(batch: Downloadable, t: api.Transport, path: str | os.PathLike[str], *,
                   overwrite: bool = False, wait: bool = False, polling_interval: float = 5,
                   timeout: float | None = None, max_workers: int = 4,
                   progress: bool = True,
                   limits: DownloadLimits | Mapping[str, Any] | None = None) -> list[Path]:
    """Download every finished job of ``batch`` into ``path/<job_id>/``; the job folders.

    What :meth:`Batch.download <infinity_workflows.batch.Batch.download>` documents; its
    warnings name the caller of ``Batch.download``.
    """
    if max_workers < 1:
        raise ValidationError("max_workers must be at least 1")
    check_interval(polling_interval)
    limits = DownloadLimits.of(limits)
    root = Path(path).expanduser()
    deadline = Deadline(timeout)
    ends_at = None if timeout is None else time.monotonic() + timeout
    _prepare(root, batch.batch_id)
    job_ids = batch.job_ids
    done = {} if overwrite else {j: root / j for j in job_ids if (root / j).is_dir()}
    state = _Progress(done, [j for j in job_ids if j not in done])
    budget = _Budget(limits, root)
    pool = ThreadPoolExecutor(max_workers=max_workers)
    bar = tqdm(total=len(job_ids), initial=len(state.done), unit="job",
               desc=f"download {batch.name or batch.batch_id}", disable=not progress)
    try:
        while state.pending:
            try:
                ready = state.sort(_summaries(batch, ends_at))
            except _OutOfTime:
                raise _timed_out(batch.batch_id, timeout, root, state) from None
            retry = _round(pool, t, ready, root, state, bar, limits, budget, ends_at)
            state.settle()
            bar.set_postfix(failed=len(state.failed), waiting=state.in_progress, refresh=True)
            if state.out_of_time:
                raise _timed_out(batch.batch_id, timeout, root, state)
            if retry:
                continue  # fresh links for refused ones, straight away
            if not state.pending or not wait:
                break
            if deadline.expired():
                raise _timed_out(batch.batch_id, timeout, root, state)
            if not ready:
                deadline.sleep(polling_interval)
    finally:
        # On Ctrl-C, drop queued jobs instead of downloading them all first.
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        partial_dir = root / PARTIAL_DIR
        if partial_dir.is_dir() and not any(partial_dir.iterdir()):
            partial_dir.rmdir()
    _report(batch.batch_id, len(job_ids), root, state, wait)
    return [state.done[j] for j in job_ids if j in state.done]


def _timed_out(batch_id: str, timeout: float | None, root: Path, state: _Progress
               ) -> JobTimeout:
    arriving = (f" ({len(state.out_of_time)} were still arriving: "
                f"{next(iter(state.out_of_time.values()))})" if state.out_of_time else "")
    return JobTimeout(
        f"batch {batch_id}: {len(state.pending)} jobs not downloaded after {timeout or 0:g} s"
        f"{arriving}; {len(state.done)} are downloaded in {root}"
        + (f", {len(state.failed)} failed" if state.failed else "")
        + "; call download() again to fetch the rest")


def _report(batch_id: str, num_jobs: int, root: Path, state: _Progress, wait: bool) -> None:
    """DownloadError naming every job that failed; warnings for the ones left out."""
    failed = state.failed
    if failed:
        listed = "\n".join(f"  {j}: {why}" for j, why in list(failed.items())[:20])
        more = f"\n  ... and {len(failed) - 20} more" if len(failed) > 20 else ""
        raise DownloadError(
            f"{len(failed)} of {num_jobs} jobs of batch {batch_id} were not "
            f"downloaded ({len(state.done)} are in {root}):\n{listed}{more}", failed)
    # stacklevel 4: _report, download_batch, Batch.download, then its caller.
    if state.cancelled:
        warnings.warn(f"{len(state.cancelled)} of {num_jobs} jobs of batch {batch_id} "
                      "were cancelled and have nothing to download", stacklevel=4)
    if state.in_progress and not wait:
        warnings.warn(
            f"{state.in_progress} of {num_jobs} jobs of batch {batch_id} are still in "
            "progress and were not downloaded; call download() again later or pass "
            "wait=True", stacklevel=4)
