"""The server's settings: what ``infinity-workflows serve`` was told, fixed for its life.

Plain data with no web framework, so the CLI can build them before anything heavy loads.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from ..server_home import Home

__all__ = ["Settings"]

_FORWARDED_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_FORWARDED_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*")


# Values one job of a batch may take in a request body (VisionFit's jobs take 35).
VALUES_PER_JOB = 128


@dataclass(frozen=True)
class Settings:
    """What ``infinity-workflows serve`` was told (see its --help for each option)."""

    home: Home
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1
    generator_specs: tuple[str, ...] = ()
    executor: str = "local"
    max_jobs_per_batch: int = 10_000
    max_body_mb: float = 32
    url_ttl_seconds: int = 86_400
    max_attempts: int = 3
    scheduler: str | None = None  # the Dask scheduler's address, for executor "dask"
    # The URL clients reach the server at, for the links it hands out; None: the bound one.
    public_url: str | None = None
    # Trust X-Forwarded-Proto/-Host/-Prefix (only behind a proxy that sets them itself).
    proxy_headers: bool = False

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def max_body_values(self) -> int:
        """JSON values (commas) a request body may hold: enough for a full batch of jobs
        with :data:`VALUES_PER_JOB` parameters each."""
        return self.max_jobs_per_batch * VALUES_PER_JOB + 4096

    @property
    def max_body_containers(self) -> int:
        """JSON objects and arrays a body may hold (a job needs two)."""
        return self.max_jobs_per_batch * 4 + 64

    @property
    def public_base_url(self) -> str:
        """``--public-url``, else the bound address (the machine's name when bound to every
        interface), always ending in '/'. Never the request's Host header: a client could
        set that to anything, and the link's signature does not cover the host."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def base_url_for(self, headers: Mapping[str, str]) -> str:
        """Where links in an answer to a request with ``headers`` point."""
        if self.proxy_headers:
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            host = headers.get("x-forwarded-host", "").split(",")[0].strip()
            prefix = headers.get("x-forwarded-prefix", "").split(",")[0].strip().rstrip("/")
            if (host and _FORWARDED_HOST.fullmatch(host) and proto in ("http", "https", "")
                    and _FORWARDED_PREFIX.fullmatch(prefix)):
                return f"{proto or 'http'}://{host}{prefix}/"
        return self.public_base_url
