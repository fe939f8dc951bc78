"""A hostile result server on loopback, and the archives such a server sends.

:class:`HostileResults` answers each result path with one misbehaviour (a zip bomb, a body
that never ends, a trickle of bytes, headers that never finish, a ``Retry-After`` of an
hour) and counts what it sent; the archives are crafted byte by byte, as an attacker would,
so a bomb of 1 GiB costs one CRC pass over its zeros (about a second), not deflating them.
"""

from __future__ import annotations

import contextlib
import functools
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HostileResults", "big_bodies", "craft_zip", "endless", "many_entries", "serve_bytes",
           "trickle", "trickle_headers", "zip_bomb"]

_MIB = 1 << 20


def _zeros_deflated(size: int) -> tuple[bytes, int]:
    """Raw deflate of ``size`` zero bytes, and its CRC-32, without deflating ``size``
    bytes: after a full flush the compressor forgets its past, so one MiB's output repeats."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    whole, rest = divmod(size, _MIB)
    first = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts = [first] + [again] * (whole - 1) if whole else []
    parts.append(compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FINISH))
    crc = 0
    zeros = bytes(_MIB)
    for _ in range(whole):  # a true CRC, so an unguarded client extracts it all
        crc = zlib.crc32(zeros, crc)
    return b"".join(parts), zlib.crc32(bytes(rest), crc)


def craft_zip(entries: Iterable[tuple[str, bytes, int, int, int]],
              claimed: int | None = None) -> bytes:
    """A zip of ``(name, data as stored, size once extracted, crc32, method)`` entries,
    written field by field (zip64 end records when there are more than 65,535); its end
    records say it holds ``claimed`` entries when that is given (a lie)."""
    out = bytearray()
    central = bytearray()
    count = 0
    for name, data, size, crc, method in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc,
                           len(data), size, len(raw), 0) + raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21,
                               crc, len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
        count += 1
    start = len(out)
    out += central
    zip64 = count > 0xFFFF
    count = count if claimed is None else claimed
    if zip64:
        end64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                           len(central), start)
        out += struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
        count = 0xFFFF
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0)
    return bytes(out)


@functools.lru_cache(maxsize=8)
def zip_bomb(root: str, size: int = 1 << 30, members: int = 1) -> bytes:
    """``members`` entries under ``root/`` each expanding to ``size`` zero bytes."""
    data, crc = _zeros_deflated(size)
    return craft_zip((f"{root}/bomb-{i}.bin", data, size, crc, 8) for i in range(members))


def many_entries(root: str, count: int, claimed: int | None = None) -> bytes:
    """``count`` empty files under ``root/`` (the end records claiming ``claimed``)."""
    empty = zlib.crc32(b"")
    return craft_zip(((f"{root}/{i}.txt", b"", 0, empty, 0) for i in range(count)), claimed)


# An answer: writes to the handler, says how many body bytes it sent with ``note``, and
# ends early when ``stop`` is set (the server is stopping).
Behaviour = Callable[[BaseHTTPRequestHandler, threading.Event, Callable[[int], None]], None]


def serve_bytes(data: bytes, headers: dict[str, str] | None = None,
                status: int = 200) -> Behaviour:
    """A plain answer: ``data`` with its Content-Length (and ``headers``)."""
    def answer(h: BaseHTTPRequestHandler, stop: threading.Event,
               note: Callable[[int], None]) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/zip")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)
        note(len(data))
    return answer


def endless(chunk: int = 256 * 1024) -> Behaviour:
    """A body without Content-Length that never ends (until the client hangs up)."""
    def answer(h: BaseHTTPRequestHandler, stop: threading.Event,
               note: Callable[[int], None]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/zip")
        h.send_header("Connection", "close")
        h.end_headers()
        block = b"PK" + bytes(chunk - 2)
        while not stop.is_set():
            h.wfile.write(block)
            note(len(block))
    return answer


def trickle(every: float, declared: int = 10_000) -> Behaviour:
    """Headers at once, then one byte of the body every ``every`` seconds."""
    def answer(h: BaseHTTPRequestHandler, stop: threading.Event,
               note: Callable[[int], None]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/zip")
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        sent = 0
        while sent < declared and not stop.wait(every if sent else 0):
            h.wfile.write(b"P")
            h.wfile.flush()
            note(1)
            sent += 1
    return answer


def trickle_headers(every: float) -> Behaviour:
    """A status line and headers that arrive one byte every ``every`` seconds, for ever."""
    def answer(h: BaseHTTPRequestHandler, stop: threading.Event,
               note: Callable[[int], None]) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nX-Padding: "
        sent = 0
        while not stop.wait(every if sent else 0):
            h.wfile.write(head[sent:sent + 1] if sent < len(head) else b"a")
            h.wfile.flush()
            sent += 1
    return answer


@dataclass
class HostileResults:
    """A loopback HTTP server answering each path with its ``Behaviour``; ``sent`` counts
    the body bytes each path's answers wrote before they ended or the client hung up."""

    routes: dict[str, Behaviour] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path.lstrip('/')}"

    def start(self) -> HostileResults:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                path = self.path.split("?")[0]
                owner.requests.append(path)
                behaviour = owner.routes.get(path)
                if behaviour is None:
                    self.send_error(404)
                    return
                def note(count: int) -> None:
                    owner.sent[path] = owner.sent.get(path, 0) + count

                # BrokenPipe, ConnectionReset: the client hung up, as it should.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    behaviour(self, owner.stop_event, note)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def big_bodies(size: int) -> dict[str, bytes]:
    """Batch bodies of about ``size`` bytes that stress a server's parsing differently: JSON
    whitespace, one long string, a million tiny jobs, a parameter holding millions of zeros."""
    return {
        "padding": b'{"name": "x", "job_runs": [' + b" " * (size - 40) + b"]}",
        "one long string": b'{"name": "' + b"x" * (size - 40) + b'", "job_runs": []}',
        "a million jobs": b'{"name": "x", "job_runs": ['
                          + b",".join([b'{"name":"tiny-v1"}'] * (size // 19)) + b"]}",
        "a list of zeros": b'{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": '
                           b'{"frames": [' + b",".join([b"0"] * (size // 2)) + b"]}}]}",
    }
