"""What a team hub replaces: the seams between one engine and a cluster of engines.

A single desktop or ``serve`` process uses the in-process implementations named
here; cluster mode (``cryptohub_desktop.cluster``) hands the engine its own:

- :class:`EventBus`: where updates are published and read. In-process:
  :class:`~cryptohub_desktop.engine.bus.Bus`; cluster: Redis Streams, so every
  instance delivers every update.
- :class:`Coordinator`: which providers this instance collects. In-process:
  :class:`SoleCoordinator` (all of them, always); cluster: leases in PostgreSQL.
- :data:`LimiterFactory`: the rate-limit windows of a provider (or of a group of
  providers sharing one account). In-process: :class:`~cryptohub_desktop.providers.
  ratelimit.RateLimiter` in memory; cluster: moving windows in Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cryptohub_desktop.core.topics import Event, Subscriber
from cryptohub_desktop.providers.ratelimit import Limiter, Usage
from cryptohub_desktop.providers.spec import RateLimit


class EventBus(Protocol):
    """Publish/subscribe of updates by service (SPEC section 8)."""

    def subscribe(self, topic: str, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` with each event of ``topic`` ("*": every topic); returns the
        function that unsubscribes."""
        ...

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Publish ``data`` on ``topic`` (returns at once; delivery may follow)."""
        ...

    def last_seq(self, topic: str) -> int:
        """The ``seq`` of the newest update of ``topic`` delivered to this instance's
        subscribers (0: none yet). A snapshot built now reflects at least that update."""
        ...


class Coordinator(Protocol):
    """Decides which providers this instance collects.

    Attributes:
        instance_id: this instance's name (``origin`` of what it publishes).
    """

    instance_id: str

    def owns(self, provider_id: str) -> bool:
        """Whether this instance may call the provider now."""
        ...

    def epoch(self, provider_id: str) -> int | None:
        """The lease epoch this instance holds for the provider (None: single instance);
        every write of the provider's data is checked against it."""
        ...

    async def start(self, provider_ids: Sequence[str],
                    on_change: Callable[[set[str]], None]) -> None:
        """Begin; ``on_change`` is called with the providers owned (and :data:`TEAM` when
        this instance does the team's own work) whenever they change."""
        ...

    async def stop(self) -> None:
        """Give up everything held, at once."""
        ...


#: the lease of the team's own work (alerts, notifications, retention, gap filling,
#: backups): the instance owning it does that work, once for the team
TEAM = "__team__"

#: (group, documented limits, on_warning) -> the limiter its providers share
LimiterFactory = Callable[[str, Sequence[RateLimit], Callable[[Usage], None]], Limiter]


class SoleCoordinator:
    """A single instance: it owns every provider, always."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id

    def owns(self, provider_id: str) -> bool:
        return True

    def epoch(self, provider_id: str) -> int | None:
        return None

    async def start(self, provider_ids: Sequence[str],
                    on_change: Callable[[set[str]], None]) -> None:
        on_change({*provider_ids, TEAM})

    async def stop(self) -> None:
        return None
