"""Encoded answers cached until the data behind them changes.

The hub publishes an update after every write that changes a service's
data, so an answer built from that data stays valid until the next event of the
topics it depends on. An update that says it stored nothing (``counts`` present and
all zero: every record was a duplicate, or a live tick that was not written) leaves
the answers as they are. :class:`AnswerCache` keeps each encoded answer with the
topics' event counts at build time and serves it while they are unchanged (and
for at most ``ttl`` seconds, for state that changes without an event, such as
ages). Concurrent requests for the same answer share one build. Answers are kept
as the encoded bytes that go to the socket, so a hit costs no encoding at all.

Example::

    data = await cache.get(("rest", "/api/market", "symbols=BTC"), ("market_data",),
                           lambda: build_market_json())
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from cryptohub_desktop.core.topics import TOPICS, Event, Subscriber

MAX_ENTRIES = 512
T = TypeVar("T")


class AnswerCache:
    """Answers by key, invalidated by bus events of their topics.

    Args:
        subscribe: subscribes a callback to every update of the hub (``HubApi.subscribe``);
            the cache listens until :meth:`close`.
        ttl: seconds an answer may be served at most.
    """

    def __init__(self, subscribe: Callable[[Subscriber], Callable[[], None]],
                 ttl: float = 2.0) -> None:
        self.ttl = ttl
        self.hits = 0
        self.builds = 0
        self._events = dict.fromkeys(TOPICS, 0)
        self._entries: dict[Hashable, tuple[float, tuple[int, ...], Any]] = {}
        self._building: dict[Hashable, asyncio.Task[Any]] = {}
        self._unsubscribe = subscribe(self._on_event)

    def close(self) -> None:
        """Stop listening to the bus (idempotent)."""
        self._unsubscribe()

    def _on_event(self, event: Event) -> None:
        counts = event.data.get("counts")
        if isinstance(counts, dict) and not any(counts.values()):
            return  # nothing was stored: no answer built from the store changed
        self._events[event.topic] += 1

    def version(self, topics: Sequence[str]) -> tuple[int, ...]:
        """How many state-changing events each of ``topics`` has had: an answer built at
        the same version still describes the current state."""
        return tuple(self._events[t] for t in topics)

    async def get(self, key: Hashable, topics: Sequence[str],
                  build: Callable[[], Awaitable[T]], ttl: float | None = None) -> T:
        """The cached answer for ``key``, or ``await build()`` (shared by concurrent
        callers) when an event of ``topics`` came since, or ``ttl`` (default: the
        cache's) passed.

        Raises:
            Exception: whatever ``build`` raised (nothing is cached then).
        """
        loop = asyncio.get_running_loop()
        version = self.version(topics)
        hit = self._entries.get(key)
        if hit and hit[1] == version and loop.time() - hit[0] < (ttl or self.ttl):
            self.hits += 1
            value: T = hit[2]
            return value
        flight = (key, version)
        task = self._building.get(flight)
        if task is None:
            task = loop.create_task(self._build(key, version, build))
            self._building[flight] = task
            task.add_done_callback(lambda _t: self._building.pop(flight, None))
        return await asyncio.shield(task)

    async def _build(self, key: Hashable, version: tuple[int, ...],
                     build: Callable[[], Awaitable[T]]) -> T:
        started = asyncio.get_running_loop().time()
        text = await build()
        self.builds += 1
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (started, version, text)
        return text
