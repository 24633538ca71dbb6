"""`check` (and the bundle's `--self-test`): pass on a fresh folder, fail clearly otherwise."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.ops.cli import run_cli

BUNDLE = Path(__file__).resolve().parents[2] / "dist" / "cryptohub-desktop" / "cryptohub-desktop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def damage_pages(db: Path) -> None:
    """Overwrite the middle of a real database with garbage, keeping its header."""
    store = Store.open(f"sqlite:///{db}")
    rows = [("binance", "BTC", "1m", f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}", 1, 2, 0, 1, 5)
            for i in range(3000)]
    store.write_sync(store.insert_ohlcv_rows, rows)
    store.close()
    data = bytearray(db.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 2, pages - 1, 4):  # table pages, away from the schema
        data[page * 4096 + 8: page * 4096 + 600] = b"\xde\xad\xbe\xef" * 148
    db.write_bytes(bytes(data))


def test_check_passes_on_a_fresh_data_folder(tmp_path):
    """On an empty folder `check` creates a sound database and every line is ok."""
    data = tmp_path / "new"
    res = run_cli(tmp_path, "check", "--data-dir", str(data), "--port", str(free_port()))
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[-1] == "check passed"
    assert all(line.startswith("[ok] ") for line in lines[:-1]), lines
    names = [line.split()[1].rstrip(":") for line in lines[:-1]]
    assert names == ["config", "database", "keychain", "lock", "port", "providers", "resources"]
    assert "integrity_check ok" in res.stdout
    assert (data / "api_monitor.db").exists() and (data / "logs" / "main.log").exists()


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_check_fails_on_a_corrupt_database(tmp_path, damage):
    """A garbage or page-damaged database fails `check`: one clear line, no traceback, exit 1."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "api_monitor.db"
    if damage == "garbage":
        db.write_bytes(b"this is not an sqlite database\n" * 200)
    else:
        damage_pages(db)
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
        con.close()
    res = run_cli(tmp_path, "check", "--data-dir", str(data), "--port", str(free_port()))
    assert res.returncode == 1
    assert "Traceback" not in res.stdout + res.stderr
    fails = [line for line in res.stdout.splitlines() if line.startswith("[FAIL]")]
    assert len(fails) == 1 and fails[0].startswith("[FAIL] database: "), res.stdout
    expected = "file is not a database" if damage == "garbage" else "integrity_check On tree page"
    assert expected in fails[0], fails[0]
    assert res.stdout.splitlines()[-1] == "check FAILED"


def test_bundle_self_test_passes_offscreen_without_ssl_cert_file(tmp_path):
    """The PyInstaller binary's --self-test exits 0 offscreen with SSL_CERT_FILE unset."""
    assert BUNDLE.exists(), "build the bundle first: scripts/build_bundle.sh (scripts/test does)"
    env = {k: v for k, v in os.environ.items()
           if k != "SSL_CERT_FILE" and not k.startswith("CRYPTOHUB_")}
    env |= {"QT_QPA_PLATFORM": "offscreen", "CRYPTOHUB_DATA_DIR": str(tmp_path / "data"),
            "CRYPTOHUB_CONFIG": str(tmp_path / "config.toml"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    res = subprocess.run([str(BUNDLE), "--self-test", "--port", str(free_port())], env=env,
                         capture_output=True, text=True, timeout=60 * SLOW)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[-1] == "check passed"
