"""No secret in a log line: signed links' query strings, tokens and cookies are redacted.

uvicorn's access log prints each request line, and a result link's query string carries the
signature that *is* the credential for that download. :class:`RedactSecrets` rewrites every
record passing through the handlers it is installed on, whatever logger made it.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecrets", "install_redaction", "redact"]

REDACTED = "<redacted>"
# Query parameters that are credentials, in a URL or a request line.
_SECRET_QUERY = re.compile(r"(?i)\b(signature|token|sig|key|password|session)=[^&\s\"'#]+")
# "Authorization: Token abc", "Token abc", "Bearer abc", cookies of the portal.
_AUTH_VALUE = re.compile(r"(?i)\b(token|bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_COOKIE = re.compile(r"(?i)\b(infinity_portal_\w+)=[^;\s\"']+")


def redact(text: str) -> str:
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
