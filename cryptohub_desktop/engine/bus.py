"""In-process publish/subscribe between the engine, the server and the UI.

Topics are the WebSocket service names of SPEC section 8. Each update of a topic
gets the next ``seq`` of that topic (1, 2, 3 ...) and this instance as ``origin``,
exactly as a team hub's shared bus numbers them. Publishing happens on the
event-loop thread; subscribers are called synchronously and must be quick (queue
work, never block). A failing subscriber is logged and the others still get the
event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from cryptohub_desktop.core.topics import TOPICS, Event, Subscriber

log = logging.getLogger("cryptohub.bus")


class Subscribers:
    """Who listens to which topic; ``"*"`` listens to every topic."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Subscriber]] = defaultdict(list)

    def subscribe(self, topic: str, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` for each event of ``topic``; returns the unsubscribe function."""
        if topic != "*" and topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self._subs[topic].append(fn)

        def unsubscribe() -> None:
            if fn in self._subs[topic]:
                self._subs[topic].remove(fn)
        return unsubscribe

    def deliver(self, event: Event) -> None:
        """Call every subscriber of ``event.topic`` (and of ``"*"``) with ``event``."""
        for fn in (*self._subs.get(event.topic, ()), *self._subs.get("*", ())):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                log.exception("subscriber of %s failed", event.topic)


class Bus(Subscribers):
    """The in-process bus of a single instance: numbers each update and delivers it at once.

    Args:
        origin: this instance's id (the ``origin`` of what it publishes).
    """

    connected = True

    def __init__(self, origin: str = "") -> None:
        super().__init__()
        self.origin = origin
        self._seq: dict[str, int] = dict.fromkeys(TOPICS, 0)

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Publish ``data`` on ``topic`` as its next update; returns the event."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self._seq[topic] += 1
        event = Event(topic, data, seq=self._seq[topic], origin=self.origin)
        self.deliver(event)
        return event

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def last_seq(self, topic: str) -> int:
        """The ``seq`` of the newest update of ``topic`` delivered here (0: none yet)."""
        return self._seq[topic]
