"""What the other pages show from replayed provider answers, and what they change."""

from __future__ import annotations

import csv

from cryptohub_desktop.storage.models import PoolMember, SourcePool
from tests.ui.conftest import TEST_KEYS, by_id, cell, row_of

MARKET = ("coingecko", "binance", "kraken", "bitfinex")


async def test_dashboard_chart_overlays_sources(open_ui):
    """The dashboard chart draws one line per source with prices in the range (here the
    sources whose recorded answers carry no timestamp, stamped at collection time)."""
    ui = await open_ui(by_id(*MARKET, "alternative_me", "etherscan", "coindesk_rss"),
                       keys=TEST_KEYS)
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("dashboard")
    await view.refresh()
    await view.chart_panel.load()
    view.chart_panel.chart.apply_pending()
    sources = {s.source for s in view.chart_panel.chart.series}
    assert {"kraken", "bitfinex"} <= sources
    assert len(view.chart_panel.chart.item.listDataItems()) == len(sources)
    assert view.gas.rowCount() >= 1 and view.news.rowCount() >= 1


async def test_schedule_shows_intervals(open_ui):
    """The schedule lists each provider's interval and whether it is active."""
    ui = await open_ui(by_id("coingecko", "newsapi"))
    view = ui.window.show_view("schedule")
    await view.refresh()
    m = view.model
    assert cell(m, m.find("coingecko"), "interval_seconds") == "every 1 min"
    assert row_of(m, "newsapi")["active"] is False


async def test_news_and_sentiment(open_ui):
    """Headlines show with their sentiment and the Fear & Greed gauge has its value."""
    ui = await open_ui(by_id("coindesk_rss", "alternative_me", "reddit"))
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("news")
    await view.refresh()
    assert view.news.rowCount() >= 3
    assert {r["sentiment"] for r in view.news.rows} <= {"positive", "negative", "neutral"}
    assert view.gauge.value == 40
    assert sum(n for _, n, _ in view.ratio.parts) == view.news.rowCount()
    view.search.setText("Bitcoin")
    await view.refresh()
    assert 0 < view.news.rowCount() and all("bitcoin" in (r["title"] + r["summary"]).lower()
                                            for r in view.news.rows)


async def test_whales_and_network(open_ui):
    """Whale transactions and RPC node heights with lag appear."""
    ui = await open_ui(by_id("whale_alert", "llamarpc", "publicnode_eth", "etherscan",
                             "defillama"), keys=TEST_KEYS)
    results = {r.provider_id: r.status for r in await ui.hub.runner.collect_once()}
    assert set(results.values()) == {"success"}, results
    whales = ui.window.show_view("whales")
    await whales.refresh()
    assert whales.model.rowCount() >= 1
    assert "transactions" in whales.summary.text()
    net = ui.window.show_view("network")
    await net.refresh()
    assert net.nodes.rowCount() >= 2
    assert net.gas.rowCount() >= 1 and net.onchain.rowCount() >= 1
    assert all(r["lag_blocks"] >= 0 for r in net.nodes.rows)


async def test_pools_strategy_and_order_are_saved(open_ui):
    """Changing a pool's strategy and moving a member are applied and stored."""
    ui = await open_ui(by_id(*MARKET))
    view = ui.window.show_view("pools")
    await view.refresh()
    view.focus_item("market_data")
    assert view.selected == "market_data"
    await view.set_strategy("round_robin")
    assert ui.hub.pools["market_data"].strategy == "round_robin"
    first, second = ui.hub.pools["market_data"].order()[:2]
    await view.move(second, -1)
    assert ui.hub.pools["market_data"].order()[:2] == [second, first]
    assert [r["provider_id"] for r in view.members.rows][:2] == [second, first]
    stored = await ui.hub.store.read(lambda: (
        SourcePool.get(SourcePool.name == "market_data").strategy,
        [m.provider_id for m in PoolMember.select().where(PoolMember.pool_name == "market_data")
         .order_by(PoolMember.priority)]))
    assert stored[0] == "round_robin" and stored[1][:2] == [second, first]


async def test_sentiment_models_page_scores_a_sentence(open_ui):
    """The active text model is named and a typed sentence gets a label and a score."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("sentiment_models")
    await view.refresh()
    assert view.model_name.text() == ui.hub.text_model.name
    assert view.installed.text() in ("yes", "no")
    label, score = await view.score("Bitcoin crashes as exchange gets hacked, total rekt")
    assert label == "negative" and score < 0
    assert "negative" in view.result.text()
    assert view.history.rowCount() == 1


async def test_tables_export_to_csv(open_ui, tmp_path):
    """A table exports what it shows (sorted and filtered) to CSV, numbers as numbers."""
    ui = await open_ui(by_id(*MARKET))
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("providers")
    await view.refresh()
    view.table.filter.setText("market")
    out = view.table.export_csv(tmp_path / "providers.csv")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert {r["Provider"] for r in rows} == {"CoinGecko", "Binance", "Kraken", "Bitfinex"}
    assert all(float(r["Success"]) == 100.0 for r in rows)
