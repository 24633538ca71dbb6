"""Rate limits shared by the team, on a real Redis: one budget across processes."""

from __future__ import annotations

import asyncio
import time

import pytest

from cryptohub_desktop.cluster.limits import SharedLimits
from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.spec import RateLimit
from tests.cluster.conftest import REDIS_URL


async def _take(limits: SharedLimits, group: str, n: int, max_wait: float = 0.0) -> list[float]:
    lim = limits.limiter(group, [RateLimit(5, 2)], lambda u: None)
    times = []
    for _ in range(n):
        try:
            await lim.acquire(max_wait=max_wait)
            times.append(time.time())
        except UpstreamRateLimited:
            pass
    return times


async def test_two_instances_share_one_window(redis_prefix):
    """Two instances drawing on a 5-per-2-s limit get 5 calls in all, not 5 each."""
    a = SharedLimits(REDIS_URL, prefix=redis_prefix)
    b = SharedLimits(REDIS_URL, prefix=redis_prefix)
    try:
        got = await asyncio.gather(_take(a, "coingecko", 5), _take(b, "coingecko", 5))
        assert sum(map(len, got)) == 5
    finally:
        await a.close()
        await b.close()


async def test_waiting_callers_never_exceed_the_window(redis_prefix):
    """Callers that wait for room never put more than 5 calls in any 2-s window."""
    limits = [SharedLimits(REDIS_URL, prefix=redis_prefix) for _ in range(3)]
    try:
        got = await asyncio.gather(*(_take(x, "kraken", 4, max_wait=30) for x in limits))
        times = sorted(t for ts in got for t in ts)
        assert len(times) == 12
        assert max(sum(1 for t in times if s <= t < s + 2.0) for s in times) <= 5
    finally:
        for x in limits:
            await x.close()


async def test_a_429_pauses_every_instance(redis_prefix):
    """Retry-After on one instance blocks the provider's calls on the other too."""
    a = SharedLimits(REDIS_URL, prefix=redis_prefix)
    b = SharedLimits(REDIS_URL, prefix=redis_prefix)
    try:
        la = a.limiter("binance", [RateLimit(100, 60)], lambda u: None)
        lb = b.limiter("binance", [RateLimit(100, 60)], lambda u: None)
        la.block_for(30)
        await asyncio.sleep(0.2)
        with pytest.raises(UpstreamRateLimited):
            await lb.acquire(max_wait=1)
        assert lb.blocked_for > 25
    finally:
        await a.close()
        await b.close()


async def test_usage_is_the_teams_and_warns_past_80_percent(redis_prefix):
    """usage() shows what the whole team used; a minute window past 80 % warns once."""
    warnings = []
    a = SharedLimits(REDIS_URL, prefix=redis_prefix)
    b = SharedLimits(REDIS_URL, prefix=redis_prefix)
    try:
        la = a.limiter("cryptopanic", [RateLimit(10, 60)], warnings.append)
        lb = b.limiter("cryptopanic", [RateLimit(10, 60)], lambda u: None)
        for _ in range(4):
            await lb.acquire()
        for _ in range(4):
            await la.acquire()
        (u,) = la.usage()
        assert (u.current_usage, u.limit_value) == (8, 10)
        assert [w.current_usage for w in warnings] == [8]
    finally:
        await a.close()
        await b.close()


async def test_without_redis_each_instance_keeps_to_its_share(redis_prefix, redis_proxy):
    """Redis away: an instance of two keeps to half of each limit (fails closed), and its
    calls count in the shared window once Redis is back."""
    url = f"redis://127.0.0.1:{redis_proxy.port}/0"
    a = SharedLimits(url, prefix=redis_prefix, instances=lambda: 2)
    try:
        lim = a.limiter("okx", [RateLimit(10, 60)], lambda u: None)
        await lim.acquire()
        redis_proxy.cut()
        taken = 0
        for _ in range(10):
            try:
                await lim.acquire()
                taken += 1
            except UpstreamRateLimited:
                break
        assert taken == 5  # half of 10
        assert not a.connected
        redis_proxy.restore()
        await lim.refresh()
        (u,) = lim.usage()
        assert u.current_usage == 6  # 1 before the outage + 5 made on the local share
    finally:
        await a.close()
