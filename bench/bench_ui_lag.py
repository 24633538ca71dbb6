"""UI event-loop lag while every replayed provider collects and the server fans out
to 200 WebSocket subscribers in another process.

Setup (all real, on loopback): ``python -m tests.replay`` serves every provider's
recorded answers in a subprocess; this process runs the GUI (main window shown,
offscreen) with its hub, store and local server on one qasync loop; a second
subprocess holds 200 WebSocket clients subscribed to ``all``. Then the hub runs
``collect_once()`` over every provider several times in a row while the visible page
changes each round (dashboard, providers, news ...), so bus events, coalesced
refreshes, painting, SQLite writes and the fan-out all happen together.

A first, separately reported warm-up round shows every page once while collecting: it
pays one-time costs (first imports of lazily loaded modules, first layout of each page,
column sizing). The measured rounds are the steady state a running app is in.

Lag: a 5 ms precise QTimer on the GUI thread; each tick's delay beyond its interval is
one sample (what a user's click or a frame would wait for). An idle phase (no
collection, subscribers connected) is measured first for comparison.

    python bench/bench_ui_lag.py [--rounds 5] [--subscribers 200]

Target (SPEC section 12): p99 <= 16 ms, max <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5


# --- the subscriber process ------------------------------------------------------------
async def _subscribers(port: int, n: int) -> None:
    from websockets.asyncio.client import connect
    conns = []
    for _ in range(n):
        conns.append(await connect(f"ws://127.0.0.1:{port}/ws/master", compression=None,
                                   max_size=None, open_timeout=30))
    for c in conns:
        await c.send('{"action": "subscribe", "service": "all"}')
    counts = [0] * n

    async def read(i: int) -> None:
        try:
            async for _ in conns[i]:
                counts[i] += 1
        except Exception:  # noqa: BLE001 - closed at the end
            pass

    readers = [asyncio.create_task(read(i)) for i in range(n)]
    print("subscribed", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"messages": sum(counts), "min_per_client": min(counts)}), flush=True)
    for c in conns:
        await c.close()
    for r in readers:
        r.cancel()


# --- the GUI process -----------------------------------------------------------------
class LagSampler:
    """Delays of a 5 ms precise timer beyond its interval, in ms."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer
        self.samples: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.samples = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.samples

    def _tick(self) -> None:
        now = time.perf_counter()
        self.samples.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    if not s:
        return {}
    return {"samples": len(s), "p50_ms": round(statistics.median(s), 2),
            "p99_ms": round(s[int(0.99 * (len(s) - 1))], 2), "max_ms": round(s[-1], 2)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _gui(tmp: Path, replay_cfg: str, rounds: int, n_subs: int) -> dict[str, object]:
    from PySide6.QtWidgets import QApplication

    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.collectors import PROVIDERS
    from cryptohub_desktop.commands import serving
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.providers.spec import key_names
    from cryptohub_desktop.secrets import Secrets
    from cryptohub_desktop.ui.app import build, settle_memory
    from cryptohub_desktop.ui.state import UiState
    from tests.memkeyring import MemoryKeyring

    port = _free_port()
    cfg_path = tmp / "config.toml"
    cfg_path.write_text("\n".join([
        "[server]", f"port = {port}", "[consensus]", "max_age_seconds = 2000000000", "",
        replay_cfg]))
    cfg = load_config(cfg_path, data_dir=tmp / "data")
    secrets = Secrets(env={}, backend=MemoryKeyring())
    for name in key_names(p.spec for p in PROVIDERS):
        secrets.set(name, "test-key")
    hub = Hub(cfg, PROVIDERS, secrets)
    await hub.start(schedule=False)
    app = QApplication.instance()
    state = UiState(tmp / "ui.ini")
    api = LocalApi(hub)
    window, ctx = build(cfg, api, hub.secrets, app, state, serving(api, hub.secrets))  # type: ignore[arg-type]
    window.resize(1440, 900)
    window.show()
    assert ctx.server is not None
    await ctx.server.start()
    settle_memory()  # as run_gui does once the hub and server are up
    subs = subprocess.Popen([sys.executable, __file__, "--subscriber-child", str(port),
                             str(n_subs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert subs.stdout is not None and subs.stdin is not None
    line = await asyncio.get_running_loop().run_in_executor(None, subs.stdout.readline)
    assert line.strip() == "subscribed", line
    await asyncio.sleep(1.0)
    clients = hub.server_clients()
    events = {"n": 0}
    hub.bus.subscribe("*", lambda ev: events.__setitem__("n", events["n"] + 1))
    sampler = LagSampler()

    sampler.start()  # idle: window shown, subscribers connected, nothing collecting
    await asyncio.sleep(3.0)
    idle = stats(sampler.stop())

    pages = ["dashboard", "providers", "news", "network", "schedule", "alerts", "pools"]
    sampler.start()  # warm-up: every page shown once while one collection runs
    warm_task = asyncio.ensure_future(hub.runner.collect_once())
    for key in window.views:
        window.show_view(key)
        await asyncio.sleep(0.3)
    await warm_task
    await hub.settle()
    warm = stats(sampler.stop())

    runs = ok = 0
    sampler.start()
    t0 = time.perf_counter()
    for r in range(rounds):
        window.show_view(pages[r % len(pages)])
        results = await hub.runner.collect_once()
        runs += len(results)
        ok += sum(res.status == "success" for res in results)
    await hub.settle()
    await asyncio.sleep(0.5)  # the last coalesced refreshes
    busy_s = time.perf_counter() - t0
    busy = stats(sampler.stop())

    subs.stdin.write("\n")
    subs.stdin.flush()
    summary = await asyncio.get_running_loop().run_in_executor(None, subs.stdout.readline)
    await asyncio.get_running_loop().run_in_executor(None, lambda: subs.wait(timeout=60))
    window.quitting = True
    for view in window.views.values():
        await view.coalescer.aclose()
    ctx.bridge.close()
    await ctx.server.stop()
    await hub.stop()
    window.close()
    await asyncio.sleep(0)
    return {"subscribers": clients, "rounds": rounds, "provider_runs": runs,
            "successful_runs": ok, "bus_events": events["n"], "collect_seconds": round(busy_s, 2),
            "fanout": json.loads(summary) if summary.strip() else None,
            "idle_lag": idle, "warm_up_round_lag": warm, "lag_during_collection": busy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--subscriber-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.subscriber_child:
        asyncio.run(_subscribers(*args.subscriber_child))
        return

    import qasync
    from PySide6.QtWidgets import QApplication  # noqa: F401 - before qasync

    from cryptohub_desktop.ui.app import make_app
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        replay = subprocess.Popen([sys.executable, "-m", "tests.replay", "--config-out",
                                   str(tmp / "replay.toml")], stdout=subprocess.PIPE,
                                  text=True, cwd=ROOT)
        try:
            assert replay.stdout is not None
            print(replay.stdout.readline().strip(), file=sys.stderr)
            app = make_app()
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                result = loop.run_until_complete(
                    _gui(tmp, (tmp / "replay.toml").read_text(), args.rounds, args.subscribers))
        finally:
            replay.terminate()
            replay.wait(timeout=10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
