"""Day and month quotas survive restarts and are shared by the processes of one data
folder (``providers/quotas.py``, wired by ``commands.make_hub``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from cryptohub_desktop.collectors import cryptopanic
from cryptohub_desktop.providers.quotas import FILE_NAME, PersistentLimiter, QuotaFile
from cryptohub_desktop.providers.spec import RateLimit
from tests.conftest import SLOW
from tests.replay import ReplayServer

MONTH = next(w for w in cryptopanic.PROVIDER.spec.rate_limits if w.seconds >= 30 * 86400)


def collect(tmp_path: Path, srv: ReplayServer) -> subprocess.CompletedProcess[str]:
    """``collect --once --provider cryptopanic`` in a new process on one data folder."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[providers.cryptopanic]\nbase_url = "{srv.mount("cryptopanic")}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "CRYPTOPANIC_KEY": "test-key-cryptopanic"}
    return subprocess.run([sys.executable, "-m", "cryptohub_desktop", "collect", "--once",
                           "--provider", "cryptopanic", "--data-dir", str(tmp_path / "d"),
                           "--config", str(cfg)], capture_output=True, text=True, env=env,
                          timeout=120 * SLOW)


def used(quotas: QuotaFile) -> int:
    return quotas.used("cryptopanic", time.time(), MONTH)[0]


def test_a_month_window_is_still_used_after_a_restart(tmp_path):
    """CryptoPanic's 100 calls a month: each `collect` process adds its calls to the
    month window the previous ones left; once the month is used up, the next process
    sends nothing and says it was rate limited."""
    with ReplayServer() as srv:
        first = collect(tmp_path, srv)
        assert first.returncode == 0, first.stdout + first.stderr
        quotas = QuotaFile(tmp_path / "d" / FILE_NAME)
        after_one = used(quotas)
        assert after_one >= 1
        second = collect(tmp_path, srv)  # a restart: a new process, the same folder
        assert second.returncode == 0, second.stdout + second.stderr
        assert used(quotas) == 2 * after_one
        # the rest of the month was used by earlier calls (here: recorded directly)
        limiter = PersistentLimiter("cryptopanic", [MONTH], quotas)
        for _ in range(MONTH.calls - used(quotas)):
            assert quotas.take("cryptopanic", time.time(), [MONTH]) == 0.0
        assert limiter.usage()[0].current_usage == MONTH.calls
        sent = srv.count("/cryptopanic")
        third = collect(tmp_path, srv)
        quotas.close()
    assert third.returncode == 1
    row = next(ln for ln in third.stdout.splitlines() if ln.startswith("cryptopanic"))
    assert "skipped" in row and "rate_limited" in row, third.stdout
    assert srv.count("/cryptopanic") == sent  # nothing was sent upstream


CHILD = """
import asyncio, sys
from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.quotas import PersistentLimiter, QuotaFile
from cryptohub_desktop.providers.spec import RateLimit

async def main():
    limiter = PersistentLimiter("shared", [RateLimit(50, 86400)], QuotaFile(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.readline()
    got = 0
    for _ in range(40):
        try:
            await limiter.acquire()
            got += 1
        except UpstreamRateLimited:
            pass
    print(got, flush=True)

asyncio.run(main())
"""


def test_two_processes_share_one_window(tmp_path):
    """Two processes on one quota file hammering a 50-a-day window get 50 calls between
    them, not 50 each."""
    path = tmp_path / FILE_NAME
    with ExitStack() as stack:  # on the way out: kill what still runs, wait, close pipes
        kids = [stack.enter_context(subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)) for _ in range(2)]
        stack.callback(lambda: [k.kill() for k in kids if k.poll() is None])
        for k in kids:
            assert k.stdout is not None and k.stdout.readline() == "ready\n"
        for k in kids:  # start together
            assert k.stdin is not None
            k.stdin.write("go\n")
            k.stdin.flush()
        got = [int(k.communicate(timeout=60 * SLOW)[0].strip()) for k in kids]
    assert sum(got) == 50 and min(got) > 0, got
    quotas = QuotaFile(path)
    limiter = PersistentLimiter("shared", [RateLimit(50, 86400)], quotas)
    assert limiter.usage()[0].current_usage == 50
    assert limiter.wait_time() > 86000  # the day is used up, for this process too
    quotas.close()


async def test_short_windows_stay_in_memory_and_warnings_fire_once(tmp_path):
    """Only windows of an hour or longer go to the file; crossing 80 % of one warns once."""
    quotas = QuotaFile(tmp_path / FILE_NAME)
    warned = []
    limiter = PersistentLimiter("p", [RateLimit(100, 1), RateLimit(10, 86400)], quotas,
                                on_warning=warned.append)
    for _ in range(9):
        await limiter.acquire()
    assert quotas.used("p", time.time(), RateLimit(10, 86400))[0] == 9
    assert [u.limit_type for u in warned] == ["per_day"]
    per_second, per_day = limiter.usage()
    assert (per_second.current_usage, per_day.current_usage) == (9, 9)
    other = PersistentLimiter("p", [RateLimit(100, 1), RateLimit(10, 86400)], quotas)
    assert [u.current_usage for u in other.usage()] == [0, 9]  # a restart: memory is new
    quotas.close()
