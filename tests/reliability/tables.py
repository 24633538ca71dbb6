"""Counting what landed in the data tables (SPEC section 6)."""

from __future__ import annotations

from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.storage.models import BY_TABLE

DATA_TABLES = ("market_prices", "ohlcv", "news_articles", "whale_transactions",
               "sentiment_metrics", "gas_prices", "blockchain_stats", "rpc_node_status",
               "onchain_metrics")


async def data_rows(hub: Hub) -> dict[str, int]:
    """Rows per data table of ``hub``'s database."""
    assert hub.store is not None

    def count() -> dict[str, int]:
        return {name: BY_TABLE[name].select().count() for name in DATA_TABLES}
    return await hub.store.read(count)
