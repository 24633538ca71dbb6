"""The team hub's bus: every update through Redis Streams, one stream per service.

Publishing appends to the service's stream with one Lua script that takes the
service's next ``seq`` and adds the entry in the same step, so ``seq`` grows by
exactly 1 per update across the whole team. Every instance (the publisher
included) reads every stream with one ``XREAD BLOCK`` task and delivers each
entry to its own subscribers (WebSocket clients, the answer cache, a UI), in
stream order.

Redis going away loses nothing that was published: what this instance publishes
meanwhile waits in a bounded queue and is sent when Redis returns, and the reader
resumes from the last entry id it delivered. Only when that id was trimmed away
(``MAXLEN ~``) does a ``seq`` jump show; the reader then delivers a
:data:`~cryptohub_desktop.core.topics.RESYNC` notice for the service (logged)
before the next entry, so subscribers re-read the state: never a silent gap.

Example::

    bus = RedisBus("redis://127.0.0.1:6379/0", "hub-a")
    await bus.start()
    bus.subscribe("market_data", print)
    bus.publish("market_data", {"provider": "binance", ...})   # returns at once
    await bus.stop()
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cryptohub_desktop.core.time import iso, parse_iso
from cryptohub_desktop.core.topics import RESYNC, TOPICS, Event
from cryptohub_desktop.engine.bus import Subscribers

log = logging.getLogger("cryptohub.cluster.bus")

#: KEYS: stream, seq counter. ARGV: maxlen, origin, ts, data, dedupe key.
#: A retried publish (the reply was lost) is recognised by its dedupe key and not
#: numbered twice.
PUBLISH = """
if redis.call('SET', ARGV[5], 1, 'NX', 'EX', 600) == false then return {0, ''} end
local seq = redis.call('INCR', KEYS[2])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'seq', seq, 'origin', ARGV[2], 'ts', ARGV[3], 'data', ARGV[4])
return {seq, id}
"""
BLOCK_MS = 2000
RETRY_INITIAL = 0.2
RETRY_MAX = 5.0


class RedisBus(Subscribers):
    """The shared bus of a team hub (the :class:`~cryptohub_desktop.engine.ports.EventBus`
    port).

    Args:
        url: the Redis URL (``[cluster] redis_url``).
        origin: this instance's id.
        prefix: the key prefix (tests use their own).
        maxlen: entries kept per stream (approximately).
        backlog: updates kept while Redis is away; beyond it the oldest are dropped and
            their service re-synced.

    Attributes:
        connected: Redis answered the last command.
    """

    def __init__(self, url: str, origin: str, *, prefix: str = "cryptohub",
                 maxlen: int = 10_000, backlog: int = 10_000) -> None:
        super().__init__()
        self.url = url
        self.origin = origin
        self.prefix = prefix
        self.maxlen = maxlen
        self.backlog = backlog
        self.connected = False
        self._redis: aioredis.Redis | None = None
        self._reader_redis: aioredis.Redis | None = None
        self._script: Any = None
        self._outbox: deque[tuple[str, str, str, str]] = deque()
        self._wake = asyncio.Event()
        self._last_id: dict[str, str] = {}
        self._seq: dict[str, int] = dict.fromkeys(TOPICS, 0)
        self._lost: set[str] = set()  # services whose queued updates overflowed
        self._tasks: list[asyncio.Task[None]] = []

    def _stream(self, topic: str) -> str:
        return f"{self.prefix}:stream:{topic}"

    def _counter(self, topic: str) -> str:
        return f"{self.prefix}:seq:{topic}"

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, find where each stream ends now, and start reading and writing.

        Without Redis at start the bus still starts: it keeps trying, and updates wait.
        """
        self._redis = aioredis.from_url(self.url, decode_responses=True,
                                        socket_connect_timeout=2, socket_timeout=5,
                                        health_check_interval=10)
        self._reader_redis = aioredis.from_url(self.url, decode_responses=True,
                                               socket_connect_timeout=2,
                                               socket_timeout=BLOCK_MS / 1000 + 5)
        self._script = self._redis.register_script(PUBLISH)
        try:
            await self._find_ends()
        except (RedisError, OSError) as exc:
            log.warning("Redis unavailable at start (%s); updates wait until it answers", exc)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_loop(), name="redis-bus-writer"),
                       loop.create_task(self._read_loop(), name="redis-bus-reader")]

    async def stop(self) -> None:
        """Send what is queued (briefly), stop the tasks, close the connections."""
        if self._outbox and self.connected:
            self._wake.set()
            for _ in range(20):
                if not self._outbox:
                    break
                await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        self._tasks = []
        for client in (self._redis, self._reader_redis):
            if client is not None:
                await client.aclose()
        self._redis = self._reader_redis = None

    async def _find_ends(self) -> None:
        """Start reading after the newest entry of every stream, at its seq."""
        assert self._redis is not None
        pipe = self._redis.pipeline(transaction=False)
        for topic in TOPICS:
            pipe.xrevrange(self._stream(topic), count=1)
        results = await pipe.execute()
        for topic, entries in zip(TOPICS, results, strict=True):
            if entries:
                entry_id, fields = entries[0]
                self._last_id[topic] = entry_id
                self._seq[topic] = int(fields.get("seq", 0))
            else:
                self._last_id[topic] = "0-0"
        self.connected = True

    # --- publishing ----------------------------------------------------------------------
    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Queue ``data`` as the next update of ``topic``; it is numbered by Redis and
        delivered (here too) when read back. Returns the event as queued (``seq`` 0)."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        now = datetime.now(UTC)
        if len(self._outbox) >= self.backlog:
            dropped = self._outbox.popleft()
            self._lost.add(dropped[0])
            log.warning("Redis away too long: dropped a queued %s update; its subscribers "
                        "will be re-synced", dropped[0])
        self._outbox.append((topic, iso(now) or "", json.dumps(data, separators=(",", ":")),
                             f"{self.prefix}:sent:{uuid.uuid4().hex}"))
        self._wake.set()
        return Event(topic, data, now, 0, self.origin)

    async def _write_loop(self) -> None:
        delay = RETRY_INITIAL
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            topic, ts, data, dedupe = self._outbox[0]
            try:
                await self._script(keys=[self._stream(topic), self._counter(topic)],
                                   args=[self.maxlen, self.origin, ts, data, dedupe])
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("Redis unavailable (%s): %d update(s) waiting", exc,
                                len(self._outbox))
                self.connected = False
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            delay = RETRY_INITIAL
            self.connected = True
            if self._outbox and self._outbox[0][3] == dedupe:
                self._outbox.popleft()

    # --- reading -------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        delay = RETRY_INITIAL
        while True:
            try:
                if not self._last_id:
                    await self._find_ends()
                assert self._reader_redis is not None
                streams: dict[Any, Any] = {self._stream(t): self._last_id[t] for t in TOPICS}
                answer = await self._reader_redis.xread(streams, block=BLOCK_MS, count=500)
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("Redis read failed (%s); resuming from the last entry "
                                "when it answers", exc)
                self.connected = False
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            delay = RETRY_INITIAL
            self.connected = True
            for topic in sorted(self._lost):  # updates dropped before they were numbered
                self._lost.discard(topic)
                self._resync(topic, "queued updates were dropped while Redis was away")
            for stream, entries in answer or ():
                topic = stream.rsplit(":", 1)[1]
                for entry_id, fields in entries:
                    self._last_id[topic] = entry_id
                    self._deliver_entry(topic, fields)

    def _deliver_entry(self, topic: str, fields: dict[str, str]) -> None:
        try:
            seq = int(fields["seq"])
            data = json.loads(fields["data"])
            ts = parse_iso(fields["ts"])
        except (KeyError, ValueError) as exc:
            log.error("unreadable entry on %s: %s", topic, exc)
            return
        last = self._seq[topic]
        if seq <= last:
            return  # already delivered (a re-read after a reconnect)
        if last and seq != last + 1:
            self._resync(topic, f"updates {last + 1}-{seq - 1} were trimmed from the stream")
        self._seq[topic] = seq
        self.deliver(Event(topic, data, ts, seq, fields.get("origin", "")))

    def _resync(self, topic: str, why: str) -> None:
        log.warning("%s: %s; subscribers are re-synced with a fresh snapshot", topic, why)
        self.deliver(Event(topic, {"reason": why}, seq=0, origin=self.origin, kind=RESYNC))

    def last_seq(self, topic: str) -> int:
        return self._seq[topic]
