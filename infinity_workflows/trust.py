"""The client's trust boundary: values a server sends are checked here before they become
paths or folder names.

A server (or a record naming one) is not trusted to keep its ids tidy: a job id such as
``../../victim`` or ``/home/me/.ssh/id`` would otherwise become ``<download>/<id>.zip``,
opened for writing and then deleted. Every id that reaches a path goes through
:func:`checked_id`, and every free-text name that reaches a folder name goes through
:func:`folder_name`, so there is one rule, not one per caller. An id a user types is read by
:func:`parse_uuid`, which keeps the two directions apart: the user's mistake is a
:class:`ValidationError`, the server's a :class:`ProtocolError`.

Notebook parameters are written into a code cell by papermill, which escapes strings but
quotes anything it does not know (a tuple, a set) as ``"<str(value)>"`` with no escaping:
``('"+__import__("os").system("...")+"',)`` becomes code. Only JSON-like values (None,
bool, int, finite float, str, lists and dicts of them with string keys) pass
:func:`notebook_value`, and papermill writes each of those as the same value.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from .errors import ProtocolError, ValidationError

__all__ = ["check_notebook_parameters", "checked_id", "folder_name", "notebook_value",
           "parse_uuid"]

# The API's ids are UUIDs: hex digits and dashes only, so one is always one safe path part.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME_CHARS = 100
# Windows' device names: a file or folder so named (any case, with any extension, trailing
# spaces before the dot ignored) opens the device instead. Superscript digits count too.
_DEVICE_NAME = re.compile(r"(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|CLOCK\$|COM[0-9\u00b9\u00b2\u00b3]"
                          r"|LPT[0-9\u00b9\u00b2\u00b3])", re.IGNORECASE)


def checked_id(value: Any, what: str, server: str = "the server") -> str:
    """``value`` when it is a UUID (the only form an id may take before it names a file),
    else :class:`ProtocolError` saying which value was refused; nothing is written."""
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise ProtocolError(
        f"{server} sent {what} {shown}, which is not a UUID; refused before it became a file "
        "or folder name, and nothing was written. Is this server really an Infinity API "
        "server?")


def parse_uuid(value: Any, what: str, *, sent_by: str | None = None) -> str:
    """The id ``value`` (``what`` names it, e.g. ``"batch id"``), one rule per direction.

    A value a user gave (``sent_by`` None) may take any form :class:`uuid.UUID` reads (any
    case, braces, ``urn:uuid:``) and comes back in canonical form; anything else is a
    :class:`ValidationError`. A value the server ``sent_by`` sent must already be a UUID and
    comes back as it was (:func:`checked_id`); anything else is a :class:`ProtocolError`.
    """
    if sent_by is not None:
        return checked_id(value, f"a {what}", sent_by)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationError(f"{what} {value!r} is not a UUID") from None


def folder_name(text: Any, fallback: str = "unnamed") -> str:
    """``text`` as one folder name that is safe on any file system: only letters, digits,
    ``._ -``; never ``.``/``..``, hidden, ending in a dot or space, or a Windows device name
    (``CON``, ``nul.txt``, ``COM1``: those get a leading ``_``); at most 100 characters."""
    def tidy(name: str) -> str:
        return name.strip(" .")[:MAX_NAME_CHARS].strip(" .")

    name = tidy(_UNSAFE_IN_NAME.sub("_", str(text or "")))
    if _DEVICE_NAME.fullmatch(name.split(".")[0].rstrip(" ")):
        name = tidy("_" + name)
    return name or fallback


def notebook_value(name: str, value: Any) -> Any:
    """``value`` when it is JSON-like, else :class:`ValidationError` naming ``name``."""
    def bad(part: Any) -> ValidationError:
        return ValidationError(
            f"parameter {name}: {type(part).__name__} value {part!r:.60} is not allowed; a "
            "notebook parameter is a string, number, True/False/None, or a list or dict of "
            "those (quote it to pass it as text)")

    def walk(part: Any) -> None:
        if part is None or isinstance(part, (bool, int, str)):
            return
        if isinstance(part, float):
            if not math.isfinite(part):
                raise bad(part)
        elif isinstance(part, list):
            for item in part:
                walk(item)
        elif isinstance(part, dict):
            for key, item in part.items():
                if not isinstance(key, str):
                    raise bad(key)
                walk(item)
        else:
            raise bad(part)

    walk(value)
    return value


def check_notebook_parameters(parameters: Mapping[str, Any]) -> None:
    """Every value :func:`notebook_value` allows, and every name a Python identifier."""
    for name, value in parameters.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValidationError(f"{name!r} is not a parameter name (a Python identifier)")
        notebook_value(name, value)
