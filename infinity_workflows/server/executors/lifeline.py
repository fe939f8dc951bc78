"""Worker processes that end with the server, however the server ends (``kill -9`` too).

The local pool's workers are forked by multiprocessing's forkserver, not by the server, and
each worker holds the forkserver's "alive" pipe open: so neither notices when the server
dies, and worker, forkserver and resource tracker could outlive it for good. Here every
process of the pool watches the *server* itself:

* on Linux, the kernel kills each one when its parent dies (``PR_SET_PDEATHSIG``): the
  forkserver (a child of the server's main thread) with the server, each worker with the
  forkserver; no Python thread needs the GIL for this, so a worker deep in native code
  dies too;
* everywhere, each worker also runs a thread that waits on the server's process (a pidfd
  where there is one, else a poll) and exits once it is gone.

The resource tracker then sees its pipe closed by everyone and exits on its own.

The forkserver imports this module as a preload (see ``local._mp_context``): importing it in
a process whose parent is the server named in :data:`SERVER_ENV` binds that process to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time

__all__ = ["SERVER_ENV", "bind_to_parent", "mark_server", "server_identity", "watch_server"]

SERVER_ENV = "INFINITY_WORKFLOWS_SERVER_PROCESS"
"""``<pid>:<start time>`` of the server, set by the server before its pool starts and
inherited by the forkserver."""

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_S = 0.5
"""How often a worker without a pidfd looks whether the server is still there."""


def _start_ticks(pid: int) -> str:
    """When ``pid`` started (clock ticks since boot, from /proc), or '' if unknown: with the
    pid it names one process, never a later one that reuses the number."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name (field 2) may hold spaces and parentheses: split after it.
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return ""


def server_identity() -> tuple[int, str]:
    """This process as :func:`watch_server` will recognise it."""
    return os.getpid(), _start_ticks(os.getpid())


def mark_server() -> None:
    """Name this process as the server its pool's processes live and die with."""
    pid, ticks = server_identity()
    os.environ[SERVER_ENV] = f"{pid}:{ticks}"


def _alive(pid: int, ticks: str) -> bool:
    if ticks:
        return _start_ticks(pid) == ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def bind_to_parent(parent: int) -> bool:
    """Ask the kernel to kill this process when its parent ``parent`` dies (Linux); exit now
    if it is already gone. False where the kernel offers no such thing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    # The parent may have died before the request was made: then nothing will fire.
    if os.getppid() != parent:
        os._exit(0)
    return True


def _wait_for_exit(pid: int, ticks: str) -> None:
    """Return once the process ``pid`` (started at ``ticks``) has ended."""
    fd = None
    with contextlib.suppress(AttributeError, OSError):
        fd = os.pidfd_open(pid)
    try:
        if not _alive(pid, ticks):  # gone already (or the number now names another process)
            return
        if fd is not None:
            while True:  # a pidfd becomes readable when its process exits
                ready, _, _ = select.select([fd], [], [])
                if ready:
                    return
        while _alive(pid, ticks):
            time.sleep(POLL_S)
    finally:
        if fd is not None:
            os.close(fd)


def watch_server(pid: int, ticks: str) -> None:
    """Exit this process (at once, running nothing more) when the server ends."""
    def watch() -> None:
        _wait_for_exit(pid, ticks)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-server").start()


def _bind_forkserver() -> None:
    """In the forkserver (a direct child of the server): die with the server."""
    pid_text, _, _ticks = os.environ.get(SERVER_ENV, "").partition(":")
    try:
        server = int(pid_text)
    except ValueError:
        return
    if os.getpid() != server and os.getppid() == server:
        bind_to_parent(server)


_bind_forkserver()
