"""The real command on PostgreSQL: a collect pass stores what it stores on SQLite, the
seed's SQL checks work verbatim in psql, three `serve` processes start at once on an
empty database, and a running hub's database is never written by db migrate."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import BY_TABLE, DATA
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.dbs import TestDatabase
from tests.e2e.test_cli import CMD, _env, _free_port, _replay_config
from tests.replay import ReplayServer

pytestmark = pytest.mark.postgresql

#: measured, not data: they differ from run to run on any backend
MEASURED = {"id", "response_time_ms", "duration_ms", "staleness_minutes", "avg_response_time_ms",
            "memory_rss_mb", "db_size_bytes", "delay_seconds"}
#: what a collect pass writes. Left out, as they vary from run to run on any backend with
#: the order in which providers answered: rotations (how often a pool rotated) and alerts
#: (a deviation alert quotes the consensus of the sources stored before it)
COMPARED = [m._meta.table_name for m in DATA] + [
    "providers", "data_collections", "connection_attempts", "failure_logs", "schedule_config",
    "source_pools", "pool_members"]
CATALOGUE_KEYS = {"providers": "id", "schedule_config": "provider_id", "source_pools": "name",
                  "pool_members": "pool_name, provider_id", "rotation_state": "pool_name"}
SEED_CHECKS = ["SELECT COUNT(*) FROM providers;",
               "SELECT provider_id, category, actual_fetch_time FROM data_collections "
               "ORDER BY actual_fetch_time DESC LIMIT 10;"]


def table_rows(db: TestDatabase, table: str, since: datetime) -> list[tuple[Any, ...]]:
    """A table's rows as Python values (whatever the engine stored), without measured
    columns, with times stamped during the test written as "<now>", sorted."""
    model = BY_TABLE[table]
    fields = [f for f in model._meta.sorted_fields if f.column_name not in MEASURED]
    cols = ", ".join(f'"{f.column_name}"' for f in fields)
    out = []
    for raw in db.query(f'SELECT {cols} FROM "{table}"'):
        row = []
        for f, v in zip(fields, raw, strict=True):
            v = f.python_value(v)
            if isinstance(v, datetime) and v >= since:
                v = "<now>"
            row.append(v)
        out.append(tuple(row))
    return sorted(out, key=repr)


def collect(tmp_path: Path, srv: ReplayServer, db: TestDatabase | None, name: str) -> str:
    cfg = _replay_config(srv, tmp_path / f"{name}.toml")
    if db is not None:
        cfg.write_text(db.toml + cfg.read_text())
    run = subprocess.run([*CMD, "collect", "--once", "--data-dir", str(tmp_path / name),
                          "--config", str(cfg)], capture_output=True, text=True, env=_env(),
                         timeout=180 * SLOW)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return run.stdout


def test_a_collect_pass_stores_the_same_values_as_on_sqlite(tmp_path, database):
    """collect --once against the replayed providers: every data table (and the
    monitoring rows it writes) holds the same values on PostgreSQL as on SQLite; the
    seed's documented SQL checks work verbatim in psql."""
    since = utcnow().replace(tzinfo=None)
    lite = TestDatabase("sqlite", "", tmp_path / "lite" / "api_monitor.db")
    with ReplayServer() as srv:
        collect(tmp_path, srv, None, "lite")
        collect(tmp_path, srv, database, "pg")
    for table in COMPARED:
        on_sqlite, on_pg = table_rows(lite, table, since), table_rows(database, table, since)
        assert on_pg == on_sqlite, table
    for table in [m._meta.table_name for m in DATA if m._meta.table_name != "ohlcv"]:
        assert table_rows(database, table, since), f"{table} is empty: nothing compared"
    psql = shutil.which("psql")
    assert psql, "psql comes with PostgreSQL's client programs (scripts/services)"
    count = subprocess.run([psql, database.url, "-Atc", SEED_CHECKS[0]], capture_output=True,
                           text=True, check=True, timeout=30).stdout
    assert int(count) == len(PROVIDERS) >= 40
    recent = subprocess.run([psql, database.url, "-c", SEED_CHECKS[1]], capture_output=True,
                            text=True, check=True, timeout=30).stdout.strip().splitlines()
    assert recent[0].split("|")[0].strip() == "provider_id" and recent[-1] == "(10 rows)"


def start_serve(tmp_path: Path, name: str, database: TestDatabase) -> tuple[subprocess.Popen[str], int]:
    """`serve` on a free port with every provider switched off (nothing leaves the machine);
    its config carries a password, which must never be shown."""
    port = _free_port()
    url = database.url.replace("postgres@", "postgres:Sup3r-S3cret-PW@")
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n\n' + "".join(
        f"[providers.{p.id}]\nenabled = false\n\n" for p in PROVIDERS))
    proc = subprocess.Popen([*CMD, "serve", "--port", str(port), "--data-dir",
                             str(tmp_path / name), "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    return proc, port


def wait_healthy(port: int, proc: subprocess.Popen[str], deadline: float) -> None:
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"no /health on {port}: {proc.poll()}")
        time.sleep(0.1)


def stop(procs: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    out = []
    for p in procs:
        try:
            out.append(p.communicate(timeout=20 * SLOW))
        except subprocess.TimeoutExpired:
            p.kill()
            out.append(p.communicate())
    return out


def test_three_serves_at_once_on_an_empty_database(tmp_path, database):
    """Three `serve` processes started at the same moment on one empty database all
    answer /health within 30 s, log no traceback, record each migration once and sync
    the catalogue without duplicates; db migrate then refuses to write into it."""
    procs: list[subprocess.Popen[str]] = []
    outputs: list[tuple[str, str]] = []
    try:
        started = [start_serve(tmp_path, f"hub{i}", database) for i in range(3)]
        procs = [p for p, _ in started]
        deadline = time.monotonic() + 30 * SLOW
        for proc, port in started:
            wait_healthy(port, proc, deadline)
        src = tmp_path / "src.db"
        Store.open(f"sqlite:///{src}").close()
        busy = subprocess.run([*CMD, "db", "migrate", "--from", f"sqlite:///{src}", "--to",
                               database.url], capture_output=True, text=True, env=_env(),
                              timeout=60 * SLOW)
    finally:
        outputs = stop(procs)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in out + err
        assert "serving on http://127.0.0.1:" in out and "postgres:****@" in out
        assert "Sup3r-S3cret-PW" not in out + err
    for i in range(3):
        for log in (tmp_path / f"hub{i}" / "logs").glob("*.log"):
            text = log.read_text()
            assert "Traceback" not in text and "Sup3r-S3cret-PW" not in text, log
    versions = database.query("SELECT version, COUNT(*) FROM schema_version GROUP BY version")
    assert versions == [(migrations.LATEST, 1)]
    for table, key in CATALOGUE_KEYS.items():
        assert database.query(f"SELECT {key} FROM {table} GROUP BY {key} "
                              "HAVING COUNT(*) > 1") == [], table
    assert database.scalar("SELECT COUNT(*) FROM providers") == len(PROVIDERS)
    assert database.scalar("SELECT COUNT(*) FROM schedule_config") == len(PROVIDERS)
    assert database.scalar("SELECT COUNT(*) FROM pool_members") == len(PROVIDERS)
    assert busy.returncode == 1 and "in use by a running Crypto Hub" in busy.stderr
    assert busy.stderr.count("\n") == 1

