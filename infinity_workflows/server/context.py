"""The objects every route shares while the server runs (its settings live in :mod:`.config`,
re-exported here for older imports)."""

from __future__ import annotations

from dataclasses import dataclass

from ..generators import GeneratorRegistry
from .config import Settings
from .dispatcher import Dispatcher
from .signing import Signer
from .store import Store

__all__ = ["ServerContext", "Settings", "granted_names"]


@dataclass
class ServerContext:
    """The parts create_app builds once; routes reach them through :mod:`.dependencies`."""

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
        granted = self.store.tokens.generators(token_id)
        if granted is None:
            return self.registry
        return GeneratorRegistry([g for g in self.registry if g.name in granted])


def granted_names(generators: GeneratorRegistry) -> str:
    """The names a refusal lists: only those in the token's view, so none leak."""
    return ", ".join(generators.names()) or ("none (this token has no generators; ask the "
                                             "server's administrator for a token with some)")
