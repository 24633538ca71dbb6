"""Disk trouble: a full disk, a read-only database, an unusable data folder or file.

Tests run as root, which ignores file permissions, and may not mount file systems, so
the trouble is made inside SQLite: ``PRAGMA max_page_count`` caps the file at its
current size (then every free slot is filled: a full disk), ``PRAGMA query_only``
makes the writer's connection refuse writes as a read-only file would. Both are set
on the writer thread's own connection, the one every write goes through.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.storage.models import OHLCV, Alert, ConnectionAttempt, MarketPrice
from cryptohub_desktop.storage.store import Store
from tests.reliability.ingest_child import _batch

UNCAPPED = 1073741823  # SQLite's default max_page_count


async def cap_at_current_size(store: Store) -> int:
    """Forbid the database file to grow; returns its page count."""
    def cap() -> int:
        pages = store.db.execute_sql("PRAGMA page_count").fetchone()[0]
        store.db.execute_sql(f"PRAGMA max_page_count = {pages}")
        return pages
    return await store.write(cap)


async def uncap(store: Store) -> None:
    await store.write(lambda: store.db.execute_sql(f"PRAGMA max_page_count = {UNCAPPED}"))


async def fill(store: Store, insert) -> int:
    """Insert small filler rows until five in a row find no room; returns rows added.

    Fillers are no bigger than the rows the hub writes, so when they no longer fit,
    neither does a real row.
    """
    added = misses = 0
    while misses < 5:
        try:
            await store.write(insert)
            added, misses = added + 1, 0
        except StoreError:
            misses += 1
    return added


async def fill_disk(store: Store, provider_id: str) -> None:
    """A full disk: no page may be added and the tables a run writes first have no room."""
    await cap_at_current_size(store)
    await fill(store, lambda: ConnectionAttempt.insert(
        provider_id=provider_id, timestamp=_now(), status="~", endpoint="").execute())
    await fill(store, lambda: Alert.insert(timestamp=_now(), alert_type="~",
                                           message="").execute())


async def free_disk(store: Store) -> None:
    """Space is back: lift the cap and remove the fillers."""
    await uncap(store)
    await store.write(lambda: ConnectionAttempt.delete().where(
        ConnectionAttempt.status == "~").execute())
    await store.write(lambda: Alert.delete().where(Alert.alert_type == "~").execute())


def _now():
    from cryptohub_desktop.core.time import to_db, utcnow
    return to_db(utcnow())


async def test_full_disk_refuses_a_batch_whole_and_says_why(tmp_path):
    """A batch that does not fit fails whole with 'the disk is full'; it fits once space is back."""
    store = await asyncio.to_thread(Store.open, f"sqlite:///{tmp_path / 'a.db'}")
    try:
        await store.write(store.insert_ohlcv_rows, _batch(0, 20000))
        await cap_at_current_size(store)
        try:
            await store.write(store.insert_ohlcv_rows, _batch(20000, 5000))
            raise AssertionError("the write passed a full disk")
        except StoreError as exc:
            assert "disk is full" in str(exc) and "nothing stored was lost" in str(exc)
        assert await store.read(lambda: OHLCV.select().count()) == 20000
        await uncap(store)
        assert await store.write(store.insert_ohlcv_rows, _batch(20000, 5000)) == 5000
        assert await store.read(lambda: OHLCV.select().count()) == 25000
        assert await store.read(store.integrity_check) == "ok"
    finally:
        store.close()


async def test_full_disk_during_runs_is_a_storage_error_and_recovers(make_hub, caplog):
    """Full disk: storage_error, a log line, one alert; old rows kept; runs store again after."""
    hub = await make_hub([coingecko.PROVIDER])
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    before = await hub.store.read(lambda: MarketPrice.select().count())
    published = []
    hub.bus.subscribe("alerts", lambda ev: published.append(ev.data))
    await fill_disk(hub.store, "coingecko")
    caplog.set_level(logging.ERROR, logger="cryptohub.hub")
    for _ in range(3):
        r = await hub.runner.run_provider("coingecko")
        assert (r.status, r.error_type) == ("failure", "storage_error"), r
        assert "disk is full" in r.error
    await hub.settle()
    assert any("could not store the run" in m and "disk is full" in m
               for m in caplog.messages), caplog.messages
    storage = [a for a in published if a["alert_type"] == "storage_error"]
    assert len(storage) == 1 and "disk is full" in storage[0]["message"]
    assert storage[0]["id"] is None  # no room for it in the database: published anyway
    assert await hub.store.read(lambda: MarketPrice.select().count()) == before

    await free_disk(hub.store)
    assert await hub.store.read(lambda: MarketPrice.select().count()) == before
    r = await hub.runner.run_provider("coingecko")
    assert r.status == "success", r
    assert await hub.store.read(lambda: MarketPrice.select().count()) > before
    assert await hub.store.read(hub.store.integrity_check) == "ok"

    await fill_disk(hub.store, "coingecko")  # a second episode is reported again
    assert (await hub.runner.run_provider("coingecko")).error_type == "storage_error"
    await hub.settle()
    assert len([a for a in published if a["alert_type"] == "storage_error"]) == 2
    await free_disk(hub.store)


async def test_read_only_database_is_a_clear_storage_error(make_hub):
    """A database refusing writes gives 'read-only' storage errors; writable again, runs store."""
    hub = await make_hub([coingecko.PROVIDER])
    await hub.store.write(lambda: hub.store.db.execute_sql("PRAGMA query_only = 1"))
    r = await hub.runner.run_provider("coingecko")
    assert (r.status, r.error_type) == ("failure", "storage_error")
    assert "read-only" in r.error
    await hub.settle()
    await hub.store.write(lambda: hub.store.db.execute_sql("PRAGMA query_only = 0"))
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    assert await hub.store.read(lambda: MarketPrice.select().count()) > 0


def test_open_refuses_a_data_folder_that_is_a_file(tmp_path):
    """A data 'folder' that is a file: Store.open raises StoreError naming the folder."""
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    try:
        Store.open(f"sqlite:///{blocker / 'api_monitor.db'}")
        raise AssertionError("opened a database inside a file")
    except StoreError as exc:
        assert "cannot create" in str(exc) and str(blocker) in str(exc)


def test_open_refuses_a_database_file_that_is_not_a_database(tmp_path):
    """A damaged database file gives a one-line StoreError, not a traceback, and is untouched."""
    db = tmp_path / "api_monitor.db"
    junk = b"this is not SQLite\n" * 300
    db.write_bytes(junk)
    try:
        Store.open(f"sqlite:///{db}")
        raise AssertionError("opened garbage as a database")
    except StoreError as exc:
        assert "not a database" in str(exc)
    assert db.read_bytes() == junk


def test_cli_reports_an_unusable_data_folder_in_one_line(tmp_path):
    """`collect --once` with a data folder that is a file: exit 1, one line, no traceback."""
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    out = subprocess.run([sys.executable, "-m", "cryptohub_desktop", "collect", "--once",
                          "--provider", "coingecko", "--config", str(cfg), "--data-dir",
                          str(blocker)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    text = (out.stdout + out.stderr).strip()
    assert "Traceback" not in text and str(blocker) in text, text
    assert len(text.splitlines()) == 1, text


def test_database_survives_a_full_disk_byte_for_byte(tmp_path):
    """What was committed before the disk filled is readable by plain sqlite3 afterwards."""
    path = tmp_path / "b.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        store.write_sync(store.insert_ohlcv_rows, _batch(0, 3000))
        store.write_sync(lambda: store.db.execute_sql(
            f"PRAGMA max_page_count = {store.db.execute_sql('PRAGMA page_count').fetchone()[0]}"))
        for start in range(3000, 30000, 3000):
            try:
                store.write_sync(store.insert_ohlcv_rows, _batch(start, 3000))
            except StoreError:
                break
        else:
            raise AssertionError("the cap never bit")
    finally:
        store.close()
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = con.execute("SELECT COUNT(*) FROM ohlcv").fetchone()[0]
        assert n >= 3000 and n % 3000 == 0
    finally:
        con.close()
