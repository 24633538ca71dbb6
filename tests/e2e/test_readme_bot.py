"""README's Python bot, taken from README.md as it is, against a real `serve` collecting
from the replayed providers: it prints the hub's state, the snapshot and live updates."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cryptohub_desktop.collectors import PROVIDERS
from tests.conftest import SLOW
from tests.replay import ReplayServer

README = Path(__file__).resolve().parents[2] / "README.md"
MARKET = ("coingecko", "binance", "kraken")


def bot_source() -> str:
    """The code block that follows README's ``<!-- bot.py ... -->`` marker."""
    m = re.search(r"<!-- bot\.py[^>]*-->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert m, "README.md lost its bot.py block"
    return m.group(1)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_bot_prints_snapshot_and_updates(tmp_path):
    """The bot prints the hub's status, BTC's snapshot, then an update with the consensus
    after a collection, against `serve` collecting from the replay server."""
    (tmp_path / "bot.py").write_text(bot_source())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    with ReplayServer() as srv:
        lines = ["[consensus]", "max_age_seconds = 2000000000", "[schedule]",
                 'market_data = "every_1_min"', ""]
        for p in PROVIDERS:
            lines += [f"[providers.{p.id}]"]
            lines += [f'base_url = "{srv.mount(p.id)}"'] if p.id in MARKET else [
                "enabled = false"]
        (tmp_path / "c.toml").write_text("\n".join(lines) + "\n")
        serve = subprocess.Popen([sys.executable, "-m", "cryptohub_desktop", "serve", "--port",
                                  str(port), "--data-dir", str(tmp_path / "d"), "--config",
                                  str(tmp_path / "c.toml")], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
        bot = None
        try:
            deadline = time.monotonic() + 30 * SLOW
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline and serve.poll() is None
                    time.sleep(0.1)
            bot = subprocess.Popen([sys.executable, str(tmp_path / "bot.py"),
                                    f"http://127.0.0.1:{port}", "BTC"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
            assert bot.stdout is not None
            seen = []
            deadline = time.monotonic() + 60 * SLOW
            while not any(ln.startswith("update BTC ") for ln in seen):
                assert time.monotonic() < deadline, seen
                line = bot.stdout.readline()
                assert line, (seen, bot.stderr.read() if bot.stderr else "")
                seen.append(line.strip())
        finally:
            if bot is not None:
                bot.send_signal(signal.SIGINT)
                bot.communicate(timeout=10 * SLOW)
            serve.send_signal(signal.SIGTERM)
            serve.communicate(timeout=20 * SLOW)
    assert re.fullmatch(r"hub \w+: \d+ providers online", seen[0]), seen
    assert re.fullmatch(r"snapshot BTC (None|[0-9.]+) \(\d+ sources\)", seen[1]), seen
    update = next(ln for ln in seen if ln.startswith("update BTC "))
    assert re.fullmatch(r"update BTC [0-9.]+ via (coingecko|binance|kraken)(, outliers .*)?",
                        update), update
