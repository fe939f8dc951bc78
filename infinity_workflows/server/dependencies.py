"""The FastAPI dependencies the routers and the portal share: who is asking, and the parts of
the running server a route needs.

A route names what it needs as a parameter typed with one of the ``Annotated`` aliases below
(``store: StoreDep``); FastAPI calls the function behind it once per request. Those that only
hand over an object are ``async``, so FastAPI calls them on the event loop instead of sending
each to a worker thread; those that read the database stay plain functions, which it runs
in a thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from ..generators import GeneratorRegistry
from .auth import token_id_from_header
from .config import Settings
from .context import ServerContext
from .dispatcher import Dispatcher
from .job_json import Link
from .signing import Signer
from .store import Store

__all__ = [
    "Ctx",
    "DispatcherDep",
    "Granted",
    "ResultLinks",
    "SettingsDep",
    "SignerDep",
    "StoreDep",
    "TokenId",
    "authenticated",
    "granted_generators",
    "result_links",
    "server_context",
]

# Declared as a security scheme, so the OpenAPI document tells clients how to authenticate.
_auth_header = APIKeyHeader(
    name="Authorization", auto_error=False, scheme_name="TokenAuth",
    description="'Token <your token>' (`infinity-workflows token create` makes one)")


async def server_context(request: Request) -> ServerContext:
    """The one :class:`ServerContext` create_app put on the application."""
    return request.app.state.ctx


Ctx = Annotated[ServerContext, Depends(server_context)]


async def settings(ctx: Ctx) -> Settings:
    return ctx.settings


async def store(ctx: Ctx) -> Store:
    return ctx.store


async def signer(ctx: Ctx) -> Signer:
    return ctx.signer


async def dispatcher(ctx: Ctx) -> Dispatcher:
    """Read per request: the lifespan replaces the placeholder create_app puts there."""
    return ctx.dispatcher


SettingsDep = Annotated[Settings, Depends(settings)]
StoreDep = Annotated[Store, Depends(store)]
SignerDep = Annotated[Signer, Depends(signer)]
DispatcherDep = Annotated[Dispatcher, Depends(dispatcher)]


def authenticated(store: StoreDep,
                  authorization: Annotated[str | None, Depends(_auth_header)]) -> int:
    """The id of the token in the Authorization header, or 401."""
    return token_id_from_header(authorization, store.tokens.id_for)


TokenId = Annotated[int, Depends(authenticated)]


def granted_generators(ctx: Ctx, token_id: TokenId) -> GeneratorRegistry:
    """The generators the request's token may use (see ServerContext.generators_for)."""
    return ctx.generators_for(token_id)


Granted = Annotated[GeneratorRegistry, Depends(granted_generators)]


async def result_links(request: Request, settings: SettingsDep, signer: SignerDep) -> Link:
    """A function job id -> fresh signed result link, sharing one expiry per response."""
    base = settings.base_url_for(request.headers)
    expires = signer.expiry()

    def make(job_id: str) -> str:
        return f"{base}api/results/{job_id}/?{signer.result_query(job_id, expires)}"
    return make


ResultLinks = Annotated[Link, Depends(result_links)]
