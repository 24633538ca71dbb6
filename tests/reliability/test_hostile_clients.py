"""Hostile local clients against the real server (SPEC sections 7 to 9).

Each test attacks a running server beside a started hub, then proves it still serves:
``/health`` answers quickly and a well-behaved client subscribed to market_data
receives the next update. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.server import start_server
from tests.asyncapi_check import check_message, market_update
from tests.conftest import SLOW

WAIT = 5.0 * SLOW


class Watcher:
    """A well-behaved client: subscribed to market_data, collecting updates."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.updates: asyncio.Queue[dict] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = check_message(raw)
            if msg.get("type") == "update":
                await self.updates.put(msg)

    async def close(self) -> None:
        self._task.cancel()
        await self.ws.close()


@pytest.fixture
async def served(make_hub, local_server, many_files) -> AsyncIterator[tuple]:
    """(hub, server handle, watcher) with one good coingecko run stored."""
    hub = await make_hub([coingecko.PROVIDER])
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    server = await local_server(hub)
    ws = await connect(f"ws://127.0.0.1:{server.port}/ws/master", compression=None)
    await ws.send(json.dumps({"action": "subscribe", "service": "market_data"}))
    assert check_message(await ws.recv())["type"] == "subscribed"
    assert check_message(await ws.recv())["type"] == "snapshot"
    watcher = Watcher(ws)
    yield hub, server, watcher
    await watcher.close()


# connects in flight at once: asyncio's default listen backlog is 100; bigger bursts
# overflow it and wait out a 1 s SYN retransmit (see docs/RELIABILITY.md)
BATCH = 100
_probe = iter(range(1, 1_000_000))


async def still_serving(hub, server, watcher: Watcher) -> None:
    """/health answers within a second and the watcher gets the next update."""
    t0 = time.perf_counter()
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{server.port}/health", timeout=WAIT)
    assert answer.status_code == 200 and answer.json()["status"] == "healthy"
    assert time.perf_counter() - t0 < 1.0 * SLOW
    n = next(_probe)
    hub.bus.publish("market_data", market_update(probe=n))
    while True:
        msg = await asyncio.wait_for(watcher.updates.get(), WAIT)
        if msg["data"].get("probe") == n:
            return


# --- raw sockets ------------------------------------------------------------------------
async def raw_open(port: int, path: str = "/ws/master", upgrade: bool = True,
                   sock: socket.socket | None = None
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection (or ``sock``); with ``upgrade`` the WebSocket handshake by hand."""
    if sock is not None:
        reader, writer = await asyncio.open_connection(sock=sock)
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if upgrade:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = True,
          length: int | None = None) -> bytes:
    """One WebSocket frame, possibly broken on purpose."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def close_code(reader: asyncio.StreamReader) -> int | None:
    """The code of the server's close frame (None if it just hung up)."""
    try:
        data = await asyncio.wait_for(reader.read(65536), WAIT)
        while data and data[0] & 0x0F != 0x8:  # skip any data frames before the close
            more = await asyncio.wait_for(reader.read(65536), WAIT)
            if not more:
                return None
            data += more
            data = data[2 + (data[1] & 0x7F):] if data[0] & 0x0F != 0x8 else data
        if len(data) >= 4:
            return struct.unpack("!H", data[2:4])[0]
        return None
    except (ConnectionError, asyncio.IncompleteReadError):
        return None


MALFORMED = {
    "unmasked_client_frame": (frame(0x1, b'{"action":"ping"}', mask=False), {1002}),
    "reserved_bits_set": (frame(0x1, b"{}", rsv=0b100), {1002}),
    "unknown_opcode": (frame(0x3, b"??"), {1002}),
    "fragmented_ping": (frame(0x9, b"x", fin=False), {1002}),
    "invalid_utf8_text": (frame(0x1, b"\xff\xfe\xfd"), {1007}),
    "bad_close_payload": (frame(0x8, b"\x03"), {1002}),
    "length_2_to_63": (frame(0x1, b"", length=(1 << 63) - 1), {1009}),
    "continuation_without_start": (frame(0x0, b"tail"), {1002}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_frame_closes_only_that_connection(served, name):
    """A protocol violation closes that socket with the right code; everyone else is served."""
    hub, server, watcher = served
    reader, writer = await raw_open(server.port)
    data, codes = MALFORMED[name]
    writer.write(data)
    await writer.drain()
    code = await close_code(reader)
    assert code in codes, code
    writer.close()
    await still_serving(hub, server, watcher)


async def test_bad_messages_get_errors_and_the_socket_stays_usable(served):
    """Not JSON, wrong shapes, unknown actions/services, binary, oversized: error replies only."""
    hub, server, watcher = served
    bad = [("not json {", "invalid_json"), ("[1, 2, 3]", "invalid_message"),
           ('{"action": 5}', "invalid_message"), ('{"action": "explode"}', "unknown_action"),
           ('{"action": "subscribe", "service": "../../etc"}', "unknown_service"),
           ('{"action": "subscribe", "service": {"$gt": ""}}', "unknown_service"),
           ("\u0000" * 10, "invalid_json"), ('"just a string"', "invalid_message"),
           ("x" * 200_000, "message_too_large"), (b"\x00\x01binary", "invalid_message"),
           ("[" * 50_000 + "]" * 50_000, None)]  # deep nesting: any error, no crash
    async with connect(f"ws://127.0.0.1:{server.port}/ws/master", compression=None) as ws:
        for text, code in bad:
            await ws.send(text)
            reply = check_message(await asyncio.wait_for(ws.recv(), WAIT))
            assert reply["type"] == "error", reply
            if code:
                assert reply["error"] == code, (text[:40], reply)
        await ws.send(json.dumps({"action": "ping"}))
        assert check_message(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "pong"
    await still_serving(hub, server, watcher)


async def test_frame_over_the_size_limit_is_closed_with_1009(served):
    """A 2 MiB message closes that connection with 1009 (too big) and nothing else."""
    hub, server, watcher = served
    async with connect(f"ws://127.0.0.1:{server.port}/ws/master", compression=None) as ws:
        await ws.send("y" * (2 << 20))
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    await still_serving(hub, server, watcher)


async def test_subscribe_flood_is_throttled_then_cut(served):
    """5,000 subscribes in a burst: rate_limited errors, then close 1008; others unaffected."""
    hub, server, watcher = served
    got: list[dict] = []
    ws = await connect(f"ws://127.0.0.1:{server.port}/ws/master", compression=None)
    msg = json.dumps({"action": "subscribe", "service": "all"})
    code = None
    try:
        for _ in range(5000):
            await ws.send(msg)
        while True:
            got.append(check_message(await asyncio.wait_for(ws.recv(), WAIT)))
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
    finally:
        await ws.close()
    assert code == 1008
    assert any(m.get("error") == "rate_limited" for m in got)
    subscribed = sum(1 for m in got if m.get("type") == "subscribed")
    assert subscribed <= 100, f"{subscribed} subscribes were served during the flood"
    assert server.fanout.stats["dropped_abuse"] >= 1
    await still_serving(hub, server, watcher)


async def test_two_thousand_connections_opened_and_dropped(served):
    """2,000 connects dropped at once (half after the handshake): nothing leaks, all serve."""
    hub, server, watcher = served

    async def one(i: int) -> None:
        if i % 2:
            _, writer = await raw_open(server.port)
            writer.transport.abort()  # RST, no close frame
        else:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.close()

    for start in range(0, 2000, BATCH):
        await asyncio.gather(*(one(i) for i in range(start, start + BATCH)))
    deadline = time.monotonic() + WAIT
    while len(server.fanout.clients) > 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(server.fanout.clients) == 1 and hub.server_clients() == 1
    await still_serving(hub, server, watcher)


async def test_half_open_handshakes_do_not_block_the_server(served):
    """300 connections stuck mid-handshake (slowloris) leave REST and WebSocket responsive."""
    hub, server, watcher = served
    writers = []
    for _ in range(300):
        _, w = await asyncio.open_connection("127.0.0.1", server.port)
        w.write(b"GET /ws/master HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        writers.append(w)
    await still_serving(hub, server, watcher)
    for w in writers:
        w.close()


async def test_slow_reader_is_dropped_and_others_keep_up(make_hub, many_files):
    """A subscriber that never reads is cut with 1013; a reading one gets every update."""
    hub = await make_hub([coingecko.PROVIDER])
    server = await start_server(LocalApi(hub), ServerConfig(host="127.0.0.1", port=0), hub.secrets,
                                max_client_buffer=256 * 1024, drop_grace=1.0)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: tiny window
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    reader, writer = await raw_open(server.port, sock=sock)
    try:
        writer.write(frame(0x1, b'{"action": "subscribe", "service": "market_data"}'))
        async with connect(f"ws://127.0.0.1:{server.port}/ws/market-data",
                           compression=None) as good:
            assert check_message(await good.recv())["type"] == "subscribed"
            assert check_message(await good.recv())["type"] == "snapshot"
            deadline = time.monotonic() + WAIT
            while len(server.fanout.subs["market_data"]) < 2:  # the raw one's subscribe
                assert time.monotonic() < deadline, "the raw client never subscribed"
                await asyncio.sleep(0.01)
            seen: list[int] = []

            async def read_all() -> None:
                while True:
                    msg = check_message(await good.recv())
                    if msg["type"] == "update":
                        seen.append(msg["data"]["i"])

            reading = asyncio.create_task(read_all())
            blob = "z" * 50_000
            sent = 0
            while not server.fanout.stats["dropped_slow"] and sent < 1000:  # <= 50 MB
                hub.bus.publish("market_data", market_update(i=sent, blob=blob))
                sent += 1
                await asyncio.sleep(0.002)
            deadline = time.monotonic() + WAIT
            while len(seen) < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            reading.cancel()
            assert server.fanout.stats["dropped_slow"] == 1, f"not dropped after {sent} updates"
            assert seen == list(range(sent))  # the reading client missed nothing
            assert server.fanout.stats["dropped_abuse"] == 0
    finally:
        writer.transport.abort()
        await server.close()
    del reader


# --- REST -------------------------------------------------------------------------------
TRAVERSAL = ["/docs/../../etc/passwd", "/docs/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
             "//etc/passwd", "/docs/..%2f..", "/..", "/docs%00.html", "/docs/%2e%2e/%2e%2e/",
             "/api/../../../../etc/shadow", "/\\..\\..\\etc\\passwd", "/ws/../etc/passwd",
             "/resources/symbols.json", "/.git/config", "/openapi.json/../../etc/passwd"]


async def raw_http(port: int, request: bytes) -> bytes:
    """Send raw bytes, return whatever comes back before the server closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 1.0 * SLOW):
            data += chunk
    except (TimeoutError, ConnectionError):
        pass
    writer.close()
    return data


async def test_path_traversal_never_reads_files(served):
    """Traversal paths (raw, encoded, doubled slashes) answer 4xx JSON, never a file."""
    hub, server, watcher = served
    for path in TRAVERSAL:
        data = await raw_http(server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           "Connection: close\r\n\r\n".encode())
        status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1") else b""
        assert status in (b"400", b"403", b"404"), (path, data[:200])
        assert b"root:" not in data and b"[core]" not in data and b'"BTC"' not in data
    await still_serving(hub, server, watcher)


async def test_unknown_paths_and_methods_get_the_error_shape(served):
    """Unknown paths give 404 {error, detail}; junk requests end without harm to the server."""
    hub, server, watcher = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        for path in ("/nope", "/api/", "/api/history/extra", "/ws/unknown", "/" + "a" * 4000):
            r = await client.get(path, timeout=WAIT)
            assert r.status_code == 404 and set(r.json()) == {"error", "detail"}, path
    for junk in (b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc",
                 b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # TLS hello
                 b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"h" * 100_000 + b"\r\n\r\n",
                 b"GET /health HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n", os.urandom(2048)):
        data = await raw_http(server.port, junk)
        assert b"Traceback" not in data
        assert not data.startswith(b"HTTP/1.1 200"), data[:100]
    await still_serving(hub, server, watcher)


async def test_foreign_origin_and_host_are_refused(served):
    """A browser page's Origin and a rebound Host get 403, for REST and WebSocket alike."""
    hub, server, watcher = served
    url = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/api/market", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"
        r = await client.get("/api/market", headers={"Host": "evil.example:7860"})
        assert r.status_code == 403 and r.json()["error"] == "host_not_allowed"
    with pytest.raises(Exception) as info:  # noqa: B017 - the handshake is refused
        await connect(f"ws://127.0.0.1:{server.port}/ws/master",
                      origin="https://evil.example")
    assert "403" in str(info.value)
    await still_serving(hub, server, watcher)


async def test_rest_answers_announce_that_the_connection_closes(served):
    """A keep-alive client is told each REST answer ends the connection, or may reuse it."""
    hub, server, watcher = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if line)
        await reader.readexactly(int(headers["Content-Length"]))
        if headers.get("Connection", "").lower() != "close":  # then HTTP/1.1 keeps it open
            writer.write(request)
            second = await asyncio.wait_for(reader.read(65536), WAIT)
            assert second.startswith(b"HTTP/1.1 200"), (
                "the server closed a connection it did not announce as closing: keep-alive "
                "clients (httpx, requests sessions) then fail with 'Server disconnected'")
    finally:
        writer.close()
        await writer.wait_closed()
    await still_serving(hub, server, watcher)
