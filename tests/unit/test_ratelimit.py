"""Rate limiter: no call over the documented limit, one warning at 80 %, 429 back-off."""

import asyncio

import pytest

from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.ratelimit import RateLimiter
from cryptohub_desktop.providers.spec import RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_never_exceeds_the_window_and_warns_once():
    """A burst of 50 calls against 10/minute lets exactly 10 through and warns once at 80 %."""
    clock = FakeClock()
    warnings = []
    lim = RateLimiter("p", [RateLimit(10, 60)], clock=clock, on_warning=warnings.append)
    allowed = sum(lim.try_acquire() for _ in range(50))
    assert allowed == 10
    assert len(warnings) == 1 and warnings[0].current_usage == 8
    assert warnings[0].percentage == 80.0 and warnings[0].warning
    clock.now += 30
    assert not lim.try_acquire()
    clock.now += 31  # the window has slid past the burst
    assert lim.try_acquire()


def test_every_window_must_have_room():
    """With 2/second and 5/minute, the minute window caps a slow trickle."""
    clock = FakeClock()
    lim = RateLimiter("p", [RateLimit(2, 1), RateLimit(5, 60)], clock=clock)
    sent = 0
    for _ in range(20):
        sent += lim.try_acquire()
        clock.now += 0.6
    assert sent == 5
    usage = {u.limit_type: u for u in lim.usage()}
    assert usage["per_minute"].current_usage == 5 and usage["per_minute"].percentage == 100.0


async def test_acquire_refuses_instead_of_sending_when_the_wait_is_long():
    """A call needing a long wait is refused (never sent) with the wait as retry_after."""
    clock = FakeClock()
    lim = RateLimiter("p", [RateLimit(1, 60)], clock=clock)
    await lim.acquire()
    with pytest.raises(UpstreamRateLimited) as err:
        await lim.acquire(max_wait=1.0)
    assert err.value.retry_after == pytest.approx(60.0)
    assert err.value.status is None


async def test_acquire_waits_for_a_short_gap():
    """A call that fits after a short wait waits instead of failing."""
    lim = RateLimiter("p", [RateLimit(1, 0.2)])
    await lim.acquire()
    t0 = asyncio.get_running_loop().time()
    await lim.acquire(max_wait=1.0)
    assert asyncio.get_running_loop().time() - t0 >= 0.15


def test_retry_after_blocks_the_provider():
    """After a 429 with Retry-After: 30, nothing is sent for 30 seconds."""
    clock = FakeClock()
    lim = RateLimiter("p", [], clock=clock)
    lim.block_for(30)
    assert not lim.try_acquire()
    assert lim.wait_time() == pytest.approx(30)
    clock.now += 30
    assert lim.try_acquire()
