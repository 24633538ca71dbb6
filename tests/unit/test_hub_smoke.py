"""A hub run of CoinGecko against its replayed documented answer lands in SQLite."""

import pytest

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.storage.models import DataCollection, MarketPrice, ProviderRow

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL


async def test_run_lands_prices_and_collection_row(make_hub):
    """One run writes the documented BTC price with its source and a data_collections row."""
    hub = await make_hub([coingecko.PROVIDER])
    result = await hub.runner.run_provider("coingecko")
    assert result.status == "success", result
    await hub.settle()
    rows = await hub.store.read(lambda: list(MarketPrice.select().dicts()))
    assert [(r["symbol"], r["source"], r["quote"]) for r in rows] == [("BTC", "coingecko", "USD")]
    assert rows[0]["price_usd"] == 67187.3358936566
    cols = await hub.store.read(lambda: list(DataCollection.select().dicts()))
    assert cols[0]["record_count"] == 1 and cols[0]["category"] == "market_data"
    prov = await hub.store.read(lambda: ProviderRow.get_by_id("coingecko").status)
    assert prov == "online"
