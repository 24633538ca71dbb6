"""Reconnect backoff and the 5-minute connection budget over many refused connects.

Connects are real (to a local port nothing listens on, refused at once); the door's
clock and sleep are a virtual clock, so ten minutes of backoff take milliseconds.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from cryptohub_desktop.collectors import binance
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.stream import BUDGET_WINDOW_SECONDS, StreamClient, StreamSettings
from tests.ws_replay import closed_port


class VirtualClock:
    """Monotonic seconds that move only when the door sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def refused_attempts(settings: StreamSettings, failures: int) -> list[float]:
    """The virtual times of the first ``failures`` refused connection attempts."""
    clock = VirtualClock()
    times: list[float] = []
    (plan,) = binance.STREAM.plans(["BTC"], SymbolMap.bundled(),
                                   url=f"ws://127.0.0.1:{closed_port()}/ws")
    client = StreamClient(plan, settings, on_records=lambda r, t: None, on_state=lambda s: None,
                          on_error=lambda kind, msg: times.append(clock.time()),
                          clock=clock.time, sleep=clock.sleep, rng=random.Random(7))
    client.start()
    for _ in range(2000):
        if len(times) >= failures:
            break
        await asyncio.sleep(0.005)
    await client.stop()
    assert len(times) >= failures, f"only {len(times)} attempts"
    return times[:failures]


def most_in_any_window(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + BUDGET_WINDOW_SECONDS)
               for start in times)


def gaps_of(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


async def test_spec_defaults_back_off_from_1s_to_60s_with_jitter_and_never_shrink():
    """SPEC defaults, 12 failures: gaps start at 1-1.25 s, double, cap at 60 s, never shrink."""
    times = await refused_attempts(StreamSettings(), 12)
    gaps = gaps_of(times)
    assert 1.0 <= gaps[0] <= 1.25
    assert 2.0 <= gaps[1] <= 2.5
    assert all(b >= a for a, b in zip(gaps, gaps[1:], strict=False))
    assert max(gaps) <= 60.0
    assert gaps[-1] == pytest.approx(60.0)
    assert most_in_any_window(times) <= 20


async def test_after_ten_failures_attempts_stay_within_the_budget_and_gaps_never_shrink():
    """Budget 4 per 5 min, backoff up to 8 s: the 5th attempt waits for the window; gaps grow."""
    settings = StreamSettings(reconnect_initial_seconds=1, reconnect_max_seconds=8,
                              max_connects_per_5min=4)
    times = await refused_attempts(settings, 11)
    gaps = gaps_of(times)
    assert most_in_any_window(times) <= 4
    assert all(b >= a for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[3] >= BUDGET_WINDOW_SECONDS - sum(gaps[:3]) - 1e-6  # the budget made it wait
    assert all(g <= 8.0 for g in gaps[:3])
