"""WebSocket endpoints and the fan-out of bus events (SPEC section 8).

``/ws/master`` takes ``{"action": "subscribe" | "unsubscribe", "service": ...}`` and
``{"action": "ping"}``; the dedicated paths subscribe to one service on connect.
A subscriber gets ``subscribed``, then at once a ``snapshot`` of the service, then
every ``update``. ``market_data`` takes ``"symbols": ["BTC", ...]`` too: the
snapshot then holds those symbols (updates are the same for every subscriber). The
shapes of every message are in the AsyncAPI document (``asyncapi.py``).

Fan-out (:meth:`Fanout.on_event`, called synchronously by the bus on the loop):
each event is encoded once (orjson) and framed once (server frames are unmasked and
compression is off, so the frame's bytes are the same for everyone) and queued; from
the next loop iteration those bytes are written to each open connection's transport,
which never waits for a client, in chunks of :data:`CHUNK` connections so a large
fan-out never stalls the loop (or the GUI on it) for long; updates keep their order.
Nothing is done per client but the checks ``websockets.broadcast`` makes (open, no
fragmented send in progress) and the bound on its unsent data. A client whose unsent
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
import re
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.time import iso, utcnow
from cryptohub_desktop.core.topics import RESYNC, TOPICS, Event
from cryptohub_desktop.server.actions import Actions
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.responses import encode_json
from cryptohub_desktop.server.security import READ, Throttle

log = logging.getLogger("cryptohub.server.ws")

SERVICES = (*TOPICS, "all")
DEDICATED = {"/ws/market-data": "market_data", "/ws/whale-tracking": "whale_tracking",
             "/ws/news": "news", "/ws/sentiment": "sentiment"}
WS_PATHS = frozenset({"/ws/master", *DEDICATED})
MAX_FRAME = 1 << 20  # websockets closes with 1009 beyond this
MAX_MESSAGE = 64 * 1024  # we answer "message_too_large" beyond this
MAX_CLIENT_BUFFER = 1 << 20
CHUNK = 256  # connections written per loop iteration: bounds the loop's stall
MAX_SYMBOLS = 50
_SYMBOL = re.compile(r"[A-Za-z0-9]{1,15}")


def _error(code: str, detail: str) -> bytes:
    return encode_json({"type": "error", "error": code, "detail": detail})


def text_frame(data: bytes) -> bytes:
    """``data`` (UTF-8 JSON) as one unmasked, uncompressed text frame: what a server
    writes, byte for byte the same for every client."""
    return Frame(Opcode.TEXT, data).serialize(mask=False)


def normalize_path(target: str) -> str:
    """The path of a request target without the query and trailing slashes
    (``/ws/master/?x=1`` -> ``/ws/master``)."""
    path = target.split("?", 1)[0]
    return path.rstrip("/") or "/"


def parse_symbols(value: Any) -> tuple[str, ...] | None:
    """The ``symbols`` of a subscribe message, upper case; None when absent.

    Raises:
        ValueError: not a list of 1-50 symbols like "BTC".
    """
    if value is None:
        return None
    if (not isinstance(value, list) or not 1 <= len(value) <= MAX_SYMBOLS
            or not all(isinstance(v, str) and _SYMBOL.fullmatch(v) for v in value)):
        raise ValueError(f'symbols must be a list of 1 to {MAX_SYMBOLS} symbols like '
                         '["BTC", "ETH"]')
    return tuple(dict.fromkeys(v.upper() for v in value))


class Fanout:
    """Subscriptions, snapshots and the fan-out of bus events to WebSocket clients.

    Args:
        api: the hub served (its updates are subscribed to until :meth:`close`).
        scrub: masks keys in outgoing (encoded) messages.
        cache: where snapshots are kept until their service's next event.
        max_client_buffer: bytes of unsent data after which a client is dropped (1013).
        drop_grace: seconds a dropped client gets to complete the close handshake.
    """

    def __init__(self, api: HubApi, scrub: Callable[[bytes], bytes], cache: AnswerCache, *,
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
        #: what each connection may do (security.READ / ADMIN), set at its handshake
        self.access: weakref.WeakKeyDictionary[ServerConnection, str] = (
            weakref.WeakKeyDictionary())
        #: connections between registering and their snapshots: their updates wait here
        self._joining: dict[ServerConnection, list[tuple[str, int, bytes]]] = {}
        self.actions = Actions(api)
        self._queue: deque[tuple[list[ServerConnection], bytes, int, str, int]] = deque()
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
        if event.kind == RESYNC:  # updates were lost on the way: every subscriber re-reads
            self._spawn(self._resync(topic, list(targets)))
            return
        data = self.scrub(encode_json({"type": "update", "service": topic,
                                       "timestamp": iso(event.timestamp), "seq": event.seq,
                                       "origin": event.origin, "data": event.data}))
        self.stats["events"] += 1
        self._queue.append((list(targets), text_frame(data), 0, topic, event.seq))
        if not self._draining:
            self._draining = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Write queued updates, in order, to at most CHUNK connections; reschedule."""
        budget = CHUNK
        while self._queue and budget > 0:
            conns, data, start, topic, seq = self._queue[0]
            end = min(len(conns), start + budget)
            batch = conns[start:end]
            if self._joining:
                batch = [c for c in batch if not self._hold(c, topic, seq, data)]
            self.send(batch, data)
            budget -= end - start
            if end >= len(conns):
                self._queue.popleft()
            else:
                self._queue[0] = (conns, data, end, topic, seq)
        if self._queue:
            self._loop.call_soon(self._drain)
        else:
            self._draining = False

    def send(self, conns: list[ServerConnection], frame: bytes) -> None:
        """Write ``frame`` (:func:`text_frame`) to every open connection in ``conns`` now,
        without waiting; drop (1013) the ones whose unsent data is past the bound."""
        slow = []
        sent = 0
        clients, bound = self.clients, self.max_client_buffer
        for conn in conns:
            transport = conn.transport
            if (transport is None or conn not in clients or conn.protocol.state is not OPEN
                    or conn.send_in_progress is not None):
                continue
            if transport.get_write_buffer_size() > bound:
                slow.append(conn)
                continue
            try:
                transport.write(frame)
            except (OSError, RuntimeError):  # closing under us: its handler cleans up
                continue
            sent += 1
        self.stats["messages"] += sent
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
    async def snapshot_frame(self, service: str,
                             symbols: tuple[str, ...] | None = None) -> tuple[bytes, int]:
        """The snapshot message of ``service`` as a frame, and the ``seq`` it reflects
        (cached until the service's next state-changing event); ``symbols``: the
        market_data snapshot of those symbols only.

        The seq is the service's last update when the state was read; while no update
        has changed the state since, the snapshot is as good as new and carries the
        service's current seq (so a client never sees a jump it cannot close).
        """
        seq, version, payload = await self.cache.get(
            ("ws", service, symbols), (service,), lambda: self._build(service, symbols))
        if self.cache.version((service,)) == version:
            seq = self.api.last_seq(service)
        head = encode_json({"type": "snapshot", "service": service, "seq": seq,
                            "timestamp": iso(utcnow())})
        return text_frame(head[:-1] + b',"data":' + payload + b"}"), seq

    async def _build(self, service: str,
                     symbols: tuple[str, ...] | None) -> tuple[int, tuple[int, ...], bytes]:
        seq, version = self.api.last_seq(service), self.cache.version((service,))
        if symbols is not None:
            data = await self.api.market(list(symbols))
        else:
            data = await self.api.service_snapshot(service)
        return seq, version, self.scrub(encode_json(data))

    async def _resync(self, topic: str, conns: list[ServerConnection]) -> None:
        """Send ``conns`` a fresh snapshot of ``topic`` (its updates were lost in transit)."""
        try:
            frame, _ = await self.snapshot_frame(topic)
        except Exception:  # noqa: BLE001 - the next update or resync will try again
            log.exception("resync snapshot of %s failed", topic)
            return
        self.send([c for c in conns if c in self.clients], frame)

    def _hold(self, conn: ServerConnection, topic: str, seq: int, frame: bytes) -> bool:
        """Keep an update for a connection still waiting for its snapshots."""
        held = self._joining.get(conn)
        if held is None:
            return False
        held.append((topic, seq, frame))
        return True

    def _spawn(self, coro: Any) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- connections -----------------------------------------------------------------------
    async def handler(self, conn: ServerConnection) -> None:
        """Serve one WebSocket connection until it closes."""
        path = normalize_path(conn.request.path) if conn.request else "/ws/master"
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
                                           "message; the error is logged"), text=True)
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
                                       "per second; messages over the limit are ignored"),
                                text=True)
            return
        if isinstance(message, bytes):
            await conn.send(_error("invalid_message", "binary frames are not accepted; "
                                   "send JSON text"), text=True)
            return
        if len(message) > MAX_MESSAGE // 4 and len(message.encode()) > MAX_MESSAGE:
            await conn.send(_error("message_too_large",
                                   f"messages are limited to {MAX_MESSAGE} bytes"), text=True)
            return
        try:
            msg = json.loads(message)
        except ValueError:
            await conn.send(_error("invalid_json", "the message is not valid JSON"), text=True)
            return
        action = msg.get("action") if isinstance(msg, dict) else None
        if not isinstance(action, str):
            await conn.send(_error("invalid_message", 'expected a JSON object like '
                                   '{"action": "subscribe", "service": "market_data"}'),
                            text=True)
            return
        if action == "ping":
            await conn.send(encode_json({"type": "pong", "timestamp": iso(utcnow())}),
                            text=True)
        elif action == "hello":
            await conn.send(encode_json(self.actions.hello(self.access.get(conn, READ))),
                            text=True)
        elif action in self.actions.names:
            self._spawn(self._act(conn, action, msg))
        elif action in ("subscribe", "unsubscribe"):
            service = msg.get("service")
            if not isinstance(service, str) or service not in SERVICES:
                await conn.send(_error("unknown_service", f"service must be one of "
                                       f"{', '.join(SERVICES)}; got {str(service)[:60]!r}"),
                                text=True)
            elif action == "subscribe":
                try:
                    symbols = parse_symbols(msg.get("symbols"))
                    if symbols is not None and service != "market_data":
                        raise ValueError("symbols apply to the market_data service only")
                except ValueError as exc:
                    await conn.send(_error("invalid_message", str(exc)), text=True)
                    return
                await self.subscribe(conn, service, symbols)
            else:
                self._unsubscribe(conn, service)
                await conn.send(encode_json({"type": "unsubscribed", "service": service}),
                                text=True)
        else:
            await conn.send(_error("unknown_action", "action must be subscribe, unsubscribe, "
                                   "ping, hello or one of "
                                   f"{', '.join(self.actions.names)}; got {action[:60]!r}"),
                            text=True)

    async def _act(self, conn: ServerConnection, action: str, msg: dict[str, Any]) -> None:
        """Run an action (in its own task: a collect may take a while) and answer with its
        typed result, ``{"type": "result", "id", "action", "ok", "message", "data"}``."""
        result = await self.actions.run(action, msg, self.access.get(conn, READ))
        if conn in self.clients:
            try:
                await conn.send(self.scrub(encode_json(result)), text=True)
            except ConnectionClosed:
                pass

    async def subscribe(self, conn: ServerConnection, service: str,
                        symbols: tuple[str, ...] | None = None) -> None:
        """Reply ``subscribed``, then the snapshot(s), then every update after them.

        The connection is registered before the snapshots are read, and its updates wait
        until they are sent; then only the updates newer than each snapshot's ``seq``
        follow: no update is lost between the snapshot and the first update, and none
        is sent twice.
        """
        reply: dict[str, Any] = {"type": "subscribed", "service": service}
        if symbols is not None:
            reply["symbols"] = list(symbols)
        await conn.send(encode_json(reply), text=True)
        services = TOPICS if service == "all" else (service,)
        self._joining.setdefault(conn, [])
        (self.all_subs if service == "all" else self.subs[service]).add(conn)
        frames, seqs = [], {}
        try:
            for s in services:
                try:
                    frame, seqs[s] = await self.snapshot_frame(s, symbols)
                    frames.append(frame)
                except Exception as exc:  # noqa: BLE001 - a failed snapshot must not end it
                    log.exception("snapshot of %s failed", s)
                    frames.append(text_frame(_error("snapshot_failed",
                                                    f"{s}: {type(exc).__name__}")))
        finally:
            held = self._joining.pop(conn, [])
        if conn not in self.clients:
            return
        # from here on synchronous: the snapshots go out before any update
        for frame in frames:
            self.send([conn], frame)
        for topic, seq, frame in held:
            if seq > seqs.get(topic, -1):
                self.send([conn], frame)

    def _unsubscribe(self, conn: ServerConnection, service: str) -> None:
        (self.all_subs if service == "all" else self.subs[service]).discard(conn)

    def _unsubscribe_all(self, conn: ServerConnection) -> None:
        self.all_subs.discard(conn)
        for subs in self.subs.values():
            subs.discard(conn)


def _peer(conn: ServerConnection) -> str:
    addr = conn.remote_address
    return f"{addr[0]}:{addr[1]}" if addr else "?"
