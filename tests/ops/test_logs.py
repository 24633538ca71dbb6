"""Log files: keys never reach them unmasked, and they rotate by size."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.logs import setup_logging
from cryptohub_desktop.secrets import Secrets
from tests.memkeyring import MemoryKeyring

KEYCHAIN_KEY = "CMCkey-7f3a9b2c4d5e6f708192a3b4"
ENV_KEY = "ETHSCANKEY9Q8W7E6R5T4Y3U2I1O"
UNKNOWN_KEY = "zz11yy22xx33ww44vv55"  # not configured: masked by its shape only
FILES = ("main.log", "health.log", "scheduler.log", "error.log")
NOISY = ("httpx", "httpcore", "websockets", "asyncio", "peewee", "apscheduler")


@pytest.fixture
def logs_setup() -> Iterator[None]:
    """Undo setup_logging's changes to the process-wide loggers after the test."""
    root = logging.getLogger()
    level, levels = root.level, {n: logging.getLogger(n).level for n in NOISY}
    yield
    for h in list(root.handlers):
        if getattr(h, "_cryptohub", False):
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)


def read_all(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def flush() -> None:
    for h in logging.getLogger().handlers:
        h.flush()


def test_keys_are_masked_in_every_log_file(tmp_path, logs_setup):
    """Keys logged via every logger, a traceback and a URL appear only masked in all 4 files."""
    secrets = Secrets(env={"ETHERSCAN_KEY_1": ENV_KEY}, backend=MemoryKeyring())
    secrets.set("COINMARKETCAP_KEY_1", KEYCHAIN_KEY)
    assert secrets.get("ETHERSCAN_KEY_1") == ENV_KEY
    setup_logging(tmp_path, "INFO", lambda: secrets.seen, console=False)

    logging.getLogger("cryptohub.health").info("coinmarketcap rejected key %s", KEYCHAIN_KEY)
    logging.getLogger("cryptohub.health").warning("etherscan answered for %r", ENV_KEY)
    logging.getLogger("cryptohub.scheduler").info("job coinmarketcap (key %s) on time",
                                                  KEYCHAIN_KEY)
    logging.getLogger("cryptohub.scheduler").info("etherscan slot with %s", ENV_KEY)
    logging.getLogger("cryptohub.hub").info(f"hub resolved keys {KEYCHAIN_KEY} and {ENV_KEY}")
    url = f"https://api.etherscan.io/api?module=gastracker&apikey={ENV_KEY}"
    logging.getLogger("httpx").warning('HTTP Request: GET %s "HTTP/1.1 429"', url)
    logging.getLogger("cryptohub.health").info(
        "GET https://x.example/v1?symbol=BTC&apikey=%s failed", UNKNOWN_KEY)
    try:
        raise RuntimeError(f"upstream refused {KEYCHAIN_KEY} at {url}")
    except RuntimeError:
        logging.getLogger("cryptohub.hub").exception("run of etherscan failed")
    flush()

    logs = read_all(tmp_path / "logs")
    assert set(FILES) <= set(logs)
    for name, text in logs.items():
        for raw in (KEYCHAIN_KEY, ENV_KEY, UNKNOWN_KEY):
            assert raw not in text, f"{raw} in {name}"
    main, health = logs["main.log"], logs["health.log"]
    scheduler, error = logs["scheduler.log"], logs["error.log"]
    assert f"rejected key {mask(KEYCHAIN_KEY)}" in health and mask(ENV_KEY) in health
    assert "apikey=****" in health  # the unknown key, masked by its shape
    assert f"(key {mask(KEYCHAIN_KEY)})" in scheduler and mask(ENV_KEY) in scheduler
    assert "Traceback" in error and f"refused {mask(KEYCHAIN_KEY)}" in error
    assert "apikey=****" in error and "run of etherscan failed" in error
    assert "HTTP Request: GET https://api.etherscan.io/api?module=gastracker&apikey=" in main
    assert f"hub resolved keys {mask(KEYCHAIN_KEY)} and {mask(ENV_KEY)}" in main
    assert "hub resolved" not in health + scheduler + error  # routed by logger name


def test_log_files_rotate_by_size(tmp_path, logs_setup):
    """Each log file rolls over at max_bytes and keeps at most `backups` old files."""
    setup_logging(tmp_path, "INFO", console=False, max_bytes=4000, backups=2)
    for i in range(400):
        logging.getLogger("cryptohub.health").info("probe %04d %s", i, "x" * 60)
        logging.getLogger("cryptohub.scheduler").info("slot %04d %s", i, "y" * 60)
    logging.getLogger("cryptohub.hub").error("one error")
    flush()
    names = set(read_all(tmp_path / "logs"))
    for base in ("main.log", "health.log", "scheduler.log"):
        assert {base, f"{base}.1", f"{base}.2"} <= names
        assert f"{base}.3" not in names
    assert "error.log.1" not in names
    assert all(p.stat().st_size <= 4000 for p in (tmp_path / "logs").iterdir())
    last = (tmp_path / "logs" / "health.log").read_text(encoding="utf-8")
    assert "probe 0399" in last
