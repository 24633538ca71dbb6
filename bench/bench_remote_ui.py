"""UI event-loop lag of the window attached to a real hub (``gui --hub``) while the hub
pushes about 50 updates a second.

Setup (all real, on loopback, four processes): the replay upstream (recorded provider
answers, ``python -m tests.replay``); a ``cryptohub-desktop serve`` hub on SQLite with
the market providers pointing at it (their rate limits raised to 1000/s: the upstream
is ours); a driver script holding the hub's full token that asks the hub, over three
``/ws/master`` connections, for ``--rate`` "collect now" runs a second, round robin over
those providers (the action the desktop's own button sends); and this process: the main
window (offscreen) attached to the hub through RemoteApi, its page switched every
second (dashboard, providers, alerts, news ...). Every run the hub makes is published
on ``market_data`` with its records and the new consensus, so the window receives about
``--rate`` updates a second and re-reads from the hub's REST what the visible page shows
(coalesced, at most every 250 ms).

Lag: a 5 ms precise QTimer on the GUI thread; each tick's delay beyond its interval is
one sample (what a click or a frame would wait for). Measured first attached and idle,
then under the updates for ``--seconds``. The updates the window received are counted.

    python bench/bench_remote_ui.py [--rate 50] [--seconds 30]

Target (SPEC section 12, the UI row): p99 <= 16 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
MARKET = ["coingecko", "kraken", "bitfinex", "binance", "coinbase", "okx", "bybit",
          "kucoin", "gemini", "bitstamp", "coinpaprika", "coinlore"]
CONNECTIONS = 3  # the hub allows 20 messages a second per connection


# --- the driver process ------------------------------------------------------------------
async def _driver(url: str, token: str, rate: float) -> None:
    """Ask the hub for ``rate`` collect-now runs a second from the first line on stdin
    to the second; print how many were asked and how many it answered ok."""
    from websockets.asyncio.client import connect

    read = asyncio.get_running_loop().run_in_executor
    conns = [await connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                           compression=None, max_size=None) for _ in range(CONNECTIONS)]
    ok = {"n": 0, "answered": 0}

    async def results(ws: object) -> None:
        async for raw in ws:  # type: ignore[attr-defined]
            msg = json.loads(raw)
            if msg.get("type") == "result":
                ok["answered"] += 1
                ok["n"] += bool(msg.get("ok"))

    print("ready", flush=True)
    await read(None, sys.stdin.readline)
    readers = [asyncio.create_task(results(ws)) for ws in conns]
    done = asyncio.ensure_future(read(None, sys.stdin.readline))
    n, t0 = 0, time.perf_counter()
    while not done.done():
        await conns[n % CONNECTIONS].send(json.dumps(
            {"action": "collect_now", "id": n + 1, "provider": MARKET[n % len(MARKET)]}))
        n += 1
        await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
    await asyncio.sleep(1.0)
    for r in readers:
        r.cancel()
    for ws in conns:
        await ws.close()
    print(json.dumps({"asked": n, "answered": ok["answered"], "ok": ok["n"]}), flush=True)


class _Replay:
    """The replay upstream in its own process, as :class:`tests.ui.serve_hub.Upstream`."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def mount(self, provider_id: str) -> str:
        return f"{self.base}/{provider_id}"


# --- the GUI process -----------------------------------------------------------------------
async def _gui(tmp: Path, rate: float, seconds: float) -> dict[str, object]:
    from bench_ui_lag import LagSampler, stats
    from PySide6.QtWidgets import QApplication

    from cryptohub_desktop.api.remote import RemoteApi
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.secrets import Secrets
    from cryptohub_desktop.ui.app import build, settle_memory
    from cryptohub_desktop.ui.state import UiState
    from tests.cluster.harness import free_port
    from tests.memkeyring import MemoryKeyring
    from tests.ui.serve_hub import ADMIN_TOKEN, ServeHub

    port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "tests.replay", "--port", str(port)],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert upstream.stdout is not None
    upstream.stdout.readline()  # "replaying N providers on ..."
    try:
        hub = ServeHub(tmp, _Replay(port), MARKET, interval="every_1_min",
                       options={p: 'rate_limit = "1000/1s"' for p in MARKET})
        hub.start()
        driver = subprocess.Popen([sys.executable, __file__, "--driver-child",
                                   f"ws://127.0.0.1:{hub.port}/ws/master", str(rate)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  cwd=ROOT)
        assert driver.stdout is not None and driver.stdin is not None
        try:
            app = QApplication.instance()
            state = UiState(tmp / "ui.ini")
            state.close_to_tray = False
            (tmp / "desktop.toml").write_text(f'[hub]\nurl = "{hub.url}"\n')
            cfg = load_config(tmp / "desktop.toml", data_dir=tmp / "desktop")
            api = RemoteApi(hub.url, ADMIN_TOKEN)
            window, ctx = build(cfg, api, Secrets(env={}, backend=MemoryKeyring()), app,  # type: ignore[arg-type]
                                state, None)
            window.resize(1440, 900)
            window.show()
            await api.start()
            assert api.state == "connected", api.state
            settle_memory()
            updates = {"n": 0}
            api.subscribe(lambda ev: updates.__setitem__("n", updates["n"] + 1))
            sampler = LagSampler()
            pages = ["dashboard", "alerts", "providers", "news", "network", "pools"]
            line = await asyncio.get_running_loop().run_in_executor(None,
                                                                    driver.stdout.readline)
            assert line.strip() == "ready", line
            await asyncio.sleep(2.0)
            updates["n"] = 0
            sampler.start()  # attached, the hub quiet
            await asyncio.sleep(5.0)
            idle = stats(sampler.stop())
            idle_updates = updates["n"]

            driver.stdin.write("go\n")
            driver.stdin.flush()
            t0 = time.perf_counter()
            updates["n"] = 0
            sampler.start()
            i = 0
            marks: list[tuple[str, int]] = []  # (page shown, first sample while shown)
            while time.perf_counter() - t0 < seconds:
                marks.append((pages[i % len(pages)], len(sampler.samples)))
                window.show_view(pages[i % len(pages)])
                i += 1
                await asyncio.sleep(1.0)
            samples = sampler.stop()
            busy = stats(samples)
            per_page: dict[str, list[float]] = {}
            for (page, start), (_, end) in zip(marks, [*marks[1:], ("", len(samples))],
                                               strict=True):
                per_page.setdefault(page, []).extend(samples[start:end])
            elapsed = time.perf_counter() - t0
            received = updates["n"]
            driver.stdin.write("stop\n")
            driver.stdin.flush()
            summary = await asyncio.get_running_loop().run_in_executor(
                None, driver.stdout.readline)

            window.quitting = True
            for view in window.views.values():
                await view.coalescer.aclose()
            ctx.bridge.close()
            await api.stop()
            window.close()
            await asyncio.sleep(0)
        finally:
            driver.stdin.close()
            driver.wait(timeout=10)
            hub.stop()
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"asked_per_s": rate, "seconds": round(elapsed, 1),
            "driver": json.loads(summary) if summary.strip() else None,
            "updates_received": received,
            "updates_per_s": round(received / elapsed, 1),
            "idle_updates": idle_updates, "idle_lag": idle, "lag_under_updates": busy,
            "lag_by_page_shown": {k: stats(v) for k, v in per_page.items()},
            "loadavg_1_5_15": load, "cpus": os.cpu_count()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50.0, help="updates per second")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--driver-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.driver_child:
        from tests.ui.serve_hub import ADMIN_TOKEN
        asyncio.run(_driver(args.driver_child[0], ADMIN_TOKEN, float(args.driver_child[1])))
        return

    import qasync
    from PySide6.QtWidgets import QApplication  # noqa: F401 - before qasync

    from cryptohub_desktop.ui.app import make_app
    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as d, loop:
        result = loop.run_until_complete(_gui(Path(d), args.rate, args.seconds))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
