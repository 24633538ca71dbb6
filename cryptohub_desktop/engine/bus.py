"""In-process publish/subscribe between the engine, the server and the UI.

Topics are the WebSocket service names of SPEC section 8. Publishing happens on
the event-loop thread; subscribers are called synchronously and must be quick
(queue work, never block). A failing subscriber is logged and the others still
get the event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from cryptohub_desktop.core.topics import TOPICS, Event, Subscriber

log = logging.getLogger("cryptohub.bus")


class Bus:
    """Topic-based fan-out; ``"*"`` subscribes to every topic."""

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

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        event = Event(topic, data)
        for fn in (*self._subs.get(topic, ()), *self._subs.get("*", ())):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                log.exception("subscriber of %s failed", topic)
        return event
