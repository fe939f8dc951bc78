"""The time window the listings of batches and of rendered frames take (this module is no
router): ISO 8601 date-times only, UTC when they carry no offset."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

__all__ = ["WindowEnd", "WindowStart", "utc"]


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
