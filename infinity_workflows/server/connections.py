"""Connections that cannot hold the server: a request must arrive whole within a deadline.

uvicorn closes a connection idle *between* requests (``timeout_keep_alive``), but not one
that is slow *within* a request: a client that sends half its headers, or promises a body
and trickles it, keeps its connection (and a file descriptor, and for a body the memory
read so far) for as long as it likes, and 1,500 such clients kept 1,500 connections open.
Here a connection has :attr:`request_timeout` seconds from its opening (or from its last
answer) to deliver a complete request, headers and body; the clock stops while the server
works on a request it has whole (an answer may take long to stream) and starts afresh after
each answer. A connection that misses the deadline is answered 408 if a route is waiting
for its body, and closed.

:func:`guarded_protocol` returns the uvicorn protocol class ``serve`` runs with: the
httptools parser when installed (uvicorn's own choice), else h11.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

__all__ = ["guarded_protocol"]

_TIMEOUT_BODY = json.dumps({"detail": "the request did not arrive in time; send it whole "
                                      "(headers and body) without pausing",
                            "errors": [{"job_index": None, "param": None,
                                        "rule": "request_timeout",
                                        "message": "request not complete in time"}]}).encode()
_TIMEOUT_ANSWER = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                   b"connection: close\r\ncontent-length: " + str(len(_TIMEOUT_BODY)).encode()
                   + b"\r\n\r\n" + _TIMEOUT_BODY)


class _RequestDeadline:
    """Mixed into a uvicorn HTTP protocol class (which provides ``loop``, ``transport`` and
    ``cycle``, and calls the four hooks below)."""

    request_timeout: float = 60.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _deadline: asyncio.TimerHandle | None = None
    _busy = False

    def _working(self) -> bool:
        """The request is whole and its answer is not finished: the server's turn."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete and not cycle.more_body

    def _update(self) -> None:
        busy = self._working()
        if busy:
            self._disarm()
        elif self._busy or self._deadline is None:
            # Waiting for a request (or the rest of one): the clock starts now, and is not
            # restarted by bytes trickling in.
            self._disarm()
            if not self.transport.is_closing():
                self._deadline = self.loop.call_later(self.request_timeout, self._expire)
        self._busy = busy

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._working():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and not cycle.response_complete:
            # A route waits for the body: say why the request ends; it then sees a
            # disconnect and stops.
            cycle.response_started = cycle.response_complete = True
            self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()

    # -- the protocol's hooks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._update()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self.transport is not None and not self.transport.is_closing():
            self._update()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._busy = True  # an answer ended: the wait for the next request starts afresh
        self._update()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


def guarded_protocol(request_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with :class:`_RequestDeadline` at ``request_timeout``."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # httptools is not installed: uvicorn's pure-Python parser
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]

    return type("GuardedHTTPProtocol", (_RequestDeadline, Base),
                {"request_timeout": float(request_timeout)})
