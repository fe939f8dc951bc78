"""The server's settings and the objects every route shares."""

from __future__ import annotations

from dataclasses import dataclass

from ..generators import GeneratorRegistry
from ..home import Home
from .dispatcher import Dispatcher
from .signing import Signer
from .store import Store

__all__ = ["ServerContext", "Settings", "granted_names"]


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

    def generators_for(self, token_id: int) -> GeneratorRegistry:
        """The part of the registry this token may use: the one place grants are applied.

        Every route that lists, describes or accepts generators looks them up here, so a
        generator outside the grant is indistinguishable from one that is not installed.
        """
        granted = self.store.token_generators(token_id)
        if granted is None:
            return self.registry
        return GeneratorRegistry([g for g in self.registry if g.name in granted])


def granted_names(generators: GeneratorRegistry) -> str:
    """The names a refusal lists: only those in the token's view, so none leak."""
    return ", ".join(generators.names()) or ("none (this token has no generators; ask the "
                                             "server's administrator for a token with some)")
