"""The server's limits under attack (a script, not a test): what a large authenticated body
costs in memory, how long slow connections stay open, and how long the worker processes
outlive a server killed with ``kill -9``.

Starts its own servers (tiny test generator, temporary homes). Linux only (reads /proc).

Run: ``.venv/bin/python benchmarks/bench_server_limits.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)
from tests.support.hostile import big_bodies  # noqa: E402
from tests.support.jobs import submit, summary  # noqa: E402

__all__ = ["main"]

MIB = 1024 * 1024


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    raise RuntimeError(f"no {key}")


def _session(sid: int) -> set[int]:
    """Live processes of session ``sid`` (the server starts one of its own)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] != b"Z":
                found.add(int(entry.name))
    return found


def body_memory(base: Path) -> None:
    """31 MiB bodies from a known token: peak and settled memory of the server."""
    srv = LiveServer.launch(base, "--workers", "1", "--log-level", "warning")
    size = 31 * MIB
    bodies = big_bodies(size)
    pid = srv.proc.pid
    headers = {**srv.headers(), "Content-Type": "application/json"}
    print(f"a 31 MiB authenticated body (server at {_status_kb(pid, 'VmRSS:') // 1024} MB):")
    try:
        srv.get("api/jobs/")
        for name, body in bodies.items():
            time.sleep(1)
            settled = _status_kb(pid, "VmRSS:")
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak from here
            started = time.perf_counter()
            answer = requests.post(srv.url + "api/batch/", data=body, headers=headers,
                                   timeout=300)
            took = time.perf_counter() - started
            peak = _status_kb(pid, "VmHWM:") - settled
            time.sleep(1)
            after = _status_kb(pid, "VmRSS:") - settled
            print(f"  {name:28s} {answer.status_code} in {took:5.2f} s; peak +{peak / 1024:4.0f}"
                  f" MB ({peak / (len(body) / 1024):.1f}x the body), a second later "
                  f"{after / 1024:+4.0f} MB")
    finally:
        srv.stop()


def slow_connections(base: Path, count: int, timeout_s: float) -> None:
    """``count`` connections that never finish their request: when are they closed?"""
    srv = LiveServer.launch(base, "--workers", "1", "--log-level", "warning",
                            "--request-timeout", str(timeout_s), "--max-connections",
                            str(count * 2))
    pid = srv.proc.pid
    fds_before = len(os.listdir(f"/proc/{pid}/fd"))
    host = f"Host: 127.0.0.1:{srv.port}\r\n"
    starts = [f"GET /api/jobs/ HTTP/1.1\r\n{host}X-Slow: ",
              f"POST /portal/login/ HTTP/1.1\r\n{host}Content-Length: 1000\r\n\r\ntoken=",
              f"POST /api/batch/ HTTP/1.1\r\n{host}Authorization: Token {srv.token}\r\n"
              "Content-Length: 100000\r\n\r\n{"]
    selector = selectors.DefaultSelector()
    sockets = []
    try:
        started = time.perf_counter()
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            sock.sendall(starts[i % 3].encode())
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            sockets.append(sock)
        opened = time.perf_counter() - started
        fds_open = len(os.listdir(f"/proc/{pid}/fd"))
        answer_s = _timed_get(srv)
        closed_at: list[float] = []
        while len(closed_at) < count and time.perf_counter() - started < 120:
            for key, _ in selector.select(timeout=1):
                try:
                    data = key.fileobj.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed_at.append(time.perf_counter() - started)
                    selector.unregister(key.fileobj)
        fds_after = len(os.listdir(f"/proc/{pid}/fd"))
    finally:
        for sock in sockets:
            sock.close()
        srv.stop()
    print(f"{count} connections that never finish a request (--request-timeout "
          f"{timeout_s:g}), opened in {opened:.1f} s:")
    print(f"  server descriptors: {fds_before} before, {fds_open} with them open, "
          f"{fds_after} after; another client's GET meanwhile took {answer_s * 1000:.0f} ms")
    if closed_at:
        print(f"  closed by the server: {len(closed_at)} of {count}, the last "
              f"{max(closed_at):.1f} s after the first opened (median "
              f"{statistics.median(closed_at):.1f} s)")


def _timed_get(srv: LiveServer) -> float:
    started = time.perf_counter()
    srv.get("api/jobs/")
    return time.perf_counter() - started


def children_after_kill(base: Path, rounds: int) -> None:
    """Seconds from ``kill -9`` of the server to the last of its processes ending."""
    times = []
    for n in range(rounds):
        srv = LiveServer.launch(base / f"kill-{n}", "--workers", "2", "--log-level", "warning")
        sid = srv.proc.pid
        try:
            batch = submit(srv, [{"sleep_s": 60}] * 3)
            while (sum(r["status"] == "running" for r in summary(srv, batch["id"])) < 2
                   or len(_session(sid)) < 5):
                time.sleep(0.05)
            processes = len(_session(sid))
            os.kill(sid, signal.SIGKILL)
            srv.proc.wait(timeout=30)
            started = time.perf_counter()
            while _session(sid) and time.perf_counter() - started < 60:
                time.sleep(0.01)
            times.append(time.perf_counter() - started)
            left = len(_session(sid))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sid, signal.SIGKILL)
        print(f"  round {n + 1}: {processes} processes (server, tracker, forkserver, workers),"
              f" {left} left; the last gone {times[-1] * 1000:.0f} ms after the kill")
    print(f"  median {statistics.median(times) * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1500)
    parser.add_argument("--request-timeout", type=float, default=5.0)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        body_memory(Path(tmp) / "memory")
        slow_connections(Path(tmp) / "slow", args.connections, args.request_timeout)
        print("the server killed with kill -9 while both workers run a job:")
        children_after_kill(Path(tmp), args.kills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
