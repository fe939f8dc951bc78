"""Who is asking: the API token in ``Authorization: Token <token>``, checked before anything
else of the request is read.

A body costs memory and time to read and parse (a 20 MB JSON POST took a server from 84 to
315 MB), so :class:`AuthenticateFirst` refuses an API request whose token is missing or
unknown from its headers alone, before one byte of its body is read.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from .http_errors import BodySizeLimit, RequestRefused, error_response

__all__ = ["AuthenticateFirst", "token_id_from_header"]

_CHALLENGE = {"WWW-Authenticate": "Token"}


def token_id_from_header(authorization: str | None,
                         token_id: Callable[[str], int | None]) -> int:
    """The live token's id for an ``Authorization`` header value, else RequestRefused(401)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "token" or not token:
        raise RequestRefused(401, "send your API token as the header 'Authorization: Token "
                             "<token>' (`infinity-workflows token create` makes one)",
                             headers=_CHALLENGE)
    found = token_id(token)
    if found is None:
        raise RequestRefused(401, "this server does not know that token; check it, or make "
                             "one with `infinity-workflows token create`", headers=_CHALLENGE)
    return found


# The portal's forms (a token, a CSRF value) are tiny; nothing unauthenticated gets more.
UNAUTHENTICATED_BODY_BYTES = 16 * 1024


class AuthenticateFirst:
    """ASGI middleware: an API request that carries a body is answered 401 from its headers
    when its token is missing or unknown; its body is never read.

    Result links (``/api/results/``) carry their own credential and have no body. The
    portal's login form is where a token is typed in, so it cannot be authenticated first:
    bodies outside the API are held to :data:`UNAUTHENTICATED_BODY_BYTES` instead.
    """

    def __init__(self, app: ASGIApp, token_id: Callable[[str], int | None]) -> None:
        self.app = app
        self.token_id = token_id
        self.small_bodies_only = BodySizeLimit(
            app, UNAUTHENTICATED_BODY_BYTES, hint="the portal's forms are small; send only "
            "the form's fields")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
                and not scope["path"].startswith("/api/")):
            await self.small_bodies_only(scope, receive, send)
            return
        if (scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
                and scope["path"].startswith("/api/")):
            header = next((value for name, value in scope.get("headers", ())
                           if name == b"authorization"), b"")
            try:
                token_id_from_header(header.decode("latin-1"), self.token_id)
            except RequestRefused as exc:
                await error_response(exc.status, exc.detail, headers={
                    **(exc.headers or {}), "Connection": "close"})(scope, receive, send)
                return
        await self.app(scope, receive, send)
