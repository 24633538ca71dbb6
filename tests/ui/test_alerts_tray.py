"""Alerts become desktop notifications only when worth an interruption (a rule the user
set, a provider they depend on down for a while, a quota running out), deduplicated and
rate-limited; the alerts page lists and acknowledges every alert."""

from __future__ import annotations

import asyncio

from cryptohub_desktop.providers.ratelimit import Usage
from cryptohub_desktop.storage.models import Alert
from cryptohub_desktop.ui import notify_policy
from tests.conftest import SLOW
from tests.replay import Fault
from tests.ui.conftest import by_id, next_signal


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _take_binance_down(ui, replay) -> None:
    replay.fault("/binance", Fault(status=503))
    for _ in range(3):
        assert (await ui.hub.runner.run_provider("binance")).status == "failure"
    await ui.hub.settle()


async def test_a_provider_i_depend_on_down_for_a_while_notifies(open_ui, replay):
    """A provider the user depends on that stays offline past the wait pops up once, with
    how long it has been down."""
    ui = await open_ui(by_id("binance"))
    tray = ui.ctx.extra["tray"]
    ui.ctx.rules.down_minutes = 0.005  # 0.3 s
    ui.ctx.rules.set_depends("binance", True)
    pending = next_signal(tray.notified)
    await _take_binance_down(ui, replay)
    title, message = await pending
    assert title == "Provider down"
    assert "Binance is offline" in message and "for over 0.005 min" in message
    view = ui.window.show_view("alerts")
    await view.refresh()
    assert view.model.row(0)["alert_type"] == "provider_down"


async def test_a_provider_nobody_depends_on_stays_silent(open_ui, replay):
    """Down past the wait, but not a provider the user depends on: listed, not popped up."""
    ui = await open_ui(by_id("binance"))
    tray = ui.ctx.extra["tray"]
    ui.ctx.rules.down_minutes = 0.005
    await _take_binance_down(ui, replay)
    await asyncio.sleep(1.0 * SLOW)
    assert tray.history == []
    rows = await ui.hub.store.read(lambda: list(Alert.select(Alert.alert_type).tuples()))
    assert ("provider_down",) in rows


async def test_a_provider_back_within_the_wait_stays_silent(open_ui, replay):
    """An outage shorter than the wait interrupts nobody."""
    ui = await open_ui(by_id("binance"))
    tray = ui.ctx.extra["tray"]
    ui.ctx.rules.down_minutes = 0.02  # 1.2 s
    ui.ctx.rules.set_depends("binance", True)
    await _take_binance_down(ui, replay)
    replay.clear_faults()
    ui.hub.health.get("binance").circuit_open_until = 0.0  # let the next run call it
    assert (await ui.hub.runner.run_provider("binance")).status == "success"
    await asyncio.sleep(2.0 * SLOW)
    assert tray.history == []


async def test_one_busy_second_at_launch_is_no_popup(open_ui):
    """A per-second rate window at 80 % (a burst at start-up) notifies nothing."""
    ui = await open_ui(by_id("coinbase"))
    tray = ui.ctx.extra["tray"]
    ui.hub.alerts.on_rate_warning(Usage("coinbase", "per_second", 10, 8, 0.5))
    await ui.hub.settle()
    await asyncio.sleep(0.3)
    assert tray.history == []


async def test_notifications_are_deduplicated_and_rate_limited(open_ui):
    """The same quota alert twice notifies once; a burst of alerts shows at most three, and
    the next one says how many were held back."""
    ui = await open_ui(by_id("kraken"))
    tray = ui.ctx.extra["tray"]
    clock = Clock()
    tray.policy.clock = clock
    alert = {"alert_type": "quota", "severity": "warning", "provider_id": "kraken",
             "message": "Kraken quota nearly used up: 8,100 of 10,000 calls per month (81 %)"}
    tray.on_bridge_alert(alert)
    tray.on_bridge_alert({**alert, "message": alert["message"].replace("8,100", "8,200")})
    assert len(tray.history) == 1
    for i in range(5):
        tray.on_bridge_alert({**alert, "provider_id": f"p{i}"})
    assert len(tray.history) == notify_policy.MAX_NOTIFICATIONS
    clock.now += notify_policy.RATE_SECONDS
    tray.on_bridge_alert({**alert, "provider_id": "later"})
    assert "(3 more alerts not shown: see Alerts)" in tray.history[-1][1]


async def test_notifications_follow_the_rules(open_ui):
    """A kind switched off on the rules tab never notifies; stale data is off by default."""
    ui = await open_ui(by_id("kraken"))
    tray = ui.ctx.extra["tray"]
    view = ui.window.show_view("alerts")
    assert not view.kind_boxes["staleness"].isChecked()
    view.kind_boxes["quota"].setChecked(False)
    await ui.hub.alerts.fire("staleness", "warning", "Kraken has sent no new data", "kraken")
    await ui.hub.alerts.fire("quota", "warning", "Kraken quota at 81 %", "kraken")
    pending = next_signal(tray.notified)
    await ui.hub.alerts.fire("storage_error", "critical", "could not store data: disk full")
    assert (await pending)[0] == "Database cannot be written"
    assert [t for t, _ in tray.history] == ["Database cannot be written"]


async def test_price_threshold_fires_once(open_ui):
    """A "BTC above" threshold under the consensus price notifies once, not on every update."""
    ui = await open_ui(by_id("coingecko", "binance", "bitfinex"))
    tray = ui.ctx.extra["tray"]
    view = ui.window.show_view("alerts")
    view.symbol.setText("btc")
    view.price.setValue(1000)
    view.add_button.click()
    assert ui.ctx.rules.prices[0].describe() == "BTC above 1,000"
    pending = next_signal(tray.notified)
    await ui.hub.runner.collect_once()
    title, message = await pending
    assert title == "Price alert"
    assert message.startswith("BTC above 1,000: consensus price is now")
    await ui.hub.runner.collect_once()
    ui.window.on_prices_timeout()
    assert len(ui.ctx.rules.check_prices(dict(ui.hub.prices))) == 0


async def test_acknowledge_marks_the_alert(open_ui):
    """"Acknowledge all" marks every open alert in the database."""
    ui = await open_ui(by_id("kraken"))
    await ui.hub.alerts.fire("staleness", "warning", "one", "kraken")
    await ui.hub.alerts.fire("staleness", "warning", "two", "kraken")
    view = ui.window.show_view("alerts")
    await view.refresh()
    assert view.summary.text().startswith("2 unacknowledged")
    await view.acknowledge([r["id"] for r in view.model.rows])
    rows = await ui.hub.store.read(lambda: list(Alert.select(Alert.acknowledged).tuples()))
    assert rows == [(True,), (True,)]
    assert view.summary.text().startswith("0 unacknowledged")
