"""Retention on 60 days of data: old rows go, recent rows and candle history stay, the
file shrinks."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import peewee
import pytest

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.storage.models import (
    OHLCV,
    RETAINED,
    Alert,
    ConnectionAttempt,
    DataCollection,
    FailureLog,
    GasPriceRow,
    MarketPrice,
    NewsArticleRow,
    ProviderRow,
    SystemMetric,
    WhaleTransaction,
)
from cryptohub_desktop.storage.store import Store

NOW = datetime(2024, 6, 1)
DAYS = 60


def stamps(every_minutes: int):
    """Naive UTC times from 60 days ago up to NOW, every ``every_minutes``."""
    n = DAYS * 24 * 60 // every_minutes
    return [NOW - timedelta(minutes=i * every_minutes) for i in range(n)]


def fill(now: datetime = NOW) -> None:
    """About 14 MB of data and monitoring rows spread over 60 days (writer thread)."""
    shift = now - NOW
    rows: dict[type[peewee.Model], list[dict]] = {
        MarketPrice: [{"symbol": s, "price_usd": 1.0, "timestamp": t + shift, "source": "x"}
                      for t in stamps(20) for s in ("BTC", "ETH", "SOL")],
        OHLCV: [{"source": "binance", "symbol": "BTC", "interval": iv, "open_time": t + shift,
                 "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 3}
                for iv, every in (("1m", 4), ("1h", 60), ("1d", 1440)) for t in stamps(every)],
        NewsArticleRow: [{"title": f"t{i}", "content": "lorem ipsum " * 80, "source": "rss",
                          "url": f"https://n.example/{i}", "published_at": t + shift}
                         for i, t in enumerate(stamps(60))],
        WhaleTransaction: [{"blockchain": "ethereum", "transaction_hash": f"0x{i:064x}",
                            "amount": 1.0, "symbol": "ETH", "timestamp": t + shift,
                            "source": "x"} for i, t in enumerate(stamps(30))],
        GasPriceRow: [{"blockchain": "ethereum", "gas_price_gwei": 9.0, "timestamp": t + shift,
                       "source": "x"} for t in stamps(10)],
        ConnectionAttempt: [{"provider_id": "x", "timestamp": t + shift, "status": "success",
                             "endpoint": "/simple/price?ids=bitcoin"} for t in stamps(10)],
        DataCollection: [{"provider_id": "x", "category": "market_data",
                          "actual_fetch_time": t + shift} for t in stamps(10)],
        FailureLog: [{"provider_id": "x", "timestamp": t + shift, "error_type": "timeout",
                      "error_message": "timed out " * 10} for t in stamps(60)],
        SystemMetric: [{"timestamp": t + shift, "total_providers": 48, "online_count": 40,
                        "degraded_count": 5, "offline_count": 3} for t in stamps(60)],
        Alert: [{"timestamp": t + shift, "alert_type": "staleness", "message": "stale"}
                for t in stamps(720)],
    }
    for model, batch in rows.items():
        for chunk in peewee.chunked(batch, 500):
            model.insert_many(chunk).execute()
    ProviderRow.create(id="x", name="X", category="market_data", base_url="https://x")


def counts(cutoff: datetime) -> dict[str, tuple[int, int]]:
    """(old, recent) rows per retained table, ohlcv split by interval."""
    out = {}
    for model, column in RETAINED.items():
        col = getattr(model, column)
        groups = ([("ohlcv " + iv, OHLCV.interval == iv) for iv in ("1m", "1h", "1d")]
                  if model is OHLCV else [(model._meta.table_name, True)])
        for name, cond in groups:
            old = model.select().where(cond, col < cutoff).count()
            out[name] = (old, model.select().where(cond, col >= cutoff).count())
    return out


def test_retention_drops_old_rows_keeps_history_and_shrinks_the_file(tmp_path):
    """Retention at 30 of 60 days: old rows go, recent rows and 1h/1d candles stay, file shrinks."""
    db = tmp_path / "api_monitor.db"
    store = Store.open(f"sqlite:///{db}")
    cutoff = NOW - timedelta(days=30)
    try:
        store.write_sync(fill)
        before = store.write_sync(counts, cutoff)
        store.close()
        size_before = db.stat().st_size
        assert size_before > 8_000_000
        store = Store.open(f"sqlite:///{db}")
        deleted = store.write_sync(store.retention, 30, 5000, NOW)
        after = store.write_sync(counts, cutoff)
        assert store.write_sync(lambda: ProviderRow.select().count()) == 1
    finally:
        store.close()
    kept = {"ohlcv 1h", "ohlcv 1d"}
    filled = {t: c for t, c in before.items() if c != (0, 0)}
    assert len(filled) == 12 and all(old and recent for old, recent in filled.values())
    for table, (old, recent) in before.items():
        assert after[table] == ((old if table in kept else 0), recent), table
    assert deleted == sum(old for t, (old, _) in before.items() if t not in kept)
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert con.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    assert db.stat().st_size < 0.7 * size_before, (size_before, db.stat().st_size)


@pytest.mark.backends
def test_retention_zero_keeps_everything(database):
    """[retention] days = 0 means keep forever: nothing is deleted."""
    store = Store.open(database.url)
    try:
        store.write_sync(lambda: MarketPrice.create(symbol="BTC", price_usd=1.0, source="x",
                                                    timestamp=NOW - timedelta(days=900)))
        assert store.write_sync(store.retention, 0, 5000, NOW) == 0
        assert store.write_sync(lambda: MarketPrice.select().count()) == 1
    finally:
        store.close()


@pytest.mark.backends
async def test_hub_retention_job_uses_the_configured_days(make_hub):
    """The hub's hourly retention job deletes what is older than [retention] days."""
    hub = await make_hub([coingecko.PROVIDER], extra="[retention]\ndays = 30\n")
    now = to_db(utcnow())
    for age in (40, 29):
        await hub.store.write(lambda a=age: MarketPrice.create(
            symbol="BTC", price_usd=1.0, source="x", timestamp=now - timedelta(days=a)))
    await hub.jobs.retention(utcnow())
    left = await hub.store.read(lambda: [r.timestamp for r in MarketPrice.select()])
    assert left == [now - timedelta(days=29)]
