"""README's JavaScript example, taken from README.md as it stands, against a real `serve`.

The snippet runs under the machine's Node.js with the `ws` package installed by npm into a
temporary folder; only its port is changed (to a free one). Without node or npm the test
is skipped, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cryptohub_desktop.collectors import PROVIDERS
from tests.conftest import SLOW
from tests.replay import ReplayServer, providers_with_fixtures

ROOT = Path(__file__).resolve().parents[2]
WS_PACKAGE = "ws@8.23.1"  # README says `npm install ws`; pinned here so CI is repeatable


def readme_javascript() -> str:
    """The one ```javascript block of README.md."""
    blocks = re.findall(r"^```javascript\n(.*?)^```", (ROOT / "README.md").read_text(),
                        flags=re.S | re.M)
    assert len(blocks) == 1, f"README.md should have one javascript block, has {len(blocks)}"
    return blocks[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not installed; CI must run README's JavaScript example "
                        "(scripts/bootstrap --test installs Node.js)")
        pytest.skip(f"{tool} is not installed")
    return path


def test_readme_snippet_is_the_ws_package_example():
    """README's snippet uses the `ws` package (Node 20 has no global WebSocket) on port 7860."""
    js = readme_javascript()
    assert 'require("ws")' in js
    assert "ws://localhost:7860/" in js


def test_readme_javascript_prints_subscribed_and_snapshot(tmp_path):
    """README's JavaScript, run by node against `serve`, prints `subscribed` and `snapshot`."""
    node, npm = _need("node"), _need("npm")
    app = tmp_path / "bot"
    app.mkdir()
    install = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent",
                              "--prefix", str(app), WS_PACKAGE], capture_output=True,
                             text=True, timeout=180 * SLOW)
    assert install.returncode == 0, install.stdout + install.stderr
    port = _free_port()
    (app / "bot.js").write_text(readme_javascript().replace("localhost:7860",
                                                            f"localhost:{port}"))

    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "QT_QPA_PLATFORM": "offscreen"}
    for p in PROVIDERS:  # keyed providers get the recorded fixtures' test key
        for name in p.spec.auth.key_names[:1]:
            env[name] = "test-key"
    with ReplayServer() as upstream:
        lines = ["[consensus]", "max_age_seconds = 2000000000", ""]
        for pid in providers_with_fixtures():
            lines += [f"[providers.{pid}]", f'base_url = "{upstream.mount(pid)}"', ""]
        cfg = tmp_path / "config.toml"
        cfg.write_text("\n".join(lines))
        serve = subprocess.Popen(
            [sys.executable, "-m", "cryptohub_desktop", "serve", "--port", str(port),
             "--data-dir", str(tmp_path / "data"), "--config", str(cfg)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        bot = None
        try:
            deadline = time.monotonic() + 30 * SLOW
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise AssertionError("serve did not start") from None
                    time.sleep(0.1)
            bot = subprocess.Popen([node, "bot.js"], cwd=app, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            seen: list[str] = []
            deadline = time.monotonic() + 20 * SLOW
            while time.monotonic() < deadline and bot.stdout is not None:
                line = bot.stdout.readline()
                if not line:
                    break  # node ended
                seen.append(line.rstrip("\n"))
                if any(s.startswith("snapshot market_data {") for s in seen):
                    break
        finally:
            if bot is not None and bot.poll() is None:
                bot.kill()
            if serve.poll() is None:
                serve.send_signal(signal.SIGTERM)
            serve_out, serve_err = serve.communicate(timeout=30 * SLOW)
        bot_err = bot.communicate(timeout=10)[1] if bot is not None else ""
    assert seen[:1] == ["subscribed market_data {}"], (seen, bot_err)
    assert any(s.startswith("snapshot market_data {") for s in seen), (seen, bot_err)
    assert serve.returncode == 0, serve_err
