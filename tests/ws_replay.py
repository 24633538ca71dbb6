"""A real WebSocket server on 127.0.0.1 that plays an exchange's stream, with faults.

It replays recorded frames from ``tests/fixtures/streams/<provider>/`` the way an
exchange sends them: nothing until the client has sent its subscribe message(s), then
the acks, then the data frames in a loop. Each connection follows a :class:`Session`,
so a test scripts the first connection to fail and the second to be healthy::

    async with ReplayWS([Session(frames=[tick], after=3, then="drop"), Session(frames=[tick])]) as srv:
        client = StreamClient(plan_for(srv.url), ...)

Faults: an abrupt drop (TCP reset, no close frame), silence without close, a clean
close, pongs never answered (protocol pongs are swallowed, application pings ignored),
a rejected subscription (the rejection frame instead of acks and data), garbage and
binary frames (put them in ``frames``), and a refused handshake (``http_status``).
A refused TCP connect is :func:`closed_port`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "streams"


def frame(provider: str, name: str) -> str:
    """The recorded frame ``tests/fixtures/streams/<provider>/<name>``, as sent."""
    return (FIXTURES / provider / name).read_text(encoding="utf-8").strip()


def closed_port() -> int:
    """A local port nothing listens on: a connect to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Session:
    """What the server does on one connection.

    Attributes:
        acks: frames sent once the client has subscribed.
        frames: data frames, sent one every ``interval`` seconds, in a loop.
        after: how many data frames are sent before ``then`` happens (None: never).
        then: "drop" (TCP reset, no close frame), "silence" (no more data, the
            connection stays open), "close" (a clean close) or "stay".
        pong: False swallows protocol pongs and leaves application pings unanswered.
        reject: a rejection frame sent instead of the acks and the data.
        http_status: refuse the handshake with this HTTP status.
    """

    acks: list[str] = field(default_factory=list)
    frames: list[str | bytes] = field(default_factory=list)
    interval: float = 0.05
    after: int | None = None
    then: Literal["drop", "silence", "close", "stay"] = "stay"
    pong: bool = True
    reject: str | None = None
    http_status: int | None = None


@dataclass
class Connection:
    """What the server saw on one connection."""

    opened: float
    received: list[str] = field(default_factory=list)
    sent: int = 0
    close_code: int | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)


class ReplayWS:
    """The replay server; ``sessions[i]`` scripts handshake i (the last one repeats).

    Args:
        sessions: one script per connection.
        ping_reply: the answer to an application ping frame, or None when the text is
            not a ping (e.g. ``{"op":"ping"}`` -> Bybit's pong frame).
    """

    def __init__(self, sessions: list[Session],
                 ping_reply: Callable[[str], str | None] = lambda text: None) -> None:
        self.sessions = sessions
        self.ping_reply = ping_reply
        self.connections: list[Connection] = []
        self.handshakes = 0
        self._scripts: dict[int, Session] = {}
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    async def __aenter__(self) -> ReplayWS:
        self._server = await serve(self._handle, "127.0.0.1", 0,
                                   process_request=self._process_request, ping_interval=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def _session(self, index: int) -> Session:
        return self.sessions[min(index, len(self.sessions) - 1)]

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        session = self._session(self.handshakes)
        self.handshakes += 1
        if session.http_status is None:
            self._scripts[id(conn)] = session
            return None
        status = HTTPStatus(session.http_status)
        headers = Headers({"Retry-After": "60"} if status == 429 else {})
        return Response(status.value, status.phrase, headers, b"refused by the replay server\n")

    async def _handle(self, ws: ServerConnection) -> None:
        session = self._scripts.pop(id(ws))
        record = Connection(opened=time.monotonic())
        self.connections.append(record)
        if not session.pong:
            _swallow_pongs(ws)
        reader = asyncio.create_task(self._read(ws, session, record))
        try:
            await asyncio.wait_for(record.subscribed.wait(), 5)
            await self._play(ws, session, record)
            await reader
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await reader
            record.close_code = ws.close_code

    async def _read(self, ws: ServerConnection, session: Session, record: Connection) -> None:
        async for message in ws:
            text = message if isinstance(message, str) else message.decode(errors="replace")
            record.received.append(text)
            answer = self.ping_reply(text)
            if answer is None:
                record.subscribed.set()
            elif session.pong:
                await ws.send(answer)

    async def _play(self, ws: ServerConnection, session: Session, record: Connection) -> None:
        if session.reject is not None:
            await ws.send(session.reject)
            return
        for ack in session.acks:
            await ws.send(ack)
        if not session.frames:
            return
        index = 0
        while session.after is None or record.sent < session.after:
            await ws.send(session.frames[index % len(session.frames)])
            record.sent += 1
            index += 1
            await asyncio.sleep(session.interval)
        if session.then == "drop":
            assert ws.transport is not None
            ws.transport.abort()
        elif session.then == "close":
            await ws.close()


def _swallow_pongs(ws: ServerConnection) -> None:
    """Make this connection deaf to pings: its pong frames are never sent."""
    protocol: Any = ws.protocol
    send_frame = protocol.send_frame

    def without_pongs(frame: Frame) -> None:
        if frame.opcode is not Opcode.PONG:
            send_frame(frame)

    protocol.send_frame = without_pongs
