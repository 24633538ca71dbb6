"""The real command as a subprocess: providers, collect --once, serve, user mistakes."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from cryptohub_desktop.collectors import PROVIDERS
from tests.conftest import SLOW
from tests.replay import ReplayServer, providers_with_fixtures

CMD = [sys.executable, "-m", "cryptohub_desktop"]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "QT_QPA_PLATFORM": "offscreen"}, **extra)
    for p in PROVIDERS:  # every keyed provider gets the recorded fixtures' test key
        for name in p.spec.auth.key_names[:1]:
            env[name] = "test-key"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replay_config(srv: ReplayServer, path: Path) -> Path:
    lines = ["[consensus]", "max_age_seconds = 2000000000", ""]
    for pid in providers_with_fixtures():
        lines += [f"[providers.{pid}]", f'base_url = "{srv.mount(pid)}"', ""]
    path.write_text("\n".join(lines))
    return path


def test_providers_lists_the_catalogue():
    """`providers` prints 40+ providers in 7 categories, 30+ without a key."""
    out = subprocess.run([*CMD, "providers"], capture_output=True, text=True, env=_env(),
                         timeout=60 * SLOW, check=True).stdout
    lines = [ln for ln in out.splitlines()[2:] if ln.strip() and not ln.endswith("key")]
    ids = {ln.split()[0] for ln in lines if ln.split()}
    assert {"coingecko", "etherscan", "mempool_space", "alternative_me", "ankr",
            "defillama", "eth_whales"} <= ids
    assert "48 providers, 35 without a key" in out


def test_collect_once_fills_every_table(tmp_path):
    """collect --once against the replayed providers fills the data tables with their values."""
    with ReplayServer() as srv:
        cfg = _replay_config(srv, tmp_path / "c.toml")
        run = subprocess.run([*CMD, "collect", "--once", "--data-dir", str(tmp_path / "d"),
                              "--config", str(cfg)], capture_output=True, text=True,
                             env=_env(), timeout=180 * SLOW)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "coingecko" in run.stdout and "success" in run.stdout
    with closing(sqlite3.connect(tmp_path / "d" / "api_monitor.db")) as db:
        tables = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in (
            "providers", "market_prices", "gas_prices", "sentiment_metrics", "news_articles",
            "rpc_node_status", "blockchain_stats", "onchain_metrics", "data_collections")}
        btc = db.execute("SELECT price_usd FROM market_prices "
                         "WHERE source='coingecko' AND symbol='BTC'").fetchall()
        recent = db.execute("SELECT provider_id, category, actual_fetch_time FROM "
                            "data_collections ORDER BY actual_fetch_time DESC LIMIT 10").fetchall()
        verdict = db.execute("PRAGMA integrity_check").fetchall()
    assert tables.pop("providers") >= 40
    assert (67187.3358936566,) in btc
    assert all(tables.values()), tables
    assert len(recent) == 10
    assert verdict == [("ok",)]


@pytest.mark.backends
def test_serve_answers_health_and_stops_on_sigterm(tmp_path, database):
    """serve answers /health on its port and exits within 2 s of SIGTERM, database clean."""
    port = _free_port()
    cfg = tmp_path / "c.toml"
    cfg.write_text("" if database.backend == "sqlite" else database.toml)
    proc = subprocess.Popen([*CMD, "serve", "--port", str(port), "--data-dir",
                             str(tmp_path / "d"), "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    try:
        deadline = time.monotonic() + 30 * SLOW
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.communicate(timeout=5)) from None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["status"] == "healthy"
        assert "Z" in r.json()["timestamp"]
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert elapsed < 2.0 * SLOW
    if database.backend != "sqlite":
        assert database.scalar("SELECT COUNT(*) FROM providers") == len(PROVIDERS)
        assert database.scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE "
                               "application_name = 'cryptohub-desktop' AND datname = "
                               "current_database()") == 0  # every connection closed
        return
    db_path = tmp_path / "d" / "api_monitor.db"
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(("args", "needle", "code"), [
    (["serve", "--port", "abc"], "argument --port: invalid int value", 2),
    (["collect"], "--once", 2),
    (["collect", "--once", "--provider", "nosuch"], "unknown provider id 'nosuch'", 1),
    (["nosuchcommand"], "invalid choice", 2),
    # the hub token is a keychain entry (accepted; here no keychain is usable)
    (["keys", "set", "CRYPTOHUB_HUB_TOKEN", "--value", "hub-token-1"], "no usable OS keychain",
     1),
])
def test_user_mistakes_give_one_line(tmp_path, args, needle, code):
    """A wrong option or value prints one line naming it, no traceback, non-zero exit."""
    run = subprocess.run([*CMD, *args, "--data-dir", str(tmp_path)], capture_output=True,
                         text=True, env=_env(CRYPTOHUB_CONFIG=str(tmp_path / "none.toml")),
                         timeout=60 * SLOW)
    assert run.returncode == code
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_bad_config_and_port_in_use(tmp_path):
    """A bad config value and a busy port each give a one-line error and exit 1."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 99999\n")
    run = subprocess.run([*CMD, "serve", "--config", str(bad), "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, env=_env(), timeout=60 * SLOW)
    assert run.returncode == 1 and "[server] port" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        good = tmp_path / "good.toml"
        good.write_text("")
        run = subprocess.run([*CMD, "serve", "--port", str(port), "--config", str(good),
                              "--data-dir", str(tmp_path)], capture_output=True, text=True,
                             env=_env(), timeout=60 * SLOW)
    assert run.returncode == 1 and f"port {port}" in run.stderr and "in use" in run.stderr


def test_gui_attached_to_a_hub_opens_without_a_database(tmp_path):
    """`gui --hub URL` with nothing listening there: the window paints at once and the
    app quits cleanly; it wrote no database of its own (the hub has the data)."""
    data = tmp_path / "d"
    run = subprocess.run(
        [*CMD, "gui", "--hub", f"http://127.0.0.1:{_free_port()}", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60 * SLOW,
        env=_env(CRYPTOHUB_CONFIG=str(tmp_path / "none.toml"), CRYPTOHUB_HUB_TOKEN="t-1",
                 CRYPTOHUB_UI_EXIT_AFTER_PAINT="1"))
    assert run.returncode == 0, run.stderr
    assert "first-paint" in run.stdout and "Traceback" not in run.stderr
    assert not [p for p in data.rglob("*") if ".db" in p.name]
    assert "unreachable (connection refused" in (data / "logs" / "main.log").read_text()


def test_gui_with_a_bad_hub_url_is_one_line(tmp_path):
    """A hub URL that is not http(s)://host[:port] is a one-line error, exit 1."""
    run = subprocess.run([*CMD, "gui", "--hub", "ftp://hub.example.org", "--data-dir",
                          str(tmp_path)], capture_output=True, text=True, timeout=60 * SLOW,
                         env=_env(CRYPTOHUB_CONFIG=str(tmp_path / "none.toml")))
    assert run.returncode == 1
    assert "http(s)://host[:port]" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
