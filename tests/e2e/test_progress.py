"""`collect --once` and `backfill` say what they are doing while they do it: a line per
provider or series as it finishes, what still runs, and why gaps stayed open; no
carriage-return bar in a log file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import SLOW
from tests.replay import Fault, ReplayServer

CMD = [sys.executable, "-m", "cryptohub_desktop"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def _config(tmp_path: Path, srv: ReplayServer, *ids: str) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[consensus]\nmax_age_seconds = 2000000000\n\n" + "".join(
        f'[providers.{pid}]\nbase_url = "{srv.mount(pid)}"\n\n' for pid in ids))
    return cfg


def test_collect_once_reports_each_provider_as_it_finishes(tmp_path):
    """With one upstream hanging for 7 s, the fast provider's line comes at once, a
    'still waiting for' line names the slow one meanwhile, then its own line, then the
    table on stdout."""
    with ReplayServer() as srv:
        cfg = _config(tmp_path, srv, "coingecko", "kraken")
        srv.fault("/kraken", Fault(delay=7.0))
        proc = subprocess.Popen([*CMD, "collect", "--once", "--provider", "coingecko",
                                 "--provider", "kraken", "--data-dir", str(tmp_path / "d"),
                                 "--config", str(cfg)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())
        t0 = time.monotonic()
        lines: list[tuple[float, str]] = []
        assert proc.stderr is not None

        def read() -> None:
            for line in proc.stderr:  # type: ignore[union-attr]
                lines.append((time.monotonic() - t0, line))
        reader = threading.Thread(target=read)  # stderr, line by line as it comes
        reader.start()
        assert proc.stdout is not None
        out = proc.stdout.read()  # until the process closes it (exit)
        proc.wait(timeout=120 * SLOW)
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, out + "".join(ln for _, ln in lines)
    text = "".join(ln for _, ln in lines)
    assert "\r" not in text
    fast = next(t for t, ln in lines if "] coingecko: success" in ln)
    waiting = next(t for t, ln in lines if "still waiting for 1: kraken" in ln)
    slow = next(t for t, ln in lines if "] kraken: success" in ln)
    assert fast < waiting < slow, lines
    assert slow >= 7.0
    assert "kraken" in out and "2/2 providers succeeded" in out


def test_backfill_says_why_nothing_was_inserted(tmp_path):
    """Backfilling the last 2 days from recorded (older) candles inserts nothing and
    says why: the upstream's candles lie outside the window; one line per series in the
    log, no carriage returns."""
    with ReplayServer() as srv:
        cfg = _config(tmp_path, srv, "binance")
        res = subprocess.run([*CMD, "backfill", "--provider", "binance", "--symbol", "BTC",
                              "--days", "2", "--interval", "1h", "--data-dir",
                              str(tmp_path / "d"), "--config", str(cfg)], capture_output=True,
                             text=True, env=_env(), timeout=120 * SLOW)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "\r" not in res.stderr
    series = [ln for ln in res.stderr.splitlines() if ln.startswith("[1/1] binance BTC 1h: ")]
    assert len(series) == 1, res.stderr
    assert "0 candles inserted for" in series[0] and "lie outside the window" in series[0]
    summary = res.stdout.strip().splitlines()[-1]
    assert summary.startswith("0 candles inserted, ") and "outside the window" in summary
