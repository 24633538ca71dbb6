"""The main window against a database filled from replayed real provider answers."""

from __future__ import annotations

from tests.ui.conftest import TEST_KEYS, by_id, cell, replayed, row_of


async def test_every_view_opens_and_fills(open_ui):
    """Each page of the sidebar opens and shows rows from the replayed fixtures."""
    ui = await open_ui(replayed(), keys=TEST_KEYS)
    await ui.hub.runner.collect_once()
    await ui.hub.settle()
    w = ui.window
    assert [w.nav.item(i).text() for i in range(w.nav.count())] == [
        "Dashboard", "Providers", "Schedule", "News & sentiment", "Whales", "Network", "Pools",
        "Sentiment models", "Alerts", "Settings"]
    for key, view in w.views.items():
        w.show_view(key)
        await view.refresh()
        assert w.stack.currentWidget() is view
    assert w.views["providers"].model.rowCount() == len(ui.hub.providers)
    assert w.views["news"].news.rowCount() > 10
    assert w.views["whales"].model.rowCount() > 0
    assert w.views["network"].nodes.rowCount() >= 5
    assert w.views["pools"].pools.rowCount() == 7


async def test_dashboard_watchlist_has_consensus_and_sources(open_ui):
    """The watchlist shows BTC's consensus price (median of sources) and how many sources."""
    ui = await open_ui(by_id("coingecko", "binance", "kraken", "alternative_me"))
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("dashboard")
    await view.refresh()
    btc = row_of(view.watchlist, "BTC")
    assert btc["sources"] == 3
    assert btc["price"] is not None
    assert cell(view.watchlist, view.watchlist.find("BTC"), "price").startswith("$")
    assert view.gauge.value == 40 and view.gauge.classification == "Fear"
