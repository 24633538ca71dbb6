"""Per-provider rate limiting: sliding windows over the documented limits.

A call is only sent when every window of the provider has room. If room comes
within ``max_wait`` seconds the call waits; otherwise it is refused with
:class:`~cryptohub_desktop.core.errors.UpstreamRateLimited` and never sent. A 429 with
Retry-After blocks the provider until then (:meth:`RateLimiter.block_for`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.spec import RateLimit

WARNING_RATIO = 0.8


@dataclass
class Usage:
    """Usage of one window, as ``rate_limit_usage`` and ``/api/rate-limits`` show it."""

    provider: str
    limit_type: str
    limit_value: int
    current_usage: int
    reset_in_seconds: float

    @property
    def percentage(self) -> float:
        return round(100.0 * self.current_usage / self.limit_value, 1) if self.limit_value else 0.0

    @property
    def warning(self) -> bool:
        return self.percentage >= WARNING_RATIO * 100


class Limiter(Protocol):
    """What the HTTP door needs of a provider's rate limits (in memory or shared)."""

    provider_id: str
    limits: tuple[RateLimit, ...]

    async def acquire(self, max_wait: float = 0.0) -> None:
        """Take a slot, waiting up to ``max_wait`` seconds; else raise, unsent."""
        ...

    def wait_time(self) -> float:
        """Seconds until one more call fits every window (0 if it fits now)."""
        ...

    def block_for(self, seconds: float) -> None:
        """The provider said wait (429 Retry-After): send nothing for ``seconds``."""
        ...

    @property
    def blocked_for(self) -> float:
        """Seconds the provider is still blocked for."""
        ...

    def usage(self) -> list[Usage]:
        """Use of every window, as ``/api/rate-limits`` shows it."""
        ...

    async def refresh(self) -> None:
        """Bring :meth:`usage` up to date where the windows live elsewhere (shared)."""
        ...


class RateLimiter:
    """Sliding-window limiter for one provider.

    Args:
        provider_id: for messages.
        limits: the documented limits; none means unlimited.
        clock: monotonic seconds (tests pass a fake).
        on_warning: called once with the :class:`Usage` each time a window crosses 80%.
    """

    def __init__(self, provider_id: str, limits: Sequence[RateLimit], *,
                 clock: Callable[[], float] = time.monotonic,
                 on_warning: Callable[[Usage], None] | None = None) -> None:
        self.provider_id = provider_id
        self.limits = tuple(limits)
        self._clock = clock
        self._calls: list[deque[float]] = [deque() for _ in self.limits]
        self._blocked_until = 0.0
        self._warned = [False] * len(self.limits)
        self.on_warning = on_warning
        self._lock = asyncio.Lock()

    def _trim(self, now: float) -> None:
        for limit, calls in zip(self.limits, self._calls, strict=True):
            while calls and calls[0] <= now - limit.seconds:
                calls.popleft()

    def wait_time(self) -> float:
        """Seconds until one more call fits every window (0 if it fits now)."""
        now = self._clock()
        self._trim(now)
        wait = max(0.0, self._blocked_until - now)
        for limit, calls in zip(self.limits, self._calls, strict=True):
            if len(calls) >= limit.calls:
                wait = max(wait, calls[len(calls) - limit.calls] + limit.seconds - now)
        return wait

    def try_acquire(self) -> bool:
        """Take a slot now if there is one."""
        if self.wait_time() > 0:
            return False
        now = self._clock()
        for i, calls in enumerate(self._calls):
            calls.append(now)
            self._check_warning(i)
        return True

    async def acquire(self, max_wait: float = 0.0) -> None:
        """Take a slot, waiting up to ``max_wait`` seconds; else raise, unsent."""
        async with self._lock:
            wait = self.wait_time()
            if wait > max_wait:
                raise UpstreamRateLimited(
                    f"{self.provider_id}: call deferred, rate limit needs {wait:.1f}s",
                    retry_after=wait)
            if wait > 0:
                await asyncio.sleep(wait)
            if not self.try_acquire():  # pragma: no cover - clock moved backwards
                raise UpstreamRateLimited(f"{self.provider_id}: no slot", retry_after=1.0)

    def block_for(self, seconds: float) -> None:
        """The provider said wait (429 Retry-After): send nothing for ``seconds``."""
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    @property
    def blocked_for(self) -> float:
        return max(0.0, self._blocked_until - self._clock())

    async def refresh(self) -> None:
        return None  # the windows are in this process: usage() is always current

    def usage(self) -> list[Usage]:
        now = self._clock()
        self._trim(now)
        out = []
        for limit, calls in zip(self.limits, self._calls, strict=True):
            reset = (calls[0] + limit.seconds - now) if calls else 0.0
            out.append(Usage(self.provider_id, limit.label, limit.calls, len(calls),
                             max(0.0, reset)))
        return out

    def _check_warning(self, i: int) -> None:
        limit, calls = self.limits[i], self._calls[i]
        high = len(calls) >= WARNING_RATIO * limit.calls
        if high and not self._warned[i]:
            self._warned[i] = True
            if self.on_warning:
                self.on_warning(self.usage()[i])
        elif not high and len(calls) < 0.5 * limit.calls:
            self._warned[i] = False  # re-arm once usage has fallen well back
