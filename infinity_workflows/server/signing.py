"""Signed, expiring download links, keyed by the server's secret.

A result link must work with a plain GET and no auth header (browsers, ``curl``, parallel
downloaders), so it carries its own proof: ``HMAC-SHA256(secret, "<job_id>:<expires>")``.
Without the secret nobody can make a link for another job or stretch an expiry.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from pathlib import Path

__all__ = [
    "LinkExpired",
    "LinkInvalid",
    "Signer",
    "load_or_create_secret",
]

SECRET_BYTES = 32


class LinkInvalid(Exception):
    """The signature does not match: the link was altered or made up."""


class LinkExpired(Exception):
    """The signature matches but the link's time is over."""


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret, or create it (mode 0600, written atomically) on first use."""
    try:
        data = path.read_bytes()
        if len(data) >= SECRET_BYTES:
            return data
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(SECRET_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        # link() fails if another process created the file meanwhile: then use theirs.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path.read_bytes()


class Signer:
    """Makes and checks result links."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        # Keyed once; copy() per message is cheaper than re-deriving the HMAC pads, which
        # matters when a summary signs 10,000 links.
        self._link_mac = hmac.new(secret, b"result:", hashlib.sha256)
        self.ttl_seconds = ttl_seconds

    def _link_signature(self, job_id: str, expires: int) -> str:
        mac = self._link_mac.copy()
        mac.update(f"{job_id}:{expires}".encode())
        return mac.hexdigest()

    def expiry(self, now: float | None = None) -> int:
        return int(now if now is not None else time.time()) + self.ttl_seconds

    def result_query(self, job_id: str, expires: int) -> str:
        """``expires=...&signature=...`` for the result link of ``job_id``."""
        return f"expires={expires}&signature={self._link_signature(job_id, expires)}"

    def check_link(self, job_id: str, expires: int, signature: str,
                   now: float | None = None) -> None:
        """Raise LinkInvalid or LinkExpired unless the link is genuine and current."""
        expected = self._link_signature(job_id, expires)
        # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError, and a
        # made-up signature may contain anything.
        given = signature.lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), given):
            raise LinkInvalid(job_id)
        if (now if now is not None else time.time()) > expires:
            raise LinkExpired(job_id)
