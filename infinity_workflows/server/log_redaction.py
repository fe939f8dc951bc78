"""No secret in a log line: signed links' query strings, tokens and cookies are redacted.

uvicorn's access log prints each request line, and a result link's query string carries the
signature that *is* the credential for that download. :class:`RedactSecrets` rewrites every
record passing through the handlers it is installed on, whatever logger made it.

A query string is judged as the server reads it, decoded: ``%73ignature=``, ``SIGNATURE=``,
``sig+nature=`` or a doubly encoded name are the same parameter to anyone who decodes the
line (and the first two are to the server, which accepts such a link, as URLs allow). A
query holding a secret is logged decoded, with every secret's value replaced.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote_plus

__all__ = ["RedactSecrets", "install_redaction", "redact"]

REDACTED = "<redacted>"
# Parameter names, lower-cased with everything but letters and digits dropped, that hold a
# credential: exactly these, or containing one of the longer words.
_SECRET_NAMES = frozenset({"sig", "key", "pass", "pwd", "auth"})
_SECRET_WORDS = ("signature", "token", "password", "secret", "session", "apikey",
                 "accesskey", "credential", "authorization")
# Query parameters that are credentials, in a URL or a request line.
_SECRET_QUERY = re.compile(r"(?i)\b(signature|token|sig|key|password|session)=[^&\s\"'#]+")
_QUERY = re.compile(r"\?([^\s\"'#<>]+)")
_PAIR = re.compile(r"([^&;=]*)=([^&;]*)")
# What a redacted query shows as it is (the rest, spaces and control characters among it,
# percent-encoded).
_KEEP = "&=;/:,@!$()*+-._~<>"
# Layers of percent-encoding undone before a name is judged (a+b -> %2561 -> %61 -> a).
_DECODE_ROUNDS = 4


def _decoded(text: str) -> str:
    for _ in range(_DECODE_ROUNDS):
        plain = unquote_plus(text)
        if plain == text:
            break
        text = plain
    return text


def _is_secret(name: str) -> bool:
    squashed = "".join(c for c in name.lower() if c.isalnum())
    return squashed in _SECRET_NAMES or any(w in squashed for w in _SECRET_WORDS)


def _redact_query(match: re.Match[str]) -> str:
    """One query string: decoded and its secrets' values replaced, if it holds any."""
    plain = _decoded(match.group(1))
    found = False

    def pair(m: re.Match[str]) -> str:
        nonlocal found
        if _is_secret(m.group(1)):
            found = True
            return f"{m.group(1)}={REDACTED}"
        return m.group(0)

    cleaned = _PAIR.sub(pair, plain)
    # Encoded again where needed: a decoded newline must not start a forged log line.
    return f"?{quote(cleaned, safe=_KEEP)}" if found else match.group(0)

# "Authorization: Token abc", "Token abc", "Bearer abc", cookies of the portal.
_AUTH_VALUE = re.compile(r"(?i)\b(token|bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_COOKIE = re.compile(r"(?i)\b(infinity_portal_\w+)=[^;\s\"']+")


def redact(text: str) -> str:
    text = _QUERY.sub(_redact_query, text)
    text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _COOKIE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


class RedactSecrets(logging.Filter):
    """A handler filter: the record's final text, redacted (arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record still gets logged, redacted
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put :class:`RedactSecrets` on every handler of ``logger`` (default: the root), where
    records of every logger end up."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
