"""What a team hub replaces: the seams between one engine and a cluster of engines.

A single desktop or ``serve`` process uses the in-process implementations named
here; cluster mode (``cryptohub_desktop.cluster``) hands the engine its own:

- :class:`EventBus`: where updates are published and read. In-process:
  :class:`~cryptohub_desktop.engine.bus.Bus`; cluster: Redis Streams, so every
  instance delivers every update.
- :class:`Coordinator`: which providers this instance collects. In-process:
  :class:`SoleCoordinator` (all of them, always); cluster: leases in PostgreSQL.
- :class:`Limits`: the rate-limit windows of a provider (or of a group of providers
  sharing one account). In-process: :class:`MemoryLimits` (a
  :class:`~cryptohub_desktop.providers.ratelimit.RateLimiter` in memory per group);
  cluster: moving windows in Redis shared by the team.

The hub starts and stops what it is given: the bus first and last, the coordinator
with the schedules, the limits closed at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cryptohub_desktop.core.topics import Event, Subscriber
from cryptohub_desktop.providers.ratelimit import Limiter, RateLimiter, Usage
from cryptohub_desktop.providers.spec import RateLimit


class EventBus(Protocol):
    """Publish/subscribe of updates by service (SPEC section 8).

    Attributes:
        connected: whether the transport answers now (``/health`` says when not).
    """

    connected: bool

    def subscribe(self, topic: str, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` with each event of ``topic`` ("*": every topic); returns the
        function that unsubscribes."""
        ...

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Publish ``data`` on ``topic`` (returns at once; delivery may follow)."""
        ...

    async def start(self) -> None:
        """Connect (before anything is published)."""
        ...

    async def stop(self) -> None:
        """Deliver what is pending, briefly, and disconnect."""
        ...

    def last_seq(self, topic: str) -> int:
        """The ``seq`` of the newest update of ``topic`` delivered to this instance's
        subscribers (0: none yet). A snapshot built now reflects at least that update."""
        ...


class Coordinator(Protocol):
    """Decides which providers this instance collects.

    Attributes:
        instance_id: this instance's name (``origin`` of what it publishes).
        connected: whether the lease store answers now.
    """

    instance_id: str
    connected: bool

    def owns(self, provider_id: str) -> bool:
        """Whether this instance may call the provider now."""
        ...

    def epoch(self, provider_id: str) -> int | None:
        """The lease epoch this instance holds for the provider (None: single instance);
        every write of the provider's data is checked against it."""
        ...

    def fence(self, provider_id: str) -> Callable[[], None] | None:
        """A check to run inside the transaction writing the provider's data: it raises
        :class:`~cryptohub_desktop.core.errors.FencedOut` when the lease held at the run's
        start is no longer held (None: a single instance needs none)."""
        ...

    async def start(self, provider_ids: Sequence[str],
                    on_change: Callable[[set[str]], None],
                    on_lost: Callable[[str, float], None] = lambda instance, age: None
                    ) -> None:
        """Begin; ``on_change`` is called with the providers owned (and :data:`TEAM` when
        this instance does the team's own work) whenever they change; ``on_lost`` with
        an instance of the team that stopped without leaving (and the seconds since its
        last heartbeat), once for the team."""
        ...

    async def stop(self) -> None:
        """Give up everything held, at once."""
        ...


#: the lease of the team's own work (alerts, notifications, retention, gap filling,
#: backups): the instance owning it does that work, once for the team
TEAM = "__team__"

class Limits(Protocol):
    """Builds the limiter of each provider limit group.

    Attributes:
        connected: whether shared windows answer now (else each limiter keeps to a
            local share).
    """

    connected: bool

    def limiter(self, group: str, limits: Sequence[RateLimit],
                on_warning: Callable[[Usage], None]) -> Limiter:
        """The limiter of ``group`` (one provider, or an account shared by several)."""
        ...

    async def close(self) -> None:
        """Let go of connections (the engine stopped)."""
        ...


class MemoryLimits:
    """A single instance's limits: windows in this process's memory.

    Args:
        clock: monotonic seconds (tests pass a fake).
    """

    connected = True

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def limiter(self, group: str, limits: Sequence[RateLimit],
                on_warning: Callable[[Usage], None]) -> Limiter:
        return RateLimiter(group, limits, clock=self.clock, on_warning=on_warning)

    async def close(self) -> None:
        return None


class SoleCoordinator:
    """A single instance: it owns every provider, always."""

    connected = True

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id

    def owns(self, provider_id: str) -> bool:
        return True

    def epoch(self, provider_id: str) -> int | None:
        return None

    def fence(self, provider_id: str) -> Callable[[], None] | None:
        return None

    async def start(self, provider_ids: Sequence[str],
                    on_change: Callable[[set[str]], None],
                    on_lost: Callable[[str, float], None] = lambda instance, age: None
                    ) -> None:
        on_change({*provider_ids, TEAM})

    async def stop(self) -> None:
        return None
