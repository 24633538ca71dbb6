"""CPU use of the app with its window open and nothing touched (SPEC §12: ≤ 1 %).

    python bench/bench_idle_cpu.py [--warmup 30] [--seconds 120]

Starts ``cryptohub-desktop gui`` offscreen on a temporary data folder with every
provider pointed at the loopback replay upstream (tests/replay.py), so the engine runs
its normal schedules, lets it settle for ``--warmup`` seconds (start-up, first runs),
then reads the process's CPU time from /proc over ``--seconds`` and reports the share
of one core, and its resident memory.

``--streams``: the five exchanges with live streams are also followed, each played by a
local WebSocket server (tests/ws_replay.py) sending its recorded ticker frame every
``--frame-interval`` seconds (default 0.2: 25 frames/s in all, about what Binance sends
for a five-symbol watchlist), so the window is open on live prices.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.replay import ReplayServer, providers_with_fixtures  # noqa: E402
from tests.ws_replay import ReplayWS, Session, frame  # noqa: E402

#: exchange -> (recorded ticker frame, recorded subscription answer)
STREAMS = {"binance": ("ticker_ethusdt.json", "subscribe_ack.json"),
           "bybit": ("ticker_spot.json", "subscribe_ack.json"),
           "coinbase": ("ticker.json", "subscriptions.json"),
           "kraken": ("ticker_snapshot_btc.json", "subscribe_ack.json"),
           "okx": ("tickers.json", "subscribe_ack.json")}


@contextlib.contextmanager
def exchanges(interval: float) -> Iterator[dict[str, str]]:
    """The five exchanges' streams on loopback (in a thread's loop): provider -> ws URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = {pid: ReplayWS([Session(acks=[frame(pid, ack)], frames=[frame(pid, tick)],
                                      interval=interval)])
               for pid, (tick, ack) in STREAMS.items()}
    for srv in servers.values():
        asyncio.run_coroutine_threadsafe(srv.__aenter__(), loop).result(10)
    try:
        yield {pid: srv.url for pid, srv in servers.items()}
    finally:
        for srv in servers.values():
            asyncio.run_coroutine_threadsafe(srv.__aexit__(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()

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
    ap.add_argument("--streams", action="store_true", help="follow five live streams too")
    ap.add_argument("--frame-interval", type=float, default=0.2)
    args = ap.parse_args()
    with contextlib.ExitStack() as stack:
        d = stack.enter_context(tempfile.TemporaryDirectory())
        srv = stack.enter_context(ReplayServer())
        ws = stack.enter_context(exchanges(args.frame_interval)) if args.streams else {}
        cfg = Path(d) / "c.toml"
        lines = ["[streams]", "ping_interval_seconds = 600", ""]
        for pid in providers_with_fixtures():
            lines += [f"[providers.{pid}]", f'base_url = "{srv.mount(pid)}"',
                      *([f'ws_url = "{ws[pid]}"'] if pid in ws else []), ""]
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
            live = (f", {len(ws)} live streams at {len(ws) / args.frame_interval:.0f} frames/s"
                    if ws else "")
            print(f"window open{live}, {args.seconds:.0f} s after a {args.warmup:.0f} s warm-up: "
                  f"CPU {share:.2f} % of one core, RSS {rss_mb(proc.pid):.0f} MB")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
