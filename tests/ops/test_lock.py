"""One writer per data folder: `serve` holds the lock; `restore`, a second writer and
`check` see it, with the holder's pid, whatever port (or no server) it runs on."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryptohub_desktop.lockfile import DataLock, LockHeld, data_dir_of_url, hold, holder
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.ops.cli import quiet_config, run_cli
from tests.ops.test_backup import candles, count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tmp_path: Path, data: Path, *args: str) -> subprocess.Popen[str]:
    """`serve` on ``data`` (with ``args``), once its lock is taken and it runs."""
    cfg = tmp_path / "serve.toml"
    cfg.write_text(quiet_config())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "cryptohub_desktop", "serve", "--data-dir",
                             str(data), "--config", str(cfg), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "serving on ..." / "collecting without server ..."
    assert line.startswith(("serving", "collecting")), line + proc.stderr.read()
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20 * SLOW)
    assert proc.returncode == 0, err


@pytest.fixture
def live_data(tmp_path: Path) -> Path:
    """A data folder whose database holds 52 candles."""
    data = tmp_path / "data"
    store = Store.open(f"sqlite:///{data / 'api_monitor.db'}")
    store.write_sync(store.insert_ohlcv_rows, candles(0, 52))
    store.close()
    return data


@pytest.mark.parametrize("server_args", [("--no-server",), ("--port", "PORT")],
                         ids=["server off", "another port"])
def test_restore_beside_a_running_serve_is_refused_with_its_pid(tmp_path, live_data,
                                                                server_args):
    """`restore` while `serve` runs on the same data folder (server off, or on another
    port than the config's) is refused in one line naming serve's pid; nothing changes."""
    backup_store = Store.open(f"sqlite:///{tmp_path / 'b' / 'src.db'}")
    backup_store.write_sync(backup_store.insert_ohlcv_rows, candles(1000, 7))
    backup = backup_store.backup_to(tmp_path / "b" / "api_monitor-20240101-000000.db")
    backup_store.close()
    args = [str(free_port()) if a == "PORT" else a for a in server_args]
    proc = start_serve(tmp_path, live_data, *args)
    try:
        res = run_cli(tmp_path, "restore", "--data-dir", str(live_data), str(backup))
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert res.stderr.count("\n") == 1, res.stderr
        assert f"pid {proc.pid}" in res.stderr and "serve" in res.stderr, res.stderr
        assert count(live_data / "api_monitor.db") >= 52  # the live database is untouched
        assert not (live_data / "api_monitor.db.before-restore").exists()
    finally:
        stop(proc)
    assert count(live_data / "api_monitor.db") == 52  # serve wrote no candles; none lost
    res = run_cli(tmp_path, "restore", "--data-dir", str(live_data), str(backup))
    assert res.returncode == 0, res.stderr  # with serve stopped, restore goes ahead
    assert count(live_data / "api_monitor.db") == 7


def test_a_second_writer_is_refused_and_check_names_the_holder(tmp_path, live_data):
    """While `serve` runs, `collect --once` and a second `serve` on the same folder are
    refused with its pid; `check` passes, says who holds the folder and that the port
    is served by it."""
    port = free_port()
    proc = start_serve(tmp_path, live_data, "--port", str(port))
    try:
        for args in (("collect", "--once"), ("serve", "--port", str(free_port())),
                     ("backfill", "--days", "1")):
            res = run_cli(tmp_path, *args, "--data-dir", str(live_data))
            assert res.returncode == 1, (args, res.stdout, res.stderr)
            assert f"in use by cryptohub-desktop serve (pid {proc.pid}" in res.stderr, res.stderr
            assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
        res = run_cli(tmp_path, "check", "--data-dir", str(live_data), "--port", str(port))
        assert res.returncode == 0, res.stdout + res.stderr
        lines = res.stdout.splitlines()
        assert any(ln.startswith("[ok] lock: ") and f"pid {proc.pid}" in ln for ln in lines)
        assert any(ln.startswith("[ok] port: ") and f"pid {proc.pid}" in ln for ln in lines)
    finally:
        stop(proc)
    assert holder(live_data) is None  # released on exit


def test_check_warns_and_names_another_program_on_the_port(tmp_path):
    """Another program on the port is a warning naming its pid, not a failed check."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_cli(tmp_path, "check", "--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert res.returncode == 0, res.stdout
    line = next(ln for ln in res.stdout.splitlines() if " port: " in ln)
    assert line.startswith(f"[warn] port: 127.0.0.1:{port} in use by ")
    assert f"(pid {os.getpid()})" in line
    assert res.stdout.splitlines()[-1] == "check passed"


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    """A writer killed with SIGKILL frees the folder at once: the OS drops its lock."""
    data = tmp_path / "d"
    code = ("import sys, time; from cryptohub_desktop.lockfile import DataLock; "
            "lock = DataLock(sys.argv[1], 'serve'); lock.acquire(); print('held', flush=True); "
            "time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(data)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        who = holder(data)
        assert who is not None and who.pid == child.pid and who.command == "serve"
        with pytest.raises(LockHeld, match=f"pid {child.pid}"):
            DataLock(data, "collect").acquire()
    finally:
        child.kill()
        child.communicate(timeout=10)
    deadline = time.monotonic() + 5 * SLOW
    while holder(data) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with hold(data, "collect") as lock:
        assert lock.held


def test_data_dir_of_url_finds_the_sqlite_folder(tmp_path):
    """db migrate's helper: an SQLite URL's folder is the one whose lock guards it."""
    assert data_dir_of_url(f"sqlite:///{tmp_path}/x/api_monitor.db") == (tmp_path / "x").resolve()
    assert data_dir_of_url("postgresql://hub@db/cryptohub") is None
    db = tmp_path / "y" / "api_monitor.db"
    db.parent.mkdir()
    sqlite3.connect(db).close()
    assert data_dir_of_url(f"sqlite:///{db}?timeout=5") == db.parent.resolve()
