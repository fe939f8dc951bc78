"""The HTTP transport under every call to an Infinity server.

A :class:`Transport` wraps a :class:`requests.Session` so that every call gets the same care:

* the token goes in through ``Session.auth`` (:class:`TokenAuth`), never a raw header, so a
  ``.netrc`` entry for the host cannot silently replace it, and never into a URL or message;
* every call has a ``(connect, read)`` timeout;
* connection errors and 502/503/504 are retried with exponential backoff. Every POST of this
  API is safe to repeat (``estimate/`` is pure, ``batch/`` carries an ``Idempotency-Key``
  that the server honours), so POSTs are retried like GETs; a server's ``Retry-After`` is
  obeyed up to :data:`MAX_RETRY_AFTER` seconds, never hours;
* the read timeout restarts with every byte, so a server trickling its answer could hold a
  call for ever: :class:`~infinity_workflows.cut_off.CutOff` gives the calls of a block one
  wall-clock end, however the bytes arrive (at the end the connection is shut, which wakes
  a blocked read);
* no answer becomes :class:`~infinity_workflows.errors.ServerUnreachable`, an error status
  becomes the :class:`~infinity_workflows.errors.APIError` subclass for that status, with the
  server's ``detail`` in the message.

Result URLs are signed and need no token: a second session never sends an ``Authorization``
header. :func:`open_transport` is the one way to open one from a server and a token (or
none: the token is then resolved as everywhere else). The endpoints it serves are listed once
in :mod:`.endpoints`; two modules call them: :mod:`.api` (our functions, parsed JSON and
typed errors) and :mod:`.compat.core_api` (infinity-core's names, raw responses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from .credentials import normalise_server, resolve_token
from .cut_off import CutOff, CutOffAdapter, active_cut_off  # CutOff: re-exported
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    ServerError,
    ServerUnreachable,
    ValidationError,
)

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "CutOff",
    "TokenAuth",
    "Transport",
    "batch_body",
    "error_for",
    "iso",
    "open_transport",
    "parse_response",
    "segment",
    "unreachable",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 120.0)  # (connect, read) seconds
DEFAULT_RETRIES = 4
MAX_RETRY_AFTER = 30.0  # seconds: a Retry-After of hours must not stall a call
_RETRY_STATUSES = (502, 503, 504)
_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
}


class TokenAuth(requests.auth.AuthBase):
    """``Authorization: Token <token>``; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        if not token or any(c.isspace() for c in token):
            raise ConfigurationError("an API token is a non-empty string without spaces; "
                                     "check INFINITY_API_TOKEN or the token you passed")
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self._token}"
        return request

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenAuth) and other._token == self._token

    def __hash__(self) -> int:
        return hash(self._token)

    def __repr__(self) -> str:
        return "TokenAuth(<hidden>)"


class _NoAuth(requests.auth.AuthBase):
    """Sends no ``Authorization`` header (and, being set, keeps .netrc from adding one)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return "NoAuth()"




class _Retry(Retry):
    """urllib3's Retry, but a server's ``Retry-After`` waits at most
    :data:`MAX_RETRY_AFTER` seconds, and never past the end of a :class:`CutOff`."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        if seconds is None:
            return None
        seconds = min(seconds, MAX_RETRY_AFTER)
        cut_off = active_cut_off()
        left = cut_off.remaining() if cut_off is not None else None
        return seconds if left is None else min(seconds, left)


def _retry(retries: int, backoff: float) -> Retry:
    return _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        status_forcelist=_RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        raise_on_status=False,  # the last 5xx answer reaches us and becomes a ServerError
        respect_retry_after_header=True,
    )


def _http_session(auth: requests.auth.AuthBase, retries: int, backoff: float,
                  pool_size: int) -> requests.Session:
    http = requests.Session()
    http.auth = auth
    adapter = CutOffAdapter(max_retries=_retry(retries, backoff), pool_connections=4,
                       pool_maxsize=max(pool_size, 4))
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["Accept"] = "application/json"
    return http


class Transport:
    """The server's base URL, the token and an HTTP session with timeouts and retries."""

    def __init__(self, server: str, token: str, *,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, backoff: float = 0.25,
                 pool_size: int = 8) -> None:
        self.server = normalise_server(server)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.http = _http_session(TokenAuth(token), retries, backoff, pool_size)
        # Result URLs are signed, so they get no token: a separate session with no auth.
        self.download_http = _http_session(_NoAuth(), retries, backoff, pool_size)

    def __repr__(self) -> str:
        return f"Transport({self.server!r})"

    def close(self) -> None:
        self.http.close()
        self.download_http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return self.server + path.lstrip("/")

    def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send one request and return the response whatever its status (ServerUnreachable
        when no answer comes)."""
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.url(path), params=params, json=json,
                                         headers=dict(headers or {}), timeout=self.timeout)
        except requests.RequestException as exc:
            raise unreachable(self.server, exc, self.timeout) from None
        log.debug("%s %s -> %s in %.0f ms", method, path, response.status_code,
                  (time.perf_counter() - started) * 1000)
        return response

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Send one request and return the parsed JSON body, or raise the matching error."""
        return parse_response(method, path, self.send(method, path, params=params, json=json,
                                                      headers=headers))


def open_transport(server: str, token: str | None = None, *,
                   timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                   retries: int = DEFAULT_RETRIES) -> Transport:
    """A :class:`Transport` to ``server`` with ``token``, or else the token
    :func:`~infinity_workflows.credentials.resolve_token` finds for that server (the
    environment's, or the credentials file's); ConfigurationError when there is none."""
    server = normalise_server(server)
    return Transport(server, resolve_token(token, server), timeout=timeout, retries=retries)


def _reason(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    """A short cause for a failed connection, without the noise of urllib3's wrappers."""
    cause: Any = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)  # MaxRetryError (after retries) -> its cause
    # NewConnectionError (refused, unknown host) subclasses ConnectTimeoutError: test it first.
    if isinstance(cause, NewConnectionError):
        pass
    elif isinstance(exc, requests.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        return f"no connection within {timeout[0]:g} s"
    elif isinstance(exc, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
        return f"no answer within {timeout[1]:g} s"
    text = str(cause)
    # "HTTPConnection(host=.., port=..): Failed to establish ...: [Errno 111] ..." -> the cause
    if "Failed to" in text:
        text = text[text.index("Failed to"):]
    return text or type(exc).__name__


def unreachable(server: str, exc: requests.RequestException,
                timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> ServerUnreachable:
    from .getting_started import start_server_hint  # how this installation starts one

    return ServerUnreachable(
        f"cannot reach the Infinity server at {server} ({_reason(exc, timeout)}). If it is "
        f"the local server, {start_server_hint()}."
    )


def parse_response(method: str, path: str, response: requests.Response) -> Any:
    """The JSON body of a success, or the typed error of a failure."""
    if response.ok:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise APIError(f"{method} {path}: the server answered {response.status_code} "
                           "with a body that is not JSON", response.status_code,
                           response.text[:500]) from None
    raise error_for(method, path, response)


def error_for(method: str, path: str, response: requests.Response) -> APIError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    detail = ""
    if isinstance(body, dict):
        detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
        if not detail and body.get("detail") is not None:
            detail = str(body["detail"])
        problems = [e.get("message") for e in body.get("errors") or []
                    if isinstance(e, dict) and e.get("message")]
        if problems:
            shown = problems[:10]
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            detail = (detail + ": " if detail else "") + "; ".join(shown) + more
    elif isinstance(body, str):
        detail = body.strip()[:300]
    status = response.status_code
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    message = f"{method} {path} failed with {status} {response.reason or ''}".rstrip()
    if detail:
        message += f": {detail}"
    return cls(message, status, body)


# -- request pieces shared by both APIs ------------------------------------------------------
def segment(value: str) -> str:
    """One path segment, quoted so that an id or name cannot change the path."""
    return quote(str(value), safe="")


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValidationError("times sent to the API must be timezone-aware")
    return value.isoformat()


def batch_body(name: str, generator: str, job_params: Sequence[Mapping[str, Any]],
                is_preview: bool) -> dict[str, Any]:
    return {
        "name": name,
        "job_runs": [{"name": generator, "is_preview": bool(is_preview),
                      "param_values": dict(params)} for params in job_params],
    }

