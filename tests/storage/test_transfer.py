"""db migrate (storage.transfer): every table SQLite -> PostgreSQL -> SQLite with equal
rows, idempotent, and never into a database a hub is using."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import peewee
import pytest

from cryptohub_desktop.core.errors import StoreError, StoreLocked
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.storage.models import OHLCV, MarketPrice
from cryptohub_desktop.storage.store import Store
from cryptohub_desktop.storage.transfer import COPIED, transfer
from tests.ops.cli import run_cli

T0 = datetime(2024, 1, 1, 12, 0, 0, 123456)
ROWS = 40
CANDLES = 12_000  # more than two batches


def value(field: peewee.Field, i: int) -> Any:
    """A value of ``field``'s type for row ``i`` (every 7th nullable value is NULL)."""
    if field.null and i % 7 == 3:
        return None
    if isinstance(field, peewee.BooleanField):
        return i % 2 == 0
    if isinstance(field, peewee.DateTimeField):
        return T0 + timedelta(minutes=i, microseconds=i)
    if isinstance(field, peewee.FloatField):
        return i * 1.1 + 0.123456789012
    if isinstance(field, peewee.BigIntegerField):
        return 2**40 + i
    if isinstance(field, peewee.IntegerField):
        return i
    if isinstance(field, peewee.TextField):
        return f"ünïcødé text {i} — «quotes» 'and' \"more\"\n second line"
    return f"{field.name}-{i}"


def fill(store: Store) -> dict[str, int]:
    """Rows in every copied table; returns the count per table."""
    def write() -> None:
        for model in COPIED:
            fields = [f for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)]
            model.insert_many([{f.name: value(f, i) for f in fields} for i in range(ROWS)]
                              ).execute()
        store.insert_ohlcv_rows([("binance", "ETH", "1m", T0 + timedelta(minutes=i), 1.5, 2.5,
                                  0.5, 2.0, i * 0.001) for i in range(CANDLES)])
    store.write_sync(write)
    return {m._meta.table_name: ROWS + (CANDLES if m is OHLCV else 0) for m in COPIED}


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every copied table of a SQLite file, rows in key order, as stored."""
    con = sqlite3.connect(path)
    try:
        out = {}
        for model in COPIED:
            key = model._meta.primary_key.column_name
            out[model._meta.table_name] = con.execute(
                f'SELECT * FROM "{model._meta.table_name}" ORDER BY "{key}"').fetchall()
        return out
    finally:
        con.close()


@pytest.mark.postgresql
def test_round_trip_sqlite_postgresql_sqlite_twice(tmp_path, database):
    """SQLite -> PostgreSQL -> SQLite gives the same rows in every table; a second round
    trip adds nothing; the PostgreSQL copy takes new rows after the copied ids."""
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    store = Store.open(f"sqlite:///{src}")
    expected = fill(store)
    store.close()
    seen: list[tuple[int, int, str]] = []
    for round_ in (1, 2):
        there = transfer(f"sqlite:///{src}", database.url, batch=5000,
                         progress=lambda d, t, n: seen.append((d, t, n)))
        back = transfer(database.url, f"sqlite:///{dst}", batch=5000)
        for result in (there, back):
            assert {r.table: r.source for r in result} == expected
            assert {r.table: r.after for r in result} == expected
            assert all(r.copied == (r.source if round_ == 1 else 0) for r in result), result
    assert dump(dst) == dump(src)
    total = sum(expected.values())
    assert seen[-1] == (total, total, "onchain_metrics") and len(seen) > len(COPIED)
    store = Store.open(database.url)
    try:
        store.write_sync(store.insert_records, "coingecko", [Price("BTC", 1.0, utcnow())])
        assert store.write_sync(lambda: MarketPrice.select().count()) == ROWS + 1
    finally:
        store.close()


@pytest.mark.backends
def test_refuses_to_write_into_a_database_in_use(tmp_path, database):
    """While a store (a running hub) has the target open, db migrate refuses, changing
    nothing; once it is closed, the copy runs."""
    src = tmp_path / "src.db"
    store = Store.open(f"sqlite:///{src}")
    fill(store)
    store.close()
    target = Store.open(database.url)
    try:
        with pytest.raises(StoreLocked, match="in use by a running Crypto Hub"):
            transfer(f"sqlite:///{src}", database.url)
        assert target.write_sync(lambda: OHLCV.select().count()) == 0
    finally:
        target.close()
    assert transfer(f"sqlite:///{src}", database.url)[0].copied == ROWS


def test_bad_sources_are_one_line_errors(tmp_path):
    """The same database twice, a missing source, or a source of an older schema: one
    clear error, nothing written."""
    a = tmp_path / "a.db"
    Store.open(f"sqlite:///{a}").close()
    with pytest.raises(StoreError, match="same database"):
        transfer(f"sqlite:///{a}", f"sqlite:///{tmp_path}/../{tmp_path.name}/a.db")
    with pytest.raises(StoreError, match="no database at"):
        transfer(f"sqlite:///{tmp_path}/none.db", f"sqlite:///{tmp_path}/b.db")
    assert not (tmp_path / "none.db").exists()
    con = sqlite3.connect(a)
    con.execute("UPDATE schema_version SET version = 2")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="has schema v2.*open it once with this version"):
        transfer(f"sqlite:///{a}", f"sqlite:///{tmp_path}/b.db")


@pytest.mark.postgresql
def test_db_migrate_command_prints_progress_and_counts(tmp_path, database):
    """`db migrate` shows its progress per table, then a row count per table; run again it copies
    nothing; into a database in use it fails in one line."""
    src = tmp_path / "src.db"
    store = Store.open(f"sqlite:///{src}")
    fill(store)
    store.close()
    res = run_cli(tmp_path, "db", "migrate", "--from", f"sqlite:///{src}", "--to", database.url)
    assert res.returncode == 0, res.stderr
    # stderr is no terminal here: one line per table as it is done (a tqdm bar on a tty)
    assert "providers: copied" in res.stderr and "Traceback" not in res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["table", "source", "target", "before", "copied", "target", "after"]
    table = lines[2:lines.index("")]
    rows = {ln.split()[0]: ln.split()[1:] for ln in table}
    assert set(rows) == {m._meta.table_name for m in COPIED}
    assert rows["ohlcv"] == [str(ROWS + CANDLES), "0", str(ROWS + CANDLES), str(ROWS + CANDLES)]
    assert rows["providers"] == [str(ROWS), "0", str(ROWS), str(ROWS)]
    assert lines[-1].startswith(f"{ROWS * len(COPIED) + CANDLES} rows copied")
    again = run_cli(tmp_path, "db", "migrate", "--from", f"sqlite:///{src}", "--to", database.url)
    assert again.returncode == 0 and again.stdout.splitlines()[-1].startswith("0 rows copied")
    target = Store.open(database.url)
    try:
        busy = run_cli(tmp_path, "db", "migrate", "--from", f"sqlite:///{src}",
                       "--to", database.url)
    finally:
        target.close()
    assert busy.returncode == 1 and busy.stderr.count("\n") == 1
    assert "in use by a running Crypto Hub" in busy.stderr
