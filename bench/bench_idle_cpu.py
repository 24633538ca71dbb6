"""CPU use of the app with its window open and nothing touched (SPEC §12: ≤ 1 %).

    python bench/bench_idle_cpu.py [--warmup 30] [--seconds 120]

Starts ``cryptohub-desktop gui`` offscreen on a temporary data folder with every
provider pointed at the loopback replay upstream (tests/replay.py), so the engine runs
its normal schedules, lets it settle for ``--warmup`` seconds (start-up, first runs),
then reads the process's CPU time from /proc over ``--seconds`` and reports the share
of one core, and its resident memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.replay import ReplayServer, providers_with_fixtures  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--warmup", type=float, default=30)
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, ReplayServer() as srv:
        cfg = Path(d) / "c.toml"
        lines = []
        for pid in providers_with_fixtures():
            lines += [f"[providers.{pid}]", f'base_url = "{srv.mount(pid)}"', ""]
        cfg.write_text("\n".join(lines))
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
               "XDG_CONFIG_HOME": d}
        proc = subprocess.Popen([sys.executable, "-m", "cryptohub_desktop", "gui", "--no-server",
                                 "--config", str(cfg), "--data-dir", str(Path(d) / "data")],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(args.warmup)
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.seconds)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            share = 100.0 * (c1 - c0) / (t1 - t0)
            print(f"window open, {args.seconds:.0f} s after a {args.warmup:.0f} s warm-up: "
                  f"CPU {share:.2f} % of one core, RSS {rss_mb(proc.pid):.0f} MB")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
