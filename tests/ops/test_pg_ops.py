"""backup, restore and check on PostgreSQL: pg_dump -Fc into backups/ keeping the last N,
pg_restore in one transaction, pg_amcheck; one-line errors when a tool is missing or the
operation cannot run."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import OHLCV
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.ops.cli import run_cli

pytestmark = pytest.mark.postgresql
T0 = datetime(2024, 1, 1)


def candles(n: int, start: int = 0) -> list[tuple]:
    return [("binance", "BTC", "1m", T0 + timedelta(minutes=start + i), 1.0, 2.0, 0.5, 1.5, 9.0)
            for i in range(n)]


def rows(url: str) -> int:
    store = Store.open(url)
    try:
        return store.write_sync(lambda: OHLCV.select().count())
    finally:
        store.close()


def filled(url: str, n: int) -> None:
    store = Store.open(url)
    try:
        store.write_sync(store.insert_ohlcv_rows, candles(n))
    finally:
        store.close()


def old_dumps(folder: Path, n: int) -> list[Path]:
    """``n`` files named like backups, one day apart, the oldest first."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = folder / f"api_monitor-2024010{i + 1}-030000.dump"
        path.write_bytes(b"PGDMP")
        stamp = time.time() - (n - i) * 86400
        os.utime(path, (stamp, stamp))
        files.append(path)
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backup_writes_a_verified_dump_and_keeps_the_newest_n(tmp_path, database):
    """`backup` runs pg_dump -Fc into backups/, verifies it, and keeps [backup] keep files."""
    data = tmp_path / "data"
    old = old_dumps(data / "backups", 4)
    filled(database.url, 500)
    res = run_cli(tmp_path, "backup", "--data-dir", str(data),
                  config=database.toml + "[backup]\nkeep = 3\n")
    assert res.returncode == 0, res.stderr
    assert "pg_restore --list ok" in res.stdout
    left = sorted(data.joinpath("backups").glob("api_monitor-*.dump"))
    new = [p for p in left if p not in old]
    assert len(left) == 3 and len(new) == 1 and left[:2] == old[2:]
    assert new[0].read_bytes()[:5] == b"PGDMP" and new[0].stat().st_size > 10_000


def test_restore_brings_back_the_backup_and_keeps_the_previous_database(tmp_path, database):
    """`restore FILE` replaces the database with the dump in one transaction; what was
    there is dumped beside the backup first; the app opens the result."""
    filled(database.url, 1234)
    store = Store.open(database.url)
    try:
        backup = store.backup_to(tmp_path / "b" / "api_monitor-20240101-000000.dump")
        store.write_sync(store.insert_ohlcv_rows, candles(100, 5000))
    finally:
        store.close()
    assert rows(database.url) == 1334
    res = run_cli(tmp_path, "restore", "--data-dir", str(tmp_path / "d"), str(backup),
                  config=database.toml)
    assert res.returncode == 0, res.stderr
    assert "restored postgresql://" in res.stdout and "previous database dumped to" in res.stdout
    assert rows(database.url) == 1234
    kept = list((tmp_path / "b").glob("*-before-restore-*.dump"))
    assert len(kept) == 1 and kept[0].stat().st_size > 10_000


def test_restore_of_a_bad_file_or_into_a_busy_database_is_one_line(tmp_path, database):
    """A file that is no dump, or a database a hub has open: one line, exit 1, the
    database unchanged."""
    filled(database.url, 7)
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"\x00garbage" * 512)
    res = run_cli(tmp_path, "restore", "--data-dir", str(tmp_path / "d"), str(bad),
                  config=database.toml)
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "not a usable database backup" in res.stderr and "Traceback" not in res.stderr
    store = Store.open(database.url)
    try:
        good = store.backup_to(tmp_path / "good.dump")
        busy = run_cli(tmp_path, "restore", "--data-dir", str(tmp_path / "d"), str(good),
                       config=database.toml)
    finally:
        store.close()
    assert busy.returncode == 1 and busy.stderr.count("\n") == 1
    assert "in use by a running Crypto Hub" in busy.stderr
    assert rows(database.url) == 7


def test_a_missing_client_program_is_one_line(tmp_path, database):
    """Without PostgreSQL's client programs, backup says which one is missing and how to
    get it; check passes and says what it could not check."""
    nowhere = tmp_path / "no-tools"
    nowhere.mkdir()
    env = {"CRYPTOHUB_PG_BIN": str(nowhere)}
    res = run_cli(tmp_path, "backup", "--data-dir", str(tmp_path / "d"), config=database.toml,
                  env=env)
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "pg_dump not found" in res.stderr and "postgresql-client" in res.stderr
    check = run_cli(tmp_path, "check", "--data-dir", str(tmp_path / "d"), "--port",
                    str(free_port()), config=database.toml, env=env)
    assert check.returncode == 0, check.stdout
    line = next(ln for ln in check.stdout.splitlines() if "database:" in ln)
    assert line.startswith("[ok] database: ") and "tables and indexes were not checked" in line


def test_check_on_postgresql_runs_pg_amcheck(tmp_path, database):
    """`check` connects, finds the schema current and runs pg_amcheck over every table."""
    filled(database.url, 300)
    res = run_cli(tmp_path, "check", "--data-dir", str(tmp_path / "d"), "--port",
                  str(free_port()), config=database.toml)
    assert res.returncode == 0, res.stdout + res.stderr
    line = next(ln for ln in res.stdout.splitlines() if "database:" in ln)
    assert line == (f"[ok] database: {database.url} schema v{migrations.LATEST}, pg_amcheck of every table "
                    "and index ok")


async def test_daily_backup_job_dumps_and_rotates(make_hub):
    """On PostgreSQL the hub's daily backup job writes a dump and keeps [backup] keep."""
    hub = await make_hub([coingecko.PROVIDER], extra="[backup]\nkeep = 2\n", schedule=True)
    folder = hub.config.data_dir / "backups"
    old = old_dumps(folder, 3)
    hub.scheduler._sched.get_job("__backup__").modify(next_run_time=utcnow())
    deadline = time.monotonic() + 20 * SLOW
    while len(left := sorted(folder.glob("api_monitor-*.dump"))) != 2:
        assert time.monotonic() < deadline, f"the scheduled backup did not run: {left}"
        await asyncio.sleep(0.05)
    assert old[2] in left and not set(left) & set(old[:2])
    assert [p for p in left if p not in old][0].stat().st_size > 10_000
