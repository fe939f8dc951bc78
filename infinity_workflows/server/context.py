"""The server's settings and the objects every route shares."""

from __future__ import annotations

from dataclasses import dataclass

from ..generators import GeneratorRegistry
from ..home import Home
from .dispatcher import Dispatcher
from .signing import Signer
from .store import Store

__all__ = ["ServerContext", "Settings"]


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

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


@dataclass
class ServerContext:
    settings: Settings
    registry: GeneratorRegistry
    store: Store
    signer: Signer
    dispatcher: Dispatcher
