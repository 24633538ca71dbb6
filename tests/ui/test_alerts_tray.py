"""Alerts become desktop notifications; the alerts page lists and acknowledges them."""

from __future__ import annotations

from cryptohub_desktop.storage.models import Alert
from tests.replay import Fault
from tests.ui.conftest import by_id, next_signal


async def test_provider_down_alert_becomes_a_tray_notification(open_ui, replay):
    """When a provider goes offline, its alert pops up as a tray notification."""
    ui = await open_ui(by_id("binance"))
    tray = ui.ctx.extra["tray"]
    replay.fault("/binance", Fault(status=503))
    for _ in range(2):
        assert (await ui.hub.runner.run_provider("binance")).status == "failure"
    pending = next_signal(tray.notified)
    await ui.hub.runner.run_provider("binance")
    title, message = await pending
    assert title == "Critical: provider down"
    assert "Binance is offline" in message
    view = ui.window.show_view("alerts")
    await view.refresh()
    assert view.model.row(0)["alert_type"] == "provider_down"


async def test_notifications_follow_the_rules(open_ui):
    """An alert type switched off in the rules does not notify; others do."""
    ui = await open_ui(by_id("kraken"))
    tray = ui.ctx.extra["tray"]
    view = ui.window.show_view("alerts")
    view.kind_boxes["staleness"].setChecked(False)
    await ui.hub.alerts.fire("staleness", "warning", "kraken has sent no new data", "kraken")
    pending = next_signal(tray.notified)
    await ui.hub.alerts.fire("rate_limit_warning", "warning", "kraken used 80%", "kraken")
    assert (await pending)[0] == "Warning: rate limit warning"
    assert [t for t, _ in tray.history] == ["Warning: rate limit warning"]


async def test_price_threshold_fires_once(open_ui):
    """A "BTC above" threshold under the consensus price notifies once, not on every update."""
    ui = await open_ui(by_id("coingecko", "binance", "bitfinex"))
    tray = ui.ctx.extra["tray"]
    view = ui.window.show_view("alerts")
    view.kind_boxes["rate_limit_warning"].setChecked(False)
    view.symbol.setText("btc")
    view.price.setValue(1000)
    view.add_button.click()
    assert ui.ctx.rules.prices[0].describe() == "BTC above 1,000"
    pending = next_signal(tray.notified)
    await ui.hub.runner.collect_once()
    title, message = await pending
    assert title == "Warning: price threshold"
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
