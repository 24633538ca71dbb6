"""Alerts worth reading: rate-limit warnings only for long windows or sustained use,
quotas as quotas, repeats and floods held back, ages in words."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.time import human_duration
from cryptohub_desktop.engine import alerts as alerts_mod
from cryptohub_desktop.engine.jobs import stale_text
from cryptohub_desktop.providers.ratelimit import RateLimiter, Usage
from cryptohub_desktop.providers.spec import RateLimit
from cryptohub_desktop.storage.models import Alert


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _stored(hub) -> list[dict]:
    await hub.settle()
    return await hub.store.read(lambda: list(Alert.select().order_by(Alert.id).dicts()))


async def _hub(make_hub):
    hub = await make_hub([coingecko.PROVIDER])
    clock = Clock()
    hub.alerts.clock = clock
    return hub, clock


async def test_one_busy_second_is_not_an_alert(make_hub):
    """A per-second window at 80 % once (a burst at launch) raises nothing."""
    hub, _ = await _hub(make_hub)
    limiter = RateLimiter("coingecko", [RateLimit(10, 1)], on_warning=hub.alerts.on_rate_warning)
    for _ in range(9):
        assert limiter.try_acquire()
    assert await _stored(hub) == []


async def test_sustained_use_of_a_short_window_alerts_once(make_hub):
    """A per-second window crossing 80 % again and again for over a minute alerts once."""
    hub, clock = await _hub(make_hub)
    usage = Usage("coingecko", "per_second", 10, 9, 0.5)
    for _ in range(6):
        hub.alerts.on_rate_warning(usage)
        clock.now += 15
    rows = await _stored(hub)
    assert [r["alert_type"] for r in rows] == ["rate_limit_warning"]
    assert "near its limit of 10 calls per second for" in rows[0]["message"]


async def test_minute_window_warns_and_month_window_is_a_quota(make_hub):
    """80 % of a per-minute window is a rate warning; of a monthly window a quota alert."""
    hub, _ = await _hub(make_hub)
    hub.alerts.on_rate_warning(Usage("coingecko", "per_minute", 30, 25, 40.0))
    hub.alerts.on_rate_warning(Usage("coingecko", "per_month", 10000, 8100, 12 * 86400.0))
    rows = await _stored(hub)
    assert [r["alert_type"] for r in rows] == ["rate_limit_warning", "quota"]
    assert rows[0]["message"] == "CoinGecko used 25 of 30 calls per minute (83 %)"
    assert rows[1]["message"].endswith("resets in 12 days")


async def test_repeats_are_held_back_until_the_window_passed(make_hub):
    """The same alert (numbers aside) within 15 minutes is stored once."""
    hub, clock = await _hub(make_hub)
    for used in (25, 26, 27):
        await hub.alerts.fire("rate_limit_warning", "warning", f"X used {used} of 30 calls",
                              "coingecko")
    assert len(await _stored(hub)) == 1
    clock.now += alerts_mod.REPEAT_SECONDS
    await hub.alerts.fire("rate_limit_warning", "warning", "X used 28 of 30 calls",
                          "coingecko")
    assert len(await _stored(hub)) == 2
    assert hub.alerts.held_back["repeat"] == 2


async def test_a_flood_is_held_back_and_summarised(make_hub):
    """More than 20 alerts in 10 minutes: the rest are held back (never the network or a
    critical alert), then one summary says how many."""
    hub, clock = await _hub(make_hub)
    for i in range(25):
        await hub.alerts.fire("staleness", "warning", f"provider p{chr(97 + i)} is stale")
    assert len(await _stored(hub)) == alerts_mod.MAX_ALERTS
    await hub.alerts.fire("network_offline", "warning", "This machine is offline")
    await hub.alerts.fire("provider_down", "critical", "Kraken is offline", "kraken")
    assert [r["alert_type"] for r in (await _stored(hub))[-2:]] == ["network_offline",
                                                                    "provider_down"]
    clock.now += alerts_mod.FLOOD_SECONDS
    await hub.alerts.fire("staleness", "warning", "provider zz is stale")
    rows = await _stored(hub)
    assert rows[-2]["alert_type"] == "alert_flood"
    assert rows[-2]["message"].startswith("5 more alerts held back")
    assert rows[-1]["message"] == "provider zz is stale"


def test_ages_read_as_words():
    """Ages in alert texts are humanised, never "1948078 minutes"."""
    assert human_duration(45) == "45 s"
    assert human_duration(12 * 60) == "12 min"
    assert human_duration(200 * 60) == "3 h 20 min"
    assert human_duration(5 * 86400) == "5 days"
    assert human_duration(1948078 * 60) == "3.7 years"
    text = stale_text("Kraken", 1948078, datetime(2023, 3, 2, 14, 2, tzinfo=UTC))
    assert text == ("Kraken has sent no new data for 3.7 years "
                    "(newest from 2023-03-02 14:02 UTC)")
