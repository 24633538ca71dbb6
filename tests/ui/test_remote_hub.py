"""The desktop attached to a real ``serve`` hub (SPEC section 15): what it shows is the
hub's, its actions reach the hub, and it talks to nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cryptohub_desktop.core.time import parse_iso
from cryptohub_desktop.ui.widgets.price_chart import RANGES
from tests.conftest import SLOW
from tests.ui.conftest import until
from tests.ui.serve_hub import ADMIN_TOKEN, hub_btc, tcp_peers, watchlist_btc

MARKET = ["coingecko", "kraken", "bitfinex"]


async def _collected(hub: Any) -> dict[str, Any]:
    """The hub's BTC once every market provider's first collection is in."""
    for _ in range(int(200 * SLOW)):
        m = await hub_btc(hub)
        if m.get("consensus_price") and len(m["sources"]) == len(MARKET):
            return m
        await asyncio.sleep(0.1)
    raise AssertionError(f"the hub did not collect: {m}")


def _newest(m: dict[str, Any]) -> Any:
    return max(parse_iso(s["timestamp"]) for s in m["sources"])


async def test_dashboard_follows_the_hub_and_collect_now_reaches_it(serve_hub, open_remote):
    """The watchlist shows the hub's consensus; "Collect now" in Providers runs the
    provider on the hub, its result shows, and the dashboard has the new collection's
    time within 2 s."""
    hub = serve_hub(MARKET)
    first = await _collected(hub)
    ui = await open_remote(hub.url, ADMIN_TOKEN)
    assert ui.api.state == "connected"
    assert "connected" in ui.window.status.hub.text()
    assert not ui.window.hub_banner.isVisible()
    dash = ui.window.show_view("dashboard")
    row = await until(lambda: watchlist_btc(dash), what="BTC row")
    assert row["fresh"] and row["price"] == first["consensus_price"]

    providers = ui.window.show_view("providers")
    await until(lambda: providers.model.find("kraken") >= 0, what="providers listed")
    providers.table.select_key("kraken")
    details = providers.details
    await until(lambda: details.collect.isEnabled(), what="collect enabled")
    QTest.mouseClick(details.collect, Qt.MouseButton.LeftButton)
    await until(lambda: "kraken" in details.result.text() and "…" not in details.result.text(),
                what="collect result")
    assert "success" in details.result.text()
    after = await hub_btc(hub)
    assert _newest(after) > _newest(first)  # the hub collected again
    ui.window.show_view("dashboard")
    await until(lambda: (r := watchlist_btc(dash)) and parse_iso(r["as_of"]) == _newest(after),
                timeout=2.0, what="the new collection on the dashboard")
    assert watchlist_btc(dash)["price"] == after["consensus_price"]  # type: ignore[index]

    # it talked to the hub only, and stored nothing of its own
    peers = tcp_peers()
    assert (("127.0.0.1", hub.port) in {(h, p) for _, h, p in peers}), peers
    assert {(h, p) for _, h, p in peers} == {("127.0.0.1", hub.port)}, peers
    written = [p.name for p in ui.data_dir.rglob("*") if p.is_file()] \
        if ui.data_dir.exists() else []
    assert not [n for n in written if ".db" in n or n.endswith((".sqlite", "-wal"))], written


async def test_backfill_runs_on_the_hub_and_the_chart_shows_its_candles(serve_hub, open_remote):
    """Backfill from the window runs on the hub (its keys, its limits); the chart then
    draws the hub's candles: the same sources and points as the hub's /api/chart."""
    hub = serve_hub(["cryptocompare"])  # its recorded daily candles are from 2022
    ui = await open_remote(hub.url, ADMIN_TOKEN)
    dialog = ui.window.open_backfill(["BTC"])
    dialog.days.setValue(dialog.days.maximum())
    assert dialog.start.isEnabled()
    result = await dialog.run()
    assert result.ok, result.message
    dash = ui.window.show_view("dashboard")
    panel = dash.chart_panel
    await until(lambda: panel.symbol.findText("BTC") >= 0, what="the hub's watchlist")
    panel.symbol.setCurrentText("BTC")
    panel.chart.set_range("max")
    await panel.load()
    panel.chart.apply_pending()
    answer = await hub.get("/api/chart", symbol="BTC", seconds=RANGES["max"])
    candles = [s for s in answer["series"] if s.get("open")]
    assert candles, answer
    shown = {(s.source, len(s.t)) for s in panel.chart.series}
    assert shown == {(s["source"], len(s["t"])) for s in answer["series"]}
