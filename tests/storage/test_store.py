"""The store on each backend: schema, ingest, duplicates, 64-bit ids, retention in
batches, integrity, size, the catalogue sync and upgrades of an older database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from peewee import fn

from cryptohub_desktop.collectors import PROVIDERS, binance, coingecko
from cryptohub_desktop.core.records import Candle, NewsArticle, Price, WhaleTx
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import (
    OHLCV,
    MarketPrice,
    NewsArticleRow,
    WhaleTransaction,
)
from cryptohub_desktop.storage.store import Store

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL

T0 = datetime(2024, 3, 1, tzinfo=UTC)
CATALOGUE_KEYS = {"providers": ["id"], "schedule_config": ["provider_id"],
                  "source_pools": ["name"], "pool_members": ["pool_name", "provider_id"],
                  "rotation_state": ["pool_name"]}


@pytest.fixture
def store(database):
    s = Store.open(database.url)
    yield s
    s.close()


def tables_of(database) -> set[str]:
    if database.backend == "sqlite":
        rows = database.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = database.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


def candles(n: int, start: int = 0) -> list[tuple]:
    return [("binance", "BTC", "1m", (T0 + timedelta(minutes=start + i)).replace(tzinfo=None),
             60000.123456789 + i, 60010.5, 59990.25, 60001.987654321, 12.3456789)
            for i in range(n)]


def test_new_database_has_every_table_and_one_version_row(store, database):
    """A new database gets every table of SPEC section 6 and one schema_version row."""
    assert {"providers", "connection_attempts", "data_collections", "rate_limit_usage",
            "schedule_config", "schedule_compliance", "failure_logs", "alerts",
            "system_metrics", "source_pools", "pool_members", "rotation_history",
            "rotation_state", "market_prices", "ohlcv", "news_articles", "whale_transactions",
            "sentiment_metrics", "gas_prices", "blockchain_stats", "rpc_node_status",
            "onchain_metrics", "notify_deliveries", "schema_version"} <= tables_of(database)
    assert database.query("SELECT version FROM schema_version") == [(migrations.LATEST,)]
    assert store.schema_version() == migrations.LATEST


def test_records_are_stored_as_given_and_duplicates_ignored(store):
    """Prices, news, whales and candles read back exactly; a repeated url, tx or candle
    is skipped and not counted."""
    recs = [Price("btc", 67187.3358936566, T0, market_cap=1.3e12, volume_24h=2.5e10,
                  price_change_24h=-1.25),
            NewsArticle("Bitcoin rallies", "https://news.example/" + "a" * 400, T0,
                        content="text", sentiment="positive", sentiment_score=0.61),
            WhaleTx("ethereum", "0x" + "ab" * 32, T0, 1500.5, "ETH", amount_usd=4.5e6),
            Candle("BTC", "1h", T0, 1.5, 2.25, 1.125, 2.0, 1e-9)]
    first = store.write_sync(store.insert_records, "coingecko", recs)
    assert first == {"market_prices": 1, "news_articles": 1, "whale_transactions": 1,
                     "ohlcv": 1}
    again = store.write_sync(store.insert_records, "coingecko", recs)
    assert again == {"market_prices": 1, "news_articles": 0, "whale_transactions": 0,
                     "ohlcv": 0}
    price = store.write_sync(lambda: MarketPrice.select().order_by(MarketPrice.id).first())
    assert (price.symbol, price.price_usd, price.market_cap, price.price_change_24h,
            price.source, price.timestamp) == ("BTC", 67187.3358936566, 1.3e12, -1.25,
                                               "coingecko", T0.replace(tzinfo=None))
    news = store.write_sync(lambda: NewsArticleRow.get())
    assert len(news.url) == 421 and news.sentiment_score == 0.61
    assert store.write_sync(lambda: WhaleTransaction.get().amount_usd) == 4.5e6
    c = store.write_sync(lambda: OHLCV.get())
    assert (c.open, c.high, c.low, c.close, c.volume) == (1.5, 2.25, 1.125, 2.0, 1e-9)


def test_bulk_candles_count_only_new_rows(store):
    """The writer's bulk candle path stores every value exactly and counts only new rows,
    also for repeats inside one batch."""
    rows = candles(3000)
    assert store.write_sync(store.insert_ohlcv_rows, rows + rows[:10]) == 3000
    assert store.write_sync(store.insert_ohlcv_rows, rows[1000:] + candles(500, 3000)) == 500
    stored = store.write_sync(lambda: list(
        OHLCV.select(OHLCV.source, OHLCV.symbol, OHLCV.interval, OHLCV.open_time, OHLCV.open,
                     OHLCV.high, OHLCV.low, OHLCV.close, OHLCV.volume)
        .order_by(OHLCV.open_time).tuples()))
    assert stored == rows + candles(500, 3000)


def test_ids_of_the_big_tables_are_64_bit(store):
    """ohlcv and market_prices ids go past 2**31 (a hub that ran for years)."""
    big = 3_000_000_000

    def past_2_31() -> tuple[int, int]:
        OHLCV.insert(id=big, source="x", symbol="BTC", interval="1m", open_time=datetime(2020, 1, 1),
                     open=1, high=1, low=1, close=1, volume=1).execute()
        MarketPrice.insert(id=big, symbol="BTC", price_usd=1.0, timestamp=datetime(2020, 1, 1),
                           source="x").execute()
        for table in ("ohlcv", "market_prices"):
            store.backend.after_copy(store.db, table, "id")
        store.insert_ohlcv_rows(candles(5))
        store.insert_records("binance", [Price("ETH", 3000.0, T0)])
        return (OHLCV.select().order_by(OHLCV.id.desc()).first().id,
                MarketPrice.select().order_by(MarketPrice.id.desc()).first().id)

    assert store.write_sync(past_2_31) == (big + 5, big + 1)


def test_retention_deletes_old_rows_in_batches(store):
    """Retention removes what is older than the days given, batch by batch, keeps 1h
    candles and everything recent, and counts what it removed."""
    now = datetime(2024, 6, 1)
    old = [(f"s{i % 3}", "BTC", iv, now - timedelta(days=40, minutes=i), 1, 1, 1, 1, 1)
           for i in range(2500) for iv in ("1m", "1h")]
    new = [("s", "BTC", "1m", now - timedelta(days=5, minutes=i), 1, 1, 1, 1, 1)
           for i in range(700)]
    store.write_sync(store.insert_ohlcv_rows, old + new)
    store.write_sync(lambda: MarketPrice.insert_many(
        [{"symbol": "BTC", "price_usd": 1.0, "source": "x", "timestamp": now - timedelta(days=d)}
         for d in (31, 45, 60, 29, 1)]).execute())
    deleted = store.write_sync(store.retention, 30, 400, now)
    assert deleted == 2500 + 3
    left = store.write_sync(lambda: dict(
        OHLCV.select(OHLCV.interval, fn.COUNT(OHLCV.id)).group_by(OHLCV.interval).tuples()))
    assert left == {"1h": 2500, "1m": 700}
    assert store.write_sync(lambda: MarketPrice.select().count()) == 2


def test_integrity_check_and_size(store):
    """A sound database passes its backend's integrity check; its size is known at once."""
    store.write_sync(store.insert_ohlcv_rows, candles(2000))
    assert store.integrity_check() == "ok"
    assert store.integrity_scope()
    assert store.size_bytes() > 0


async def test_catalogue_sync_twice_keeps_one_row_each_and_user_choices(make_hub, database):
    """A second start re-syncs the catalogue without duplicates and keeps what the user
    set (a provider switched off, a pool's strategy)."""
    providers = [coingecko.PROVIDER, binance.PROVIDER]
    hub = await make_hub(providers)
    await hub.set_enabled("binance", False)
    hub.pools["market_data"].strategy = "round_robin"
    await hub.save_pool("market_data")
    await hub.stop()
    hub = await make_hub(PROVIDERS, mount=False)  # started, never run
    assert not hub.catalogue.enabled["binance"] and hub.catalogue.enabled["coingecko"]
    assert hub.pools["market_data"].strategy == "round_robin"
    assert database.scalar("SELECT COUNT(*) FROM providers") == len(PROVIDERS)
    assert database.scalar("SELECT COUNT(*) FROM schedule_config") == len(PROVIDERS)
    assert database.scalar("SELECT COUNT(*) FROM pool_members") == len(PROVIDERS)
    pools = len(hub.pools)
    assert database.scalar("SELECT COUNT(*) FROM source_pools") == pools
    assert database.scalar("SELECT COUNT(*) FROM rotation_state") == pools
    for table, key in CATALOGUE_KEYS.items():
        cols = ", ".join(key)
        dups = database.query(f"SELECT {cols} FROM {table} GROUP BY {cols} HAVING COUNT(*) > 1")
        assert dups == [], table


def test_a_version_2_database_upgrades_and_keeps_its_rows(database):
    """A database left at schema v2 (no notify_deliveries; on PostgreSQL 32-bit ids and
    4-byte floats) opens, is upgraded step by step, and keeps its rows."""
    store = Store.open(database.url)
    store.write_sync(store.insert_ohlcv_rows, candles(10))
    store.close()
    steps = ["DROP TABLE notify_deliveries", "DELETE FROM schema_version",
             "INSERT INTO schema_version (version, description, applied_at) "
             "VALUES (2, 'old', '2024-01-01 00:00:00')"]
    if database.backend == "postgresql":
        steps += ["ALTER TABLE ohlcv ALTER COLUMN id TYPE integer",
                  "ALTER SEQUENCE ohlcv_id_seq AS integer",
                  "ALTER TABLE market_prices ALTER COLUMN price_usd TYPE real",
                  "ALTER TABLE news_articles ALTER COLUMN url TYPE varchar(255)"]
    for sql in steps:
        database.query(sql)
    store = Store.open(database.url)
    try:
        store.write_sync(store.insert_records, "coingecko", [Price("BTC", 67187.3358936566, T0)])
        assert store.write_sync(lambda: MarketPrice.get().price_usd) == 67187.3358936566
        assert store.write_sync(lambda: OHLCV.select().count()) == 10
    finally:
        store.close()
    versions = [r[0] for r in database.query("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(2, migrations.LATEST + 1))
    assert "notify_deliveries" in tables_of(database)
    if database.backend == "postgresql":
        assert database.scalar("SELECT data_type FROM information_schema.columns WHERE "
                               "table_name = 'ohlcv' AND column_name = 'id'") == "bigint"

