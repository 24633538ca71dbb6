"""Schema migrations: a new database and one made by the original (v1) schema."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import MarketPrice
from cryptohub_desktop.storage.store import Store

V1 = Path(__file__).parents[1] / "fixtures" / "schema_v1.sql"
_opened: list[sqlite3.Connection] = []


def connect(path: Path | str) -> sqlite3.Connection:
    """A plain sqlite3 connection to look at the file, closed after the test."""
    con = sqlite3.connect(path)
    _opened.append(con)
    return con


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def test_empty_database_gets_the_latest_schema(tmp_path):
    """Opening a new file creates every table and stamps the latest version."""
    store = Store.open(f"sqlite:///{tmp_path}/a.db")
    store.close()
    con = connect(tmp_path / "a.db")
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
    con = connect(path)
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
    con = connect(path)
    versions = [r[0] for r in con.execute("select version from schema_version order by 1")]
    assert versions == list(range(1, migrations.LATEST + 1))
    assert con.execute("select count(*) from providers").fetchone()[0] == 1


def test_v2_database_gains_the_notify_deliveries_table(tmp_path):
    """A v2 database upgrades to v3: notify_deliveries appears, existing rows stay."""
    path = tmp_path / "v2.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = connect(path)
    con.execute("drop table notify_deliveries")
    con.execute("update schema_version set version = 2")
    con.execute("insert into alerts (timestamp, alert_type, severity, message, acknowledged) "
                "values ('2025-01-01 00:00:00', 'staleness', 'warning', 'm', 0)")
    con.commit()
    con.close()
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = connect(path)
    cols = {r[1] for r in con.execute("pragma table_info(notify_deliveries)")}
    assert {"timestamp", "channel", "url", "alert_id", "kind", "status", "attempts", "reason",
            "repeats"} <= cols
    assert [r[0] for r in con.execute("select version from schema_version order by 1")] == [2, 3, 4, 5]
    assert con.execute("select count(*) from alerts").fetchone()[0] == 1


def test_v4_database_gets_one_row_per_scheduled_slot(tmp_path):
    """A v4 database holding a slot twice upgrades to v5 keeping the first row, gains the
    team-hub tables, and then refuses a second row for the same slot."""
    path = tmp_path / "v4.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = connect(path)
    con.execute("drop index data_collections_provider_id_scheduled_time")
    con.execute("drop table hub_instance")
    con.execute("drop table provider_lease")
    con.execute("alter table data_collections drop column instance_id")
    con.execute("delete from schema_version where version = 5")
    for i in range(2):
        con.execute("insert into data_collections (provider_id, category, scheduled_time, "
                    "actual_fetch_time, record_count, payload_size_bytes, on_schedule, status)"
                    " values ('binance', 'market_data', '2026-12-01 10:00:00', ?, ?, 0, 1, "
                    "'success')", (f"2026-12-01 10:00:0{i}", i))
    con.commit()
    con.close()
    store = Store.open(f"sqlite:///{path}")
    store.close()
    con = connect(path)
    rows = con.execute("select record_count from data_collections").fetchall()
    assert rows == [(0,)]
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"hub_instance", "provider_lease"} <= tables
    try:
        con.execute("insert into data_collections (provider_id, category, scheduled_time, "
                    "actual_fetch_time, record_count, payload_size_bytes, on_schedule, status)"
                    " values ('binance', 'market_data', '2026-12-01 10:00:00', "
                    "'2026-12-01 10:00:09', 5, 0, 1, 'success')")
        raise AssertionError("a second row for the same slot was stored")
    except sqlite3.IntegrityError:
        pass
    con.close()
