"""What the API's routers share (this module is no router): JSON answers, the error answers
every route documents, a refusal for ids a token does not own, and the time-window query."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from ..http_errors import ErrorBody, RequestRefused

__all__ = ["ERRORS", "ERRORS_404", "WindowEnd", "WindowStart", "json_answer", "json_text_answer",
           "not_found", "utc"]

# The error answers every authenticated API route may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request broke a rule; `errors` names which."},
    401: {"model": ErrorBody, "description": "Missing or unknown token."},
    413: {"model": ErrorBody, "description": "The body is larger than the server accepts."},
}
ERRORS_404 = {**ERRORS, 404: {"model": ErrorBody, "description": "No such id for this token."}}


def json_answer(data: Any, status: int = 200) -> Response:
    """``data`` as strict JSON (no NaN), skipping FastAPI's re-validation of what we built."""
    return Response(json.dumps(data, allow_nan=False), status_code=status,
                    media_type="application/json")


def json_text_answer(text: str, status: int = 200) -> Response:
    """JSON already encoded (see job_json), sent as it is."""
    return Response(text, status_code=status, media_type="application/json")


def not_found(kind: str, ident: str) -> RequestRefused:
    """The same 404 for an id that does not exist and one another token owns."""
    return RequestRefused(404, f"no {kind} with id {ident} for this token; check the id (it "
                          "must be one of your own)")


def _iso_time(value: Any) -> Any:
    """Accept only ISO 8601 date-times, as the OpenAPI document says (pydantic alone would
    also take a bare number as Unix time)."""
    if not isinstance(value, str):
        return value
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    if len(text) < 11 or text[10] not in "Tt ":
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-11-25T08:00:00+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 date and time, e.g. "
                         "2026-11-25T08:00:00+00:00") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # times without an offset are UTC
    try:
        # 0001-01-01T00:00+14:00 is in year 0 in UTC: outside what a datetime can hold.
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("this time is outside years 1 to 9999 once converted to UTC; send "
                         "a time inside that range") from None


WindowStart = Annotated[datetime | None, BeforeValidator(_iso_time), Query(
    description="ISO 8601 with offset (UTC when none), inclusive; default: no lower bound")]
WindowEnd = Annotated[datetime | None, BeforeValidator(_iso_time), Query(
    description="ISO 8601 with offset (UTC when none), inclusive; default: now")]


def utc(moment: datetime | None) -> datetime | None:
    """Times without an offset are taken as UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
