"""A wall-clock end for HTTP calls, however slowly a server sends its bytes: :class:`CutOff`.

``requests``' read timeout restarts with every byte; a :class:`CutOff` block notes the
connections its calls take (through :class:`CutOffAdapter`'s pools) and shuts them at its end,
which wakes a blocked read. :mod:`.transport` mounts the adapter on every session it opens.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.exceptions import ClosedPoolError

__all__ = ["CutOff", "CutOffAdapter", "active_cut_off"]


class CutOff:
    """A wall-clock end for every HTTP call this thread makes inside ``with``.

    ``requests``' read timeout restarts with every byte, so a server sending one byte every
    few seconds (in its headers or its body) holds a call for ever. Inside the block, each
    connection a call takes is noted; at ``at`` (:func:`time.monotonic`) a watcher thread
    shuts those connections, which wakes a blocked read, and the block's later calls fail
    at once. :attr:`fired` tells the caller that this, not the server, ended the call.
    ``at`` None: no end (the block costs nothing).
    """

    def __init__(self, at: float | None) -> None:
        self.at = at
        self.fired = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._watcher: threading.Thread | None = None
        self._outer: CutOff | None = None

    def remaining(self) -> float | None:
        """Seconds left (never below 0); None without an end."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def __enter__(self) -> CutOff:
        self._outer = getattr(_active, "cut_off", None)
        if self._outer is not None and self._outer.at is not None and (
                self.at is None or self._outer.at < self.at):
            self.at = self._outer.at  # a block never outlives the one around it
        _active.cut_off = self
        if self.at is not None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="infinity-cut-off")
            self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _active.cut_off = self._outer
        self._done.set()
        if self._watcher is not None:
            self._watcher.join()

    def attach(self, connection: Any) -> None:
        """Note a connection a call of this block is about to use (the pool calls this)."""
        with self._lock:
            if self.fired:
                raise _CutOffReached(None, "the call's time ran out")  # type: ignore[arg-type]
            self._connections.append(connection)

    def detach(self, connection: Any) -> None:
        """Forget a connection going back to the pool: another call may take it next."""
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)

    def _watch(self) -> None:
        assert self.at is not None
        wait = self.at - time.monotonic()
        # After the end, look again now and then: a connection may still have been opening.
        while not self._done.wait(max(wait, 0.0)):
            with self._lock:
                self.fired = True
                connections = list(self._connections)
            for connection in connections:
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    # socket.socket's own shutdown: an SSLSocket's would drop its TLS state.
                    # OSError: closed already.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
            wait = 0.05


_active = threading.local()


def active_cut_off() -> CutOff | None:
    """The innermost :class:`CutOff` block this thread is in, if any."""
    return getattr(_active, "cut_off", None)


class _CutOffReached(ClosedPoolError):
    """Raised when a call of a :class:`CutOff` block would start after its end: a pool
    error, so urllib3 does not retry it and requests reports a ConnectionError."""


class _Watched:
    """A connection pool whose connections, taken inside a :class:`CutOff`, it can reach."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        cut_off: CutOff | None = getattr(_active, "cut_off", None)
        if cut_off is not None:
            try:
                cut_off.attach(connection)
            except _CutOffReached:
                self._put_conn(connection)
                raise
        return connection

    def _put_conn(self, connection: Any) -> None:
        cut_off: CutOff | None = getattr(_active, "cut_off", None)
        if cut_off is not None and connection is not None:
            cut_off.detach(connection)
        super()._put_conn(connection)  # type: ignore[misc]


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class CutOffAdapter(HTTPAdapter):
    """requests' adapter whose connections a :class:`CutOff` can reach."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        # An HTTP proxy uses the standard pools (a SOCKS proxy its own: left as they are).
        if isinstance(manager, ProxyManager):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager
