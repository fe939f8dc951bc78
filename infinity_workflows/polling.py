"""Waiting on a condition with a deadline: one rule for every loop of the client that polls.

A wait checks first and sleeps after, so a zero timeout still looks once; it never sleeps
past its deadline, so a long polling interval cannot stretch a short timeout; and it gives
up with an error that says what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .errors import JobTimeout, ValidationError

__all__ = ["Deadline", "check_interval", "poll"]

T = TypeVar("T")


class Deadline:
    """``timeout`` seconds from now (None: never), on the monotonic clock."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._at = None if timeout is None else time.monotonic() + timeout

    def expired(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def sleep(self, interval: float) -> None:
        """Sleep ``interval`` seconds, or less when the deadline comes first."""
        if self._at is not None:
            interval = max(0.0, min(interval, self._at - time.monotonic()))
        time.sleep(interval)


def check_interval(interval: float, name: str = "polling_interval") -> None:
    """A polling interval is a positive number of seconds (0 would spin on the server)."""
    if interval <= 0:
        raise ValidationError(f"{name} must be > 0 seconds")


def poll(predicate: Callable[[], T | None], timeout: float | None, interval: float,
         what: str, *, timed_out: Callable[[], BaseException] | None = None) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something other than
    None (not yet), and return that. After ``timeout`` seconds (None: wait for ever), raise
    what ``timed_out`` builds, else :class:`JobTimeout` naming ``what``. ``predicate`` may
    raise to stop early.
    """
    check_interval(interval)
    deadline = Deadline(timeout)
    while True:
        value = predicate()
        if value is not None:
            return value
        if deadline.expired():
            raise (timed_out() if timed_out is not None
                   else JobTimeout(f"{what}: not done after {timeout:g} s"))
        deadline.sleep(interval)
