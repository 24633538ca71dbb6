"""Upstream rate limits that hold for the whole team: moving windows in Redis.

One :class:`SharedLimiter` per provider limit group (an account's key shared by
several providers, or one provider), implementing the engine's
:class:`~cryptohub_desktop.providers.ratelimit.Limiter` port on the ``limits``
library's moving windows in Redis, so every instance (and every ``collect``
process of the team) draws on one budget, day and month quotas included. A 429
with Retry-After sets a block key that pauses every instance.

Without Redis the limiter keeps working and fails closed: it falls back to a local
window of each limit divided by the number of live instances (a local share), and
adds the calls it made meanwhile to the shared windows when Redis answers again.
``usage()`` and ``blocked_for`` answer from what the last Redis round trip said
(the engine reads them synchronously); they are refreshed on every call and by
:meth:`SharedLimiter.refresh`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.ratelimit import WARNING_RATIO, RateLimiter, Usage
from cryptohub_desktop.providers.spec import RateLimit

log = logging.getLogger("cryptohub.cluster.limits")

#: windows shorter than this warn only through sustained use (see RateLimiter)
WARN_MIN_SECONDS = 60
#: a window of 5 s or more is held 1 s longer than documented: a slot is taken when a
#: call leaves, and the provider counts when it arrives, later by a latency that varies
#: (the window's whole seconds are the library's granularity)
SLACK_SECONDS = 1


class SharedLimits:
    """The Redis connection and the moving-window strategy shared by every limiter.

    Args:
        url: ``[cluster] redis_url``.
        prefix: the key prefix (tests use their own).
        instances: how many instances are live (for the local share without Redis).
    """

    def __init__(self, url: str, *, prefix: str = "cryptohub",
                 instances: Callable[[], int] = lambda: 1) -> None:
        self.prefix = prefix
        self.instances = instances
        # one quick retry: after an outage the pool's first connection is a dead one
        options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2,
                                   "retry": Retry(NoBackoff(), 1),
                                   "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
        self.storage = RedisStorage(url.replace("redis://", "async+redis://", 1),
                                    implementation="redispy", key_prefix=f"{prefix}:limits",
                                    **options)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.redis = aioredis.from_url(url, decode_responses=True, **options)  # 429 blocks
        self.connected = True

    def limiter(self, group: str, limits: Sequence[RateLimit],
                on_warning: Callable[[Usage], None]) -> SharedLimiter:
        """A group's limiter (:class:`~cryptohub_desktop.engine.ports.Limits` port)."""
        return SharedLimiter(self, group, limits, on_warning)

    async def close(self) -> None:
        await self.redis.aclose()
        # the limits library has no close(); its redis-py client is the bridge's storage
        client = getattr(self.storage.bridge, "storage", None)
        if client is not None:
            await client.aclose()


class SharedLimiter:
    """One limit group's windows in Redis (the Limiter port).

    Args:
        shared: the connection and strategy.
        group: the limit group (the identity of the credential or host in Redis).
        limits: the documented (or configured) limits.
        on_warning: called with the usage of a window of a minute or longer that
            crossed 80 %.
    """

    def __init__(self, shared: SharedLimits, group: str, limits: Sequence[RateLimit],
                 on_warning: Callable[[Usage], None]) -> None:
        self.shared = shared
        self.provider_id = group
        self.limits = tuple(limits)
        self.on_warning = on_warning
        self._items: list[RateLimitItem] = [
            RateLimitItemPerSecond(lim.calls, int(lim.seconds) + (SLACK_SECONDS if
                                                                   lim.seconds >= 5 else 0))
            for lim in self.limits]
        self._block_key = f"{shared.prefix}:block:{group}"
        self._used = [0] * len(self.limits)
        self._reset = [0.0] * len(self.limits)  # epoch seconds
        self._blocked_until = 0.0  # epoch seconds
        self._warned = [False] * len(self.limits)
        self._local: RateLimiter | None = None
        self._local_calls = 0  # made on the local share, to add to Redis later
        self._lock = asyncio.Lock()

    # --- the Limiter port ----------------------------------------------------------------
    async def acquire(self, max_wait: float = 0.0) -> None:
        """Take a slot in every window, waiting up to ``max_wait`` seconds; else raise
        :class:`UpstreamRateLimited` and send nothing."""
        async with self._lock:
            deadline = time.time() + max_wait
            while True:
                try:
                    wait = await self._room()
                    if wait <= 0 and await self._hit():
                        self._after_hit()
                        return
                except (RedisError, OSError) as exc:
                    await self._fallback(exc, max(0.0, deadline - time.time()))
                    return
                wait = max(wait, 0.05)
                if time.time() + wait > deadline:
                    raise UpstreamRateLimited(
                        f"{self.provider_id}: call deferred, the team's rate limit needs "
                        f"{wait:.1f}s", retry_after=wait)
                await asyncio.sleep(wait)

    def wait_time(self) -> float:
        now = time.time()
        wait = max(0.0, self._blocked_until - now)
        for lim, used, reset in zip(self.limits, self._used, self._reset, strict=True):
            if used >= lim.calls:
                wait = max(wait, reset - now)
        return wait

    def block_for(self, seconds: float) -> None:
        """The provider said wait (429 Retry-After): every instance sends nothing for
        ``seconds`` (the block is written to Redis in the background)."""
        self._blocked_until = max(self._blocked_until, time.time() + max(0.0, seconds))
        try:
            asyncio.get_running_loop().create_task(self._write_block(seconds))
        except RuntimeError:
            pass

    @property
    def blocked_for(self) -> float:
        return max(0.0, self._blocked_until - time.time())

    def usage(self) -> list[Usage]:
        now = time.time()
        return [Usage(self.provider_id, lim.label, lim.calls, used, max(0.0, reset - now))
                for lim, used, reset in zip(self.limits, self._used, self._reset, strict=True)]

    async def refresh(self) -> None:
        """Read the windows and the block from Redis (for ``/api/rate-limits``)."""
        try:
            await self._room()
        except (RedisError, OSError):
            self.shared.connected = False

    # --- Redis ---------------------------------------------------------------------------
    async def _room(self) -> float:
        """Seconds until every window has room (0: now); refreshes the cached usage."""
        strategy = self.shared.strategy
        await self._catch_up()
        ttl_ms = await self.shared.redis.pttl(self._block_key)
        self._blocked_until = time.time() + ttl_ms / 1000 if ttl_ms and ttl_ms > 0 else 0.0
        wait = self.blocked_for
        for i, item in enumerate(self._items):
            stats = await strategy.get_window_stats(item, self.provider_id)
            self._used[i] = item.amount - stats.remaining
            self._reset[i] = stats.reset_time
            if stats.remaining <= 0:
                wait = max(wait, stats.reset_time - time.time())
        self.shared.connected = True
        return wait

    async def _hit(self) -> bool:
        """Take one call in every window; False when another instance took the last slot
        meanwhile (the caller looks again)."""
        for i, item in enumerate(self._items):
            if not await self.shared.strategy.hit(item, self.provider_id):
                return False
            self._used[i] += 1
        return True

    async def _write_block(self, seconds: float) -> None:
        try:
            redis = self.shared.redis
            current = await redis.pttl(self._block_key)
            ms = int(seconds * 1000)
            if not current or current < ms:
                await redis.set(self._block_key, "1", px=max(1, ms))
        except (RedisError, OSError) as exc:
            log.warning("%s: could not share the block with the team (%s)", self.provider_id,
                        exc)

    def _after_hit(self) -> None:
        for i, lim in enumerate(self.limits):
            high = self._used[i] >= WARNING_RATIO * lim.calls
            if high and not self._warned[i] and lim.seconds >= WARN_MIN_SECONDS:
                self._warned[i] = True
                self.on_warning(self.usage()[i])
            elif self._used[i] < 0.5 * lim.calls:
                self._warned[i] = False

    # --- without Redis -------------------------------------------------------------------
    async def _fallback(self, exc: BaseException, max_wait: float) -> None:
        """Redis is away: take the slot from this instance's share of each limit."""
        if self.shared.connected:
            log.warning("rate limits: Redis unavailable (%s); each instance keeps to its "
                        "share of every limit until it returns", exc)
        self.shared.connected = False
        if self._local is None:
            n = max(1, self.shared.instances())
            share = [RateLimit(max(1, math.floor(lim.calls / n)), lim.seconds)
                     for lim in self.limits]
            self._local = RateLimiter(self.provider_id, share)
        await self._local.acquire(max_wait=max_wait)
        self._local_calls += 1

    async def _catch_up(self) -> None:
        """Redis is back: add the calls made on the local share to the shared windows."""
        if self._local_calls:
            calls = self._local_calls
            for item in self._items:
                await self.shared.strategy.hit(item, self.provider_id, cost=min(calls,
                                                                                 item.amount))
            self._local_calls = 0
            log.info("rate limits: Redis is back; %s's %d call(s) made meanwhile are counted",
                     self.provider_id, calls)
            self._local = None


class SharedClientLimit:
    """The local server's per-client REST limit (SPEC section 9) kept in Redis, so a
    client gets its ``per_minute`` across every instance of the team, not per instance.
    Without Redis each instance counts on its own meanwhile.

    Args:
        shared: the connection and strategy.
        per_minute: ``[server] rate_limit_per_minute``.
    """

    def __init__(self, shared: SharedLimits, per_minute: int) -> None:
        self.shared = shared
        self.item = RateLimitItemPerSecond(per_minute, 60)
        self._locals: dict[str, RateLimiter] = {}
        self.per_minute = per_minute

    async def hit(self, client: str) -> float:
        """Take one request of ``client``: 0 if allowed, else seconds until one is."""
        key = f"rest:{client}"
        try:
            if await self.shared.strategy.hit(self.item, key):
                return 0.0
            stats = await self.shared.strategy.get_window_stats(self.item, key)
            return max(0.1, stats.reset_time - time.time())
        except (RedisError, OSError):
            local = self._locals.setdefault(client, RateLimiter(
                client, [RateLimit(self.per_minute, 60)]))
            return 0.0 if local.try_acquire() else max(0.1, local.wait_time())
