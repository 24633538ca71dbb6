"""Schema migrations: a new database and one made by the original (v1) schema."""

import sqlite3
from pathlib import Path

from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import MarketPrice
from cryptohub_desktop.storage.store import Store

V1 = Path(__file__).parents[1] / "fixtures" / "schema_v1.sql"


def test_empty_database_gets_the_latest_schema(tmp_path):
    """Opening a new file creates every table and stamps the latest version."""
    store = Store.open(f"sqlite:///{tmp_path}/a.db")
    store.close()
    con = sqlite3.connect(tmp_path / "a.db")
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"providers", "data_collections", "market_prices", "ohlcv", "rotation_state",
            "schema_version"} <= tables
    assert con.execute("select max(version) from schema_version").fetchone()[0] == \
        migrations.LATEST
    assert con.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_v1_database_upgrades_and_keeps_its_rows(tmp_path):
    """A database of the original schema opens, gains the new columns, keeps its data."""
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(V1.read_text())
    con.execute("insert into market_prices (symbol, price_usd, timestamp, source) "
                "values ('BTC', 50000.5, '2024-01-01 00:00:00', 'coingecko')")
    con.execute("insert into providers (id, name, category, base_url, docs_url, requires_key, "
                "key_configured, enabled, priority_tier, pool, rate_limit, status, "
                "consecutive_failures) values ('coingecko','CoinGecko','market_data','u','',0,0,"
                "1,1,'market_data','','online',0)")
    con.commit()
    con.close()
    store = Store.open(f"sqlite:///{path}")
    try:
        row = MarketPrice.get()
        assert (row.symbol, row.price_usd, row.quote, row.outlier) == ("BTC", 50000.5, "USD",
                                                                       False)
    finally:
        store.close()
    con = sqlite3.connect(path)
    versions = [r[0] for r in con.execute("select version from schema_version order by 1")]
    assert versions == list(range(1, migrations.LATEST + 1))
    assert con.execute("select count(*) from providers").fetchone()[0] == 1


def test_v2_database_gains_the_notify_deliveries_table(tmp_path):
    """A v2 database upgrades to v3: notify_deliveries appears, existing rows stay."""
    path = tmp_path / "v2.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = sqlite3.connect(path)
    con.execute("drop table notify_deliveries")
    con.execute("update schema_version set version = 2")
    con.execute("insert into alerts (timestamp, alert_type, severity, message, acknowledged) "
                "values ('2025-01-01 00:00:00', 'staleness', 'warning', 'm', 0)")
    con.commit()
    con.close()
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = sqlite3.connect(path)
    cols = {r[1] for r in con.execute("pragma table_info(notify_deliveries)")}
    assert {"timestamp", "channel", "url", "alert_id", "kind", "status", "attempts", "reason",
            "repeats"} <= cols
    assert [r[0] for r in con.execute("select version from schema_version order by 1")] == [2, 3, 4]
    assert con.execute("select count(*) from alerts").fetchone()[0] == 1
