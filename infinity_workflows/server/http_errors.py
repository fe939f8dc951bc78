"""One shape for every error the API returns, and the handlers that produce it.

``{"detail": "<what was wrong and how to fix it>", "errors": [{job_index, param, rule,
message}]}``: ``detail`` is for people, ``errors`` for programs (which job, which parameter,
which rule). FastAPI's own validation errors are reshaped to it and answered with 400.
"""

from __future__ import annotations

import ctypes
import io
import json
import logging
import re
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BodySizeLimit",
    "ErrorBody",
    "ErrorItem",
    "RequestRefused",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)


class ErrorItem(BaseModel):
    job_index: int | None = None
    param: str | None = None
    rule: str
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem] = []


def error_item(rule: str, message: str, job_index: int | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"job_index": job_index, "param": param, "rule": rule, "message": message}


class RequestRefused(Exception):
    """The server refuses this request: raised by routes and dependencies, answered as
    ``status`` with an :class:`ErrorBody` (the client's counterpart is ``errors.APIError``,
    which such an answer becomes)."""

    def __init__(self, status: int, detail: str, errors: Sequence[dict[str, Any]] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers


def error_response(status: int, detail: str, errors: Sequence[dict[str, Any]] = (),
                   headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"detail": detail, "errors": list(errors)}, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _located_item(rule: str, loc: Sequence[str | int], what: str) -> dict[str, Any]:
    """An error item for the field at ``loc`` (``job_runs.3.param_values.frames``)."""
    job_index = None
    if len(loc) >= 2 and loc[0] == "job_runs" and isinstance(loc[1], int):
        job_index = loc[1]
    param = str(loc[-1]) if loc and isinstance(loc[-1], str) else None if loc else "body"
    where = ".".join(str(p) for p in loc) or "body"
    return error_item(rule, f"{where}: {what}", job_index, param)


def _validation_item(err: dict[str, Any]) -> dict[str, Any]:
    loc = [part for part in err.get("loc", ()) if part != "body"]
    rule = str(err.get("type", "invalid"))
    if rule == "json_invalid":  # loc is the character where parsing stopped
        at = f" at character {loc[0]}" if loc else ""
        why = (err.get("ctx") or {}).get("error") or err.get("msg", "invalid")
        return error_item(rule, f"body: not valid JSON{at}: {why}", None, "body")
    if rule == "extra_forbidden":
        return _located_item(rule, loc, "unknown field; remove it (the API refuses fields it "
                                        "does not know)")
    return _located_item(rule, loc, str(err.get("msg", "invalid")))


# Where BodySizeLimit leaves the body it read, for the answer to a body that would not parse.
BODY_SCOPE_KEY = "infinity_workflows.body"


class _HugeInt:
    """Stands for an integer too long for Python to convert (over its int-str digit limit)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(text: str) -> int | _HugeInt:
    digits = len(text.lstrip("-"))
    if digits > sys.get_int_max_str_digits() > 0:
        return _HugeInt(digits)
    return int(text)


def _first_bad_value(value: Any) -> tuple[list[str | int], str, str] | None:
    """Where in a parsed body the first value JSON allows but the API cannot take is:
    ``(location, rule, what is wrong)``; None if there is none."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, _HugeInt):
            return (loc, "int_too_long", f"a number of {item.digits} digits, more than the "
                    f"{sys.get_int_max_str_digits()} a number may have; send a smaller one")
        if isinstance(item, str) and _SURROGATE.search(item):
            return (loc, "invalid_utf8", "the text is not valid UTF-8; send it encoded "
                    "as UTF-8")
        if isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                if _SURROGATE.search(key):
                    return (loc, "invalid_utf8", "a field name is not valid UTF-8")
                stack.append(([*loc, key], inner))
        elif isinstance(item, list):
            stack.extend(([*loc, i], inner) for i, inner in reversed(list(enumerate(item))))
    return None


_SURROGATE = re.compile("[\udc80-\udcff]")


def _unparsable_body(body: bytes | None, cause: BaseException | None) -> Response:
    """The answer to a body FastAPI could not parse: the field at fault where one is."""
    if isinstance(cause, RecursionError):
        return error_response(400, "the request body nests too deeply; send the API's "
                              "flat JSON object", [error_item("too_deep", "body: nested too "
                                                               "deeply", None, "body")])
    found = None
    if body is not None:
        try:
            parsed = json.loads(body.decode("utf-8", "surrogateescape"), parse_int=_parse_int)
        except (ValueError, RecursionError):
            parsed = None
        found = _first_bad_value(parsed) if parsed is not None else None
    if found is None:
        reason = f" ({type(cause).__name__})" if cause is not None else ""
        return error_response(400, f"the request body could not be read as JSON{reason}; "
                              "send a UTF-8 JSON object",
                              [error_item("body_unreadable", f"body: unreadable{reason}",
                                          None, "body")])
    loc, rule, what = found
    item = _located_item(rule, loc, what)
    return error_response(400, f"the request does not match the API: {item['message']}",
                          [item])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestRefused)
    async def _refused(_: Request, exc: RequestRefused) -> Response:
        return error_response(exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> Response:
        items = [_validation_item(e) for e in exc.errors()]
        if any(i["rule"] == "json_invalid" for i in items):
            detail = ("the request body is not valid JSON; send a JSON object (NaN and "
                      "Infinity are not JSON numbers)")
        else:
            detail = ("the request does not match the API: "
                      + "; ".join(i["message"] for i in items[:5])
                      + (f" (and {len(items) - 5} more)" if len(items) > 5 else ""))
        return error_response(400, detail, items)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI's parse failure
            return _unparsable_body(request.scope.get(BODY_SCOPE_KEY), exc.__cause__)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            detail = (f"there is nothing at {request.url.path}; API paths end with '/' "
                      "(see /api/schema/)")
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(sqlite3.OperationalError)
    async def _database_error(request: Request, exc: sqlite3.OperationalError) -> Response:
        if "disk is full" in str(exc) or "disk I/O error" in str(exc):
            # Not the caller's fault, and not a bug: say so, and that nothing was stored.
            log.error("database write failed on %s %s: %s", request.method, request.url.path,
                      exc)
            return error_response(507, "the server's disk is full, so nothing was stored; "
                                  "try again later (whoever runs the server must free space "
                                  "in its home folder)",
                                  [error_item("disk_full", str(exc))])
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "the server failed on this request; its log has the "
                              f"details ({type(exc).__name__})")


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413 before anything parses them.

    Declared lengths are checked up front; chunked bodies are counted as they arrive and
    buffered (FastAPI reads the whole body anyway), then replayed to the application.

    With ``max_values``, a body is also refused before it is parsed when it holds more JSON
    values (commas) or objects and arrays (``{`` and ``[``) than ``max_values`` and
    ``max_containers``: a parsed value costs tens of bytes, so 31 MiB of ``{},{},...`` would
    take over a gigabyte and most of a minute to parse, holding the event loop all along.
    Once a large body has been answered, the memory it took is given back to the system.
    """

    def __init__(self, app: ASGIApp, max_bytes: int,
                 hint: str = "split the batch into smaller ones, or start the server with a "
                             "larger --max-body-mb",
                 max_values: int | None = None, max_containers: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.hint = hint
        self.max_values = max_values
        self.max_containers = max_containers

    def _too_large(self) -> Response:
        mb = self.max_bytes / (1024 * 1024)
        return error_response(
            413, f"the request body is larger than this server accepts ({mb:g} MB); "
            + self.hint, [error_item("body_too_large", f"body over {self.max_bytes} bytes",
                                     None, "body")])

    def _too_complex(self, body: bytes) -> Response | None:
        if self.max_values is None or self.max_containers is None:
            return None
        values = body.count(b",")
        containers = body.count(b"{") + body.count(b"[")
        if values <= self.max_values and containers <= self.max_containers:
            return None
        return error_response(
            413, f"the request body holds more JSON values ({values:,}) or objects and "
            f"arrays ({containers:,}) than a batch this server accepts can need "
            f"({self.max_values:,} and {self.max_containers:,}); " + self.hint,
            [error_item("body_too_complex", f"body: {values} values, {containers} objects "
                        "and arrays", None, "body")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._too_large()(scope, receive, send)
                    return
        # One growing buffer rather than a list of chunks joined at the end (which holds
        # the body twice); its value is handed on without another copy.
        buffer = io.BytesIO()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if buffer.tell() + len(chunk) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            buffer.write(chunk)
            if not message.get("more_body", False):
                break
        body = buffer.getvalue()
        del buffer
        large = len(body) >= _TRIM_AFTER_BYTES
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            refusal = self._too_complex(body)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            scope[BODY_SCOPE_KEY] = body
            await self.app(scope, replay, send)
        finally:
            scope.pop(BODY_SCOPE_KEY, None)
            body = b""  # the closure above holds it too
            if large:
                _give_back_memory()


_TRIM_AFTER_BYTES = 1024 * 1024


def _give_back_memory() -> None:
    """Return freed heap to the system (glibc keeps it otherwise, so one large request
    would leave the server that much bigger for good). Elsewhere: nothing."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None
