"""Fixtures of the reliability suite: a replay upstream with extra hostile faults, the
real local server beside a hub, and resource limits for connection storms."""

from __future__ import annotations

import resource
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.engine.hub import Hub
from tests.replay import ReplayServer

MB = 1024 * 1024


class HostileReplay(ReplayServer):
    """The replay upstream plus two faults :class:`tests.replay.Fault` cannot express.

    - ``stream_huge(path, n)``: ``n`` bytes sent chunked, with no Content-Length, so only
      the streaming size cap can stop them;
    - ``cut_short(path)``: the recorded answer declares its full length, sends half of it
      and closes the connection (a transfer cut mid-body).
    """

    def __init__(self) -> None:
        super().__init__()
        self.hostile: dict[str, tuple[str, int]] = {}
        self.streamed = 0

    def stream_huge(self, path: str, size: int) -> None:
        with self._lock:
            self.hostile[path] = ("stream_huge", size)

    def cut_short(self, path: str) -> None:
        with self._lock:
            self.hostile[path] = ("cut_short", 0)

    def clear_faults(self) -> None:
        super().clear_faults()
        with self._lock:
            self.hostile.clear()

    def _handle(self, h: Any) -> None:
        path = urlsplit(h.path).path
        with self._lock:
            kind = next((v for k, v in self.hostile.items() if path.startswith(k)), None)
        if kind is None:
            super()._handle(h)
            return
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if kind[0] == "stream_huge":
            self._send_chunked(h, kind[1])
        else:
            route = self._find(h.command, path, {}, body)
            payload = route.body if route else b'{"error": "no route"}'
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload[: len(payload) // 2])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True

    def _send_chunked(self, h: Any, size: int) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        piece = b"[" + b"1," * 32767 + b"1"
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        sent = 0
        try:
            while sent < size:
                h.wfile.write(frame)
                sent += len(piece)
                with self._lock:
                    self.streamed += len(piece)
            h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client hung up: what the size cap is for
        h.close_connection = True


@pytest.fixture
def replay() -> Iterator[HostileReplay]:
    """Overrides the shared fixture: ``make_hub`` then points at a :class:`HostileReplay`."""
    with HostileReplay() as srv:
        yield srv


@pytest.fixture
async def local_server() -> AsyncIterator[Callable[..., Any]]:
    """``await local_server(hub)`` -> the real local server (port 0) beside ``hub``."""
    from cryptohub_desktop.server import start_server
    handles: list[Any] = []

    async def factory(hub: Hub, **overrides: Any) -> Any:
        cfg = ServerConfig(host="127.0.0.1", port=0, **overrides)
        handle = await start_server(LocalApi(hub), cfg, hub.secrets)
        handles.append(handle)
        return handle

    yield factory
    for handle in handles:
        await handle.close()


@pytest.fixture
def many_files() -> Iterator[int]:
    """Raise RLIMIT_NOFILE (soft) as far as the hard limit allows for this test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield max(soft, want)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


