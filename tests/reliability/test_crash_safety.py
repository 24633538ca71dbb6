"""SIGKILL in the middle of writing: the database stays intact and keeps every commit.

The store runs SQLite in WAL mode with synchronous=NORMAL: a transaction whose write
returned is in the WAL (the OS page cache) and survives the death of the process; only
a power cut may lose the last transactions, never corrupt the file.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.replay import ReplayServer, providers_with_fixtures

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 5


class Child:
    """A subprocess whose stdout lines are collected by a thread."""

    def __init__(self, args: list[str], **kw) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=ROOT, env=env, **kw)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout * SLOW
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := rx.search(line):
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop(self, timeout: float = 15.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout * SLOW)
        self._close()
        return rc

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for c in started:
        if c.proc.poll() is None:
            c.kill9()
        else:
            c._close()


def verify(db: Path) -> tuple[str, int, int]:
    """(integrity_check, ohlcv rows, data_collections rows) of a database file."""
    con = sqlite3.connect(db)
    try:
        verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
        ohlcv = con.execute("SELECT COUNT(*) FROM ohlcv").fetchone()[0]
        runs = con.execute("SELECT COUNT(*) FROM data_collections").fetchone()[0]
    finally:
        con.close()
    return verdict, ohlcv, runs


def test_sigkill_during_ingest_loses_no_commit(tmp_path, children):
    """Killed at random mid-ingest, 5 times: integrity ok and every reported commit is there."""
    db = tmp_path / "data" / "api_monitor.db"
    rng = random.Random(7)
    previous = 0
    for _ in range(REPEATS):
        child = Child([sys.executable, "-m", "tests.reliability.ingest_child",
                       f"sqlite:///{db}", "5000"])
        children.append(child)
        start = int(child.wait_for(r"^ready (\d+)", 30).group(1))
        assert start >= previous
        child.wait_for(r"^committed \d+", 15)
        time.sleep(rng.uniform(0.05, 0.6))  # lands anywhere in a batch, or a checkpoint
        child.kill9()
        committed = [int(m.group(1)) for line in child.lines
                     if (m := re.match(r"committed (\d+)", line))]
        assert committed, child.lines
        verdict, rows, _ = verify(db)
        assert verdict == "ok"
        assert rows >= committed[-1], f"{rows} rows after reporting {committed[-1]}"
        assert rows in (committed[-1], committed[-1] + 5000)  # a batch is all or nothing
        previous = rows
    store = Store.open(f"sqlite:///{db}")  # the app opens (and migrates) the survivor
    try:
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def _serve_config(tmp_path: Path, replay: ReplayServer) -> Path:
    for pid in providers_with_fixtures():
        replay.mount(pid)
    lines = ["[schedule]", *(f'{c} = "every_5_sec"' for c in (
        "market_data", "blockchain_explorers", "news", "sentiment", "onchain_analytics",
        "rpc_nodes", "whale_tracking")), "", "[backup]", "daily = false", ""]
    for p in PROVIDERS:  # every provider at the replay (404 where nothing is recorded)
        lines += [f"[providers.{p.id}]", f'base_url = "{replay.url}/{p.id}"', ""]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, config: Path) -> list[str]:
    exe = Path(sys.executable).with_name("cryptohub-desktop")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cryptohub_desktop"]
    return [*cmd, "serve", "--config", str(config), "--data-dir", str(tmp_path / "data"),
            "--port", str(free_port()), "--log-level", "WARNING"]


def _wait_rows(db: Path, more_than: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if db.exists():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                try:
                    n = con.execute("SELECT COUNT(*) FROM data_collections").fetchone()[0]
                finally:
                    con.close()
                if n > more_than:
                    return n
            except sqlite3.OperationalError:
                pass  # not created yet
        time.sleep(0.1)
    raise AssertionError(f"data_collections never passed {more_than} rows")


def test_sigkill_of_serve_while_collecting_then_restart(tmp_path, children):
    """`serve` killed while collecting restarts cleanly: integrity ok, data kept, collects on."""
    db = tmp_path / "data" / "api_monitor.db"
    with ReplayServer() as replay:
        config = _serve_config(tmp_path, replay)
        first = Child(_serve(tmp_path, config))
        children.append(first)
        first.wait_for(r"serving on http://", 30)
        _wait_rows(db, 4, 30)  # several providers have run
        time.sleep(random.Random(3).uniform(0.0, 0.8))
        first.kill9()
        verdict, _, runs_before = verify(db)
        assert verdict == "ok"

        second = Child(_serve(tmp_path, config))
        children.append(second)
        port = int(second.wait_for(r"serving on http://127\.0\.0\.1:(\d+)", 30).group(1))
        answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5 * SLOW)
        assert answer.status_code == 200 and answer.json()["status"] == "healthy"
        _wait_rows(db, runs_before, 30)  # collecting again after the restart
        assert second.stop() == 0, second.lines
        assert "stopped" in second.lines
    verdict, _, runs_after = verify(db)
    assert verdict == "ok" and runs_after > runs_before
    assert not any("Traceback" in line for line in second.lines), "\n".join(second.lines)
