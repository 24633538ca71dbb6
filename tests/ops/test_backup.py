"""Online backups under load, rotation, the daily job, and the restore command."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.config import load_config
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.storage.models import OHLCV
from cryptohub_desktop.storage.store import Store, rotate_backups
from tests.conftest import SLOW
from tests.ops.cli import run_cli

T0 = datetime(2024, 1, 1)


def candles(start: int, n: int, symbol: str = "BTC") -> list[tuple]:
    """``n`` one-minute ohlcv rows from minute ``start`` on."""
    return [("binance", symbol, "1m", T0 + timedelta(minutes=start + i), 1.0, 2.0, 0.5, 1.5, 9.0)
            for i in range(n)]


def count(db: Path, table: str = "ohlcv") -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    finally:
        con.close()


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def old_backups(folder: Path, n: int) -> list[Path]:
    """``n`` valid backup files, one day apart, the oldest first."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = folder / f"api_monitor-2024010{i + 1}-030000.db"
        sqlite3.connect(path).close()
        stamp = time.time() - (n - i) * 86400
        os.utime(path, (stamp, stamp))
        files.append(path)
    return files


async def test_backup_while_writer_inserts_is_consistent(tmp_path):
    """A backup taken mid-writes is sound, holds all rows committed before it, blocks no write."""
    store = Store.open(f"sqlite:///{tmp_path / 'api_monitor.db'}")
    # larger than one 4096-page step of the backup API (about 19 MB)
    store.write_sync(store.insert_ohlcv_rows, candles(0, 60_000))
    committed, during, stop, backing = 60_000, 0, False, False

    async def writer() -> None:
        nonlocal committed, during
        while not stop:
            await store.write(store.insert_ohlcv_rows, candles(committed, 100, "ETH"))
            committed += 100
            during += backing
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        while committed < 62_000:
            await asyncio.sleep(0.01)
        before, backing = committed, True
        out = await asyncio.to_thread(store.backup_to, tmp_path / "backups" / "b.db")
        backing = False
    finally:
        stop = True
        await task
        store.close()
    assert integrity(out) == "ok"
    assert before <= count(out) <= committed
    assert during > 0, "the writer made no commit while the backup ran"
    assert not list(out.parent.glob("*.part"))


def test_rotate_backups_keeps_the_newest_n(tmp_path):
    """rotate_backups deletes all but the newest N files and leaves other files alone."""
    files = old_backups(tmp_path, 5)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    gone = rotate_backups(tmp_path, 2)
    assert sorted(gone) == files[:3]
    assert sorted(tmp_path.glob("api_monitor-*.db")) == files[3:]
    assert other.exists()


def test_backup_command_writes_and_rotates(tmp_path):
    """`backup` writes a verified copy into backups/ and keeps the newest [backup] keep."""
    data = tmp_path / "data"
    old = old_backups(data / "backups", 4)
    store = Store.open(f"sqlite:///{data / 'api_monitor.db'}")
    store.write_sync(store.insert_ohlcv_rows, candles(0, 500))
    store.close()
    res = run_cli(tmp_path, "backup", "--data-dir", str(data), config="[backup]\nkeep = 3\n")
    assert res.returncode == 0, res.stderr
    assert "integrity_check ok" in res.stdout
    left = sorted(data.joinpath("backups").glob("api_monitor-*.db"))
    new = [p for p in left if p not in old]
    assert len(left) == 3 and len(new) == 1 and left[:2] == old[2:]
    assert count(new[0]) == 500 and integrity(new[0]) == "ok"


async def test_daily_backup_job_is_scheduled_and_runs(make_hub):
    """The hub's daily backup job, when it fires, writes a sound backup and rotates to keep."""
    hub = await make_hub([coingecko.PROVIDER], extra="[backup]\nkeep = 2\n", schedule=True)
    folder = hub.config.data_dir / "backups"
    old = old_backups(folder, 3)
    job = hub.scheduler._sched.get_job("__backup__")
    assert job.trigger.interval == timedelta(days=1)
    job.modify(next_run_time=utcnow())
    deadline = time.monotonic() + 10 * SLOW
    while len(left := sorted(folder.glob("api_monitor-*.db"))) != 2:  # copy, then rotation
        assert time.monotonic() < deadline, f"the scheduled backup did not run: {left}"
        await asyncio.sleep(0.05)
    assert old[2] in left and not set(left) & set(old[:2])
    assert all(integrity(p) == "ok" for p in left)


async def test_daily_backup_can_be_turned_off(make_hub):
    """[backup] daily = false schedules no backup job."""
    hub = await make_hub([coingecko.PROVIDER], extra="[backup]\ndaily = false\n", schedule=True)
    assert hub.scheduler.has("__retention__")
    assert not hub.scheduler.has("__backup__")


async def test_restore_command_then_the_app_opens_it(tmp_path, secrets):
    """`restore FILE` into a new data folder gives a database the hub opens with all rows."""
    src = Store.open(f"sqlite:///{tmp_path / 'live' / 'api_monitor.db'}")
    src.write_sync(src.insert_ohlcv_rows, candles(0, 1234))
    backup = src.backup_to(tmp_path / "b" / "api_monitor-20240101-000000.db")
    src.close()
    data = tmp_path / "restored"  # does not exist yet
    res = run_cli(tmp_path, "restore", "--data-dir", str(data), str(backup))
    assert res.returncode == 0, res.stderr
    assert "restored" in res.stdout
    cfg = load_config(tmp_path / "config.toml", data_dir=data)
    hub = Hub(cfg, [coingecko.PROVIDER], secrets)
    await hub.start(schedule=False)
    try:
        assert await hub.store.read(lambda: OHLCV.select().count()) == 1234
        assert hub.store.integrity_check() == "ok"
    finally:
        await hub.stop()


def test_restore_over_a_damaged_database_keeps_it_aside(tmp_path):
    """Restoring over a damaged database works; the damaged file is kept as .before-restore."""
    src = Store.open(f"sqlite:///{tmp_path / 'live' / 'api_monitor.db'}")
    src.write_sync(src.insert_ohlcv_rows, candles(0, 10))
    backup = src.backup_to(tmp_path / "b.db")
    src.close()
    data = tmp_path / "data"
    data.mkdir()
    (data / "api_monitor.db").write_bytes(b"not a database" * 100)
    res = run_cli(tmp_path, "restore", "--data-dir", str(data), str(backup))
    assert res.returncode == 0, res.stderr
    assert count(data / "api_monitor.db") == 10
    assert (data / "api_monitor.db.before-restore").read_bytes() == b"not a database" * 100
    check = run_cli(tmp_path, "check", "--data-dir", str(data), "--no-server")
    assert check.returncode == 0, check.stdout


def test_restore_of_a_bad_file_is_a_clear_error(tmp_path):
    """Restoring from a file that is not a database fails in one line; nothing is changed."""
    data = tmp_path / "data"
    live = Store.open(f"sqlite:///{data / 'api_monitor.db'}")
    live.write_sync(live.insert_ohlcv_rows, candles(0, 7))
    live.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 512)
    res = run_cli(tmp_path, "restore", "--data-dir", str(data), str(bad))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and "not a usable database backup" in res.stderr
    assert count(data / "api_monitor.db") == 7
    assert not (data / "api_monitor.db.before-restore").exists()
