"""What a server may make one download write or wait for: :class:`DownloadLimits`.

The limits are read from a call, a mapping or ``INFINITY_DOWNLOAD_LIMITS``; a refusal names
the job's excess, the limit and how to raise it (:func:`over_limit`); :class:`DownloadBudget`
holds what one download call may still write, shared by its threads.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ConfigurationError, InfinityError, ValidationError

__all__ = [
    "LIMITS_ENV",
    "RATIO_FLOOR",
    "ArchiveRefused",
    "BudgetedWriter",
    "DownloadBudget",
    "DownloadLimits",
    "over_limit",
    "shown_bytes",
]

LIMITS_ENV = "INFINITY_DOWNLOAD_LIMITS"
_GIB = 1 << 30
# Below this many bytes (once extracted) a member or archive is too small to be a bomb, and
# small files (an empty JSON list, a blank mask) legitimately compress a thousandfold.
RATIO_FLOOR = 1 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)i?b?\s*", re.IGNORECASE)


class ArchiveRefused(InfinityError):
    """A result archive this download will not keep: an entry outside its job folder, or
    over a limit; nothing of it is written."""


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


def shown_bytes(value: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:,.0f} bytes"


def _shown(name: str, value: float) -> str:
    if name.endswith("bytes"):
        return shown_bytes(value)
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


def over_limit(limits: DownloadLimits, name: str, what: str) -> ArchiveRefused:
    """The refusal for limit ``name``: what was found, the limit, and how to change it."""
    value = getattr(limits, name)
    if name == "keep_free_bytes":  # the one limit a user lowers to let more in
        change, suggestion = "free some space or lower", _typed(name, value / 8)
    else:
        change, suggestion = "raise", _typed(name, max(value * 4, 1))
    return ArchiveRefused(
        f"refused: {what}, over the limit {name}={_shown(name, value)}; nothing of this job "
        f"was kept. If you trust this server and want the job, {change} it: "
        f"download(..., limits={{'{name}': '{suggestion}'}}) or "
        f"{LIMITS_ENV}='{name}={suggestion}'")


class DownloadBudget:
    """The bytes one download call may still write (``batch_bytes``), shared by its
    threads; and the disk space each job must leave free."""

    def __init__(self, limits: DownloadLimits, root: Path) -> None:
        self.limits = limits
        self.root = root
        self.left = limits.batch_bytes
        self._lock = threading.Lock()

    def check_open(self) -> None:
        if self.left is not None and self.left <= 0:
            raise over_limit(self.limits, "batch_bytes", "this download has written its limit "
                        "already, so the job was not fetched")

    def take(self, size: int) -> None:
        """Claim ``size`` bytes for one job's extraction, or refuse it."""
        with self._lock:
            if self.left is not None and size > self.left:
                raise over_limit(self.limits, "batch_bytes", f"the job's {shown_bytes(size)}"
                            f" would take this download past its limit "
                            f"({shown_bytes(self.left)} left)")
            self.keep_free(size, "the job's files")
            if self.left is not None:
                self.left -= size

    def keep_free(self, size: int, what: str) -> None:
        """Refuse when writing ``size`` more bytes would leave less than the reserve."""
        keep = self.limits.keep_free_bytes
        if keep is not None:
            free = shutil.disk_usage(self.root).free
            if free - size < keep:
                raise over_limit(self.limits, "keep_free_bytes",
                            f"{what} would leave {shown_bytes(max(free - size, 0))} free on the "
                            f"disk of {self.root}")


class BudgetedWriter:
    """An archive's ``.partial`` file as it arrives; every 64 MiB it looks that the disk
    keeps its reserve, so that parallel endless bodies cannot fill it either."""

    _LOOK_EVERY = 64 << 20

    def __init__(self, out: BinaryIO, budget: DownloadBudget) -> None:
        self._out = out
        self._budget = budget
        self._unchecked = 0
        self.size = 0

    def write(self, data: bytes) -> int:
        self._unchecked += len(data)
        if self._unchecked >= self._LOOK_EVERY:
            self._unchecked = 0
            self._budget.keep_free(0, f"the archive, {shown_bytes(self.size)} in,")
        self.size += len(data)
        return self._out.write(data)

