"""WebSocket endpoints and the fan-out of bus events (SPEC section 8).

``/ws/master`` takes ``{"action": "subscribe" | "unsubscribe", "service": ...}`` and
``{"action": "ping"}``; the dedicated paths subscribe to one service on connect.
A subscriber gets ``subscribed``, then at once a ``snapshot`` of the service, then
every ``update``.

Fan-out (:meth:`Fanout.on_event`, called synchronously by the bus on the loop):
each event is encoded once and queued; from the next loop iteration it is
written with :func:`websockets.broadcast`, which never waits for a client, in
chunks of :data:`CHUNK` connections so a large fan-out never stalls the loop
(or the GUI on it) for long; updates keep their order. A client whose unsent
data (its transport's write buffer) passes ``max_client_buffer`` bytes is
dropped with close code 1013 and logged; the others are not delayed. Snapshots are cached per service until the
next event of that service (``cache.py``), so a thousand clients subscribing at
once cost one build.

Inbound messages: JSON text up to :data:`MAX_MESSAGE` bytes; bad input gets
``{"type": "error", "error": code, "detail": ...}`` and the connection stays
usable. Each connection has a token bucket (``security.Throttle``); past its
abuse threshold the connection is closed with 1008.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.time import iso, utcnow
from cryptohub_desktop.core.topics import TOPICS, Event
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.responses import encode_json
from cryptohub_desktop.server.security import Throttle

log = logging.getLogger("cryptohub.server.ws")

SERVICES = (*TOPICS, "all")
DEDICATED = {"/ws/market-data": "market_data", "/ws/whale-tracking": "whale_tracking",
             "/ws/news": "news", "/ws/sentiment": "sentiment"}
WS_PATHS = frozenset({"/ws/master", *DEDICATED})
MAX_FRAME = 1 << 20  # websockets closes with 1009 beyond this
MAX_MESSAGE = 64 * 1024  # we answer "message_too_large" beyond this
MAX_CLIENT_BUFFER = 1 << 20
CHUNK = 256  # connections written per loop iteration: bounds the loop's stall


def _error(code: str, detail: str) -> str:
    return encode_json({"type": "error", "error": code, "detail": detail})


class Fanout:
    """Subscriptions, snapshots and the fan-out of bus events to WebSocket clients.

    Args:
        api: the hub served (its updates are subscribed to until :meth:`close`).
        scrub: masks keys in outgoing text.
        cache: where snapshots are kept until their service's next event.
        max_client_buffer: bytes of unsent data after which a client is dropped (1013).
        drop_grace: seconds a dropped client gets to complete the close handshake.
    """

    def __init__(self, api: HubApi, scrub: Callable[[str], str], cache: AnswerCache, *,
                 max_client_buffer: int = MAX_CLIENT_BUFFER, drop_grace: float = 5.0) -> None:
        self.api = api
        self.scrub = scrub
        self.cache = cache
        self.max_client_buffer = max_client_buffer
        self.drop_grace = drop_grace
        self.subs: dict[str, set[ServerConnection]] = {t: set() for t in TOPICS}
        self.all_subs: set[ServerConnection] = set()
        self.clients: set[ServerConnection] = set()
        self.stats = {"events": 0, "messages": 0, "dropped_slow": 0, "dropped_abuse": 0}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue: deque[tuple[list[ServerConnection], bytes, int]] = deque()
        self._draining = False
        self._loop = asyncio.get_running_loop()
        self._bus_unsubscribe = api.subscribe(self.on_event)

    def close(self) -> None:
        """Stop listening to the bus (idempotent)."""
        self._bus_unsubscribe()

    # --- fan-out ---------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Bus callback: encode the update once and queue it for the service's clients.

        Returns at once; the writes happen in :meth:`_drain` from the next loop
        iteration, at most :data:`CHUNK` connections per iteration, so neither the
        publisher nor the event loop waits for a large fan-out.
        """
        topic = event.topic
        targets = self.subs[topic] | self.all_subs if self.all_subs else self.subs[topic]
        if not targets:
            return
        text = self.scrub(encode_json({"type": "update", "service": topic,
                                       "timestamp": iso(event.timestamp), "data": event.data}))
        self.stats["events"] += 1
        self._queue.append((list(targets), text.encode(), 0))
        if not self._draining:
            self._draining = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Write queued updates, in order, to at most CHUNK connections; reschedule."""
        budget = CHUNK
        while self._queue and budget > 0:
            conns, data, start = self._queue[0]
            end = min(len(conns), start + budget)
            self.send(conns[start:end], data)
            budget -= end - start
            if end >= len(conns):
                self._queue.popleft()
            else:
                self._queue[0] = (conns, data, end)
        if self._queue:
            self._loop.call_soon(self._drain)
        else:
            self._draining = False

    def send(self, conns: list[ServerConnection], data: bytes) -> None:
        """Write the UTF-8 JSON ``data`` as a text frame to every connection in ``conns``
        now, without waiting; drop (1013) the ones whose unsent data is past the bound."""
        ready, slow = [], []
        for conn in conns:
            transport = conn.transport
            if transport is None or conn not in self.clients:
                continue
            if transport.get_write_buffer_size() > self.max_client_buffer:
                slow.append(conn)
            else:
                ready.append(conn)
        broadcast(ready, data, text=True)
        self.stats["messages"] += len(ready)
        for conn in slow:
            size = conn.transport.get_write_buffer_size()
            self.drop(conn, 1013, "too slow: send queue full",
                      f"{size} bytes unsent > {self.max_client_buffer}")

    def drop(self, conn: ServerConnection, code: int, reason: str, why: str = "") -> None:
        """Unsubscribe ``conn`` now and close it with ``code``; abort it if the close
        handshake does not finish within ``drop_grace`` seconds."""
        if conn not in self.clients:
            return
        self.clients.discard(conn)
        self._unsubscribe_all(conn)
        self.stats["dropped_slow" if code == 1013 else "dropped_abuse"] += 1
        log.warning("dropping WebSocket client %s: %s%s (close %d)", _peer(conn), reason,
                    f" ({why})" if why else "", code)
        task = asyncio.get_running_loop().create_task(self._close(conn, code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, conn: ServerConnection, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(conn.close(code, reason), self.drop_grace)
        except (TimeoutError, ConnectionClosed, OSError):
            if conn.transport is not None:
                conn.transport.abort()

    # --- snapshots -------------------------------------------------------------------------
    async def snapshot_text(self, service: str) -> str:
        """The encoded snapshot message of ``service`` (cached until its next event)."""
        return await self.cache.get(("ws", service), (service,),
                                    lambda: self._build(service))

    async def _build(self, service: str) -> str:
        data = await self.api.service_snapshot(service)
        return self.scrub(encode_json({"type": "snapshot", "service": service,
                                       "timestamp": iso(utcnow()), "data": data}))

    # --- connections -----------------------------------------------------------------------
    async def handler(self, conn: ServerConnection) -> None:
        """Serve one WebSocket connection until it closes."""
        path = conn.request.path.split("?", 1)[0] if conn.request else "/ws/master"
        self.clients.add(conn)
        throttle = Throttle()
        try:
            if path in DEDICATED:
                await self.subscribe(conn, DEDICATED[path])
            async for message in conn:
                if conn not in self.clients:
                    continue  # dropped: discard input so the close handshake can finish
                try:
                    await self.on_message(conn, message, throttle)
                except ConnectionClosed:
                    raise
                except Exception:  # noqa: BLE001 - a bug answers an error, the socket lives
                    log.exception("WebSocket message from %s failed", _peer(conn))
                    await conn.send(_error("internal_error", "the server failed on this "
                                           "message; the error is logged"))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(conn)
            self._unsubscribe_all(conn)

    async def on_message(self, conn: ServerConnection, message: str | bytes,
                         throttle: Throttle) -> None:
        """Answer one inbound message (errors are replies, never exceptions)."""
        verdict = throttle.take()
        if verdict == "abuse":
            self.drop(conn, 1008, "policy violation: flooding", "message rate far over limit")
            return
        if verdict == "throttled":
            now = time.monotonic()
            if now - throttle.last_warned >= 1.0:
                throttle.last_warned = now
                await conn.send(_error("rate_limited", f"at most {throttle.rate:g} messages "
                                       "per second; messages over the limit are ignored"))
            return
        if isinstance(message, bytes):
            await conn.send(_error("invalid_message", "binary frames are not accepted; "
                                   "send JSON text"))
            return
        if len(message) > MAX_MESSAGE // 4 and len(message.encode()) > MAX_MESSAGE:
            await conn.send(_error("message_too_large",
                                   f"messages are limited to {MAX_MESSAGE} bytes"))
            return
        try:
            msg = json.loads(message)
        except ValueError:
            await conn.send(_error("invalid_json", "the message is not valid JSON"))
            return
        action = msg.get("action") if isinstance(msg, dict) else None
        if not isinstance(action, str):
            await conn.send(_error("invalid_message", 'expected a JSON object like '
                                   '{"action": "subscribe", "service": "market_data"}'))
            return
        if action == "ping":
            await conn.send(encode_json({"type": "pong", "timestamp": iso(utcnow())}))
        elif action in ("subscribe", "unsubscribe"):
            service = msg.get("service")
            if not isinstance(service, str) or service not in SERVICES:
                await conn.send(_error("unknown_service", f"service must be one of "
                                       f"{', '.join(SERVICES)}; got {str(service)[:60]!r}"))
            elif action == "subscribe":
                await self.subscribe(conn, service)
            else:
                self._unsubscribe(conn, service)
                await conn.send(encode_json({"type": "unsubscribed", "service": service}))
        else:
            await conn.send(_error("unknown_action", "action must be subscribe, unsubscribe "
                                   f"or ping; got {action[:60]!r}"))

    async def subscribe(self, conn: ServerConnection, service: str) -> None:
        """Reply ``subscribed``, then the snapshot(s), then register for updates."""
        await conn.send(encode_json({"type": "subscribed", "service": service}))
        services = TOPICS if service == "all" else (service,)
        texts = []
        for s in services:
            try:
                texts.append(await self.snapshot_text(s))
            except Exception as exc:  # noqa: BLE001 - a failed snapshot must not end the socket
                log.exception("snapshot of %s failed", s)
                texts.append(_error("snapshot_failed", f"{s}: {type(exc).__name__}"))
        if conn not in self.clients:
            return
        # from here on synchronous: the snapshots go out before any update
        for text in texts:
            self.send([conn], text.encode())
        if conn in self.clients:  # not dropped as too slow by the snapshot itself
            (self.all_subs if service == "all" else self.subs[service]).add(conn)

    def _unsubscribe(self, conn: ServerConnection, service: str) -> None:
        (self.all_subs if service == "all" else self.subs[service]).discard(conn)

    def _unsubscribe_all(self, conn: ServerConnection) -> None:
        self.all_subs.discard(conn)
        for subs in self.subs.values():
            subs.discard(conn)


def _peer(conn: ServerConnection) -> str:
    addr = conn.remote_address
    return f"{addr[0]}:{addr[1]}" if addr else "?"
