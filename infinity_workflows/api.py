"""One function per endpoint of the Infinity REST API, over a small :class:`Transport`.

The transport wraps a :class:`requests.Session` so that every call gets the same care:

* the token goes in through ``Session.auth`` (:class:`TokenAuth`), never a raw header, so a
  ``.netrc`` entry for the host cannot silently replace it, and never into a URL or message;
* every call has a ``(connect, read)`` timeout;
* connection errors and 502/503/504 are retried with exponential backoff. Every POST of this
  API is safe to repeat (``estimate/`` is pure, ``batch/`` carries an ``Idempotency-Key``
  that the server honours), so POSTs are retried like GETs;
* no answer becomes :class:`~infinity_workflows.errors.ServerUnreachable`, an error status
  becomes the :class:`~infinity_workflows.errors.APIError` subclass for that status, with the
  server's ``detail`` in the message.

Result URLs are signed and need no token: :func:`download_result` fetches them through a
second session that never sends an ``Authorization`` header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from .credentials import normalise_server
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServerError,
    ServerUnreachable,
)

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "TokenAuth",
    "Transport",
    "cancel_batch",
    "cancel_job",
    "download_result",
    "estimate_batch",
    "get_api_schema",
    "get_batch",
    "get_batch_summary",
    "get_generator",
    "get_job_counts",
    "get_job_preview",
    "get_job_run",
    "list_batches",
    "list_generators",
    "list_job_previews",
    "list_job_runs",
    "submit_batch",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 120.0)  # (connect, read) seconds
DEFAULT_RETRIES = 4
_RETRY_STATUSES = (502, 503, 504)
_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
}
_START_HINT = ("If it is the local server, start it with `infinity-workflows serve` "
               "(./run_notebooks.sh starts it for you).")


class TokenAuth(requests.auth.AuthBase):
    """``Authorization: Token <token>``; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        if not token or any(c.isspace() for c in token):
            raise ValueError("an API token is a non-empty string without spaces")
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


def _retry(retries: int, backoff: float) -> Retry:
    return Retry(
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
    adapter = HTTPAdapter(max_retries=_retry(retries, backoff), pool_connections=4,
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

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Send one request and return the parsed JSON body, or raise the matching error."""
        url = self.url(path)
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, params=params, json=json,
                                         headers=dict(headers or {}), timeout=self.timeout)
        except requests.RequestException as exc:
            raise unreachable(self.server, exc, self.timeout) from None
        log.debug("%s %s -> %s in %.0f ms", method, path, response.status_code,
                  (time.perf_counter() - started) * 1000)
        return parse_response(method, path, response)


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
    return ServerUnreachable(
        f"cannot reach the Infinity server at {server} ({_reason(exc, timeout)}). {_START_HINT}"
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


# -- endpoints ------------------------------------------------------------------------------
def _segment(value: str) -> str:
    """One path segment, quoted so that an id or name cannot change the path."""
    return quote(str(value), safe="")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times sent to the API must be timezone-aware")
    return value.isoformat()


def _batch_body(name: str, generator: str, job_params: Sequence[Mapping[str, Any]],
                is_preview: bool) -> dict[str, Any]:
    return {
        "name": name,
        "job_runs": [{"name": generator, "is_preview": bool(is_preview),
                      "param_values": dict(params)} for params in job_params],
    }


def list_generators(t: Transport) -> list[dict[str, Any]]:
    """GET api/jobs/: ``[{name, version, description, options}]``."""
    return t.request("GET", "api/jobs/")


def get_generator(t: Transport, name: str) -> dict[str, Any]:
    """GET api/jobs/{name}/: the generator with its ``params``."""
    return t.request("GET", f"api/jobs/{_segment(name)}/")


def submit_batch(t: Transport, *, name: str, generator: str,
                 job_params: Sequence[Mapping[str, Any]], is_preview: bool,
                 idempotency_key: str) -> dict[str, Any]:
    """POST api/batch/. The same ``idempotency_key`` always yields the same one batch."""
    return t.request("POST", "api/batch/",
                     json=_batch_body(name, generator, job_params, is_preview),
                     headers={"Idempotency-Key": idempotency_key})


def estimate_batch(t: Transport, *, generator: str, job_params: Sequence[Mapping[str, Any]],
                   is_preview: bool, name: str = "estimate") -> list[int]:
    """POST api/batch/estimate/: frames each job will render."""
    return t.request("POST", "api/batch/estimate/",
                     json=_batch_body(name, generator, job_params, is_preview))


def list_batches(t: Transport, start_time: datetime, end_time: datetime
                 ) -> list[dict[str, Any]]:
    """GET api/batch/: ``[{id, name, created, num_jobs}]`` created in the window."""
    return t.request("GET", "api/batch/",
                     params={"start_time": _iso(start_time), "end_time": _iso(end_time)})


def get_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/."""
    return t.request("GET", f"api/batch/{_segment(batch_id)}/")


def get_batch_summary(t: Transport, batch_id: str) -> dict[str, Any]:
    """GET api/batch/{id}/summary/: status and a fresh signed ``result_url`` per job."""
    return t.request("GET", f"api/batch/{_segment(batch_id)}/summary/")


def cancel_batch(t: Transport, batch_id: str) -> dict[str, Any]:
    """POST api/batch/{id}/cancel/: ``{id, cancelled}``; a finished batch cancels 0 jobs."""
    return t.request("POST", f"api/batch/{_segment(batch_id)}/cancel/")


def cancel_job(t: Transport, job_id: str, is_preview: bool = False) -> dict[str, Any]:
    """POST api/job_runs/{id}/cancel/ (or api/job_previews/...): ``{id, cancelled}``."""
    kind = "job_previews" if is_preview else "job_runs"
    return t.request("POST", f"api/{kind}/{_segment(job_id)}/cancel/")


def list_job_runs(t: Transport, limit: int | None = None,
                   offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_runs/: this token's video jobs, oldest first; ``limit``/``offset`` page."""
    return t.request("GET", "api/job_runs/", params={"limit": limit, "offset": offset or None})


def get_job_run(t: Transport, job_id: str) -> dict[str, Any]:
    return t.request("GET", f"api/job_runs/{_segment(job_id)}/")


def list_job_previews(t: Transport, limit: int | None = None,
                       offset: int = 0) -> list[dict[str, Any]]:
    """GET api/job_previews/: this token's preview jobs, oldest first; ``limit``/``offset`` page."""
    return t.request("GET", "api/job_previews/", params={"limit": limit, "offset": offset or None})


def get_job_preview(t: Transport, job_id: str) -> dict[str, Any]:
    return t.request("GET", f"api/job_previews/{_segment(job_id)}/")


def get_job_counts(t: Transport, start_time: datetime, end_time: datetime) -> dict[str, Any]:
    """GET api/job_runs/counts/: samples rendered per generator in the window."""
    return t.request("GET", "api/job_runs/counts/",
                     params={"start_time": _iso(start_time), "end_time": _iso(end_time)})


def get_api_schema(t: Transport) -> dict[str, Any]:
    """GET api/schema/: the server's OpenAPI document."""
    return t.request("GET", "api/schema/")


def download_result(t: Transport, url: str, out: BinaryIO, *,
                    chunk_size: int = 1 << 20) -> int:
    """Stream the signed ``url`` into ``out`` without sending the token; returns bytes written.

    Raises the typed API error for an error status (an expired or tampered link is refused
    by the server) and :class:`ServerUnreachable` when the host does not answer.
    """
    host = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    path = urlsplit(url).path  # the signature lives in the query string: keep it out of messages
    try:
        with t.download_http.get(url, stream=True, timeout=t.timeout,
                                 headers={"Accept": "application/zip"}) as response:
            if not response.ok:
                raise error_for("GET", path, response)
            written = 0
            for chunk in response.iter_content(chunk_size=chunk_size):
                out.write(chunk)
                written += len(chunk)
            return written
    except requests.RequestException as exc:
        raise unreachable(host, exc, t.timeout) from None
