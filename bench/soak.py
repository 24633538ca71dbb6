"""Soak: the headless hub and its server against a faulty replay upstream, for a while.

Three processes::

    upstream   tests/replay.py serving every recorded provider; every few seconds it
               puts a random fault on a random route (5xx, 429, reset, timeout, slow,
               truncated, empty, 50 MB, dribble), each for the next few requests
    main       Hub + local server on one asyncio loop, as `cryptohub-desktop serve` runs
               them; every provider on a random interval of 5 to 30 s; measures
               event-loop lag, RSS, schedule compliance, attempts and stored rows
    clients    WebSocket clients subscribed (some to "all", some to one service) and a
               REST poller; reports what they received and whether they stayed connected

Usage::

    python bench/soak.py --duration 600 [--clients 20] [--seed 1] [--fault-every 2]
                         [--json-out soak.json]

Run from the repository root (it imports tests/replay.py). All traffic is loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
INTERVALS = ("every_5_sec", "every_10_sec", "every_15_sec", "every_20_sec", "every_30_sec")


# --- upstream ---------------------------------------------------------------------------
def fault_kinds() -> dict[str, Any]:
    from tests.replay import Fault
    return {
        "500": lambda: Fault(status=500, body=b"Internal Server Error"),
        "502": lambda: Fault(status=502, body=b"<html>Bad Gateway</html>"),
        "503": lambda: Fault(status=503, body=b""),
        "429": lambda: Fault(status=429, headers={"Retry-After": "10"}),
        "reset": lambda: Fault(reset=True),
        "slow_ok": lambda: Fault(delay=2.0),
        "timeout": lambda: Fault(delay=20.0),
        "truncated": lambda: Fault(body=b'{"data": [{"price": 6718'),
        "empty": lambda: Fault(body=b""),
        "wrong_shape": lambda: Fault(body=b'["unexpected", {"shape": true}]'),
        "huge_50MB": lambda: Fault(huge_bytes=50 * MB),
        "dribble": lambda: Fault(dribble_seconds_per_byte=0.5),
    }


def run_upstream(seed: int, every: float) -> None:
    """Serve every recorded provider and keep injecting faults until SIGTERM."""
    from tests.replay import ReplayServer, providers_with_fixtures

    rng = random.Random(seed)
    kinds = fault_kinds()
    injected: Counter[str] = Counter()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ReplayServer() as srv:
        for pid in providers_with_fixtures():
            srv.mount(pid)
        paths = sorted({r.path for r in srv.routes})
        print(json.dumps({"url": srv.url, "routes": len(paths)}), flush=True)
        while not stop.wait(every):
            kind = rng.choice(sorted(kinds))
            fault = kinds[kind]()
            fault.times = rng.randint(1, 4)
            srv.fault(rng.choice(paths), fault)
            injected[kind] += 1
            with srv._lock:  # forget used-up faults
                for p in [p for p, f in srv.faults.items() if f.times == 0]:
                    del srv.faults[p]
        print(json.dumps({"injected": dict(injected), "requests": len(srv.seen)}), flush=True)


# --- clients ----------------------------------------------------------------------------
async def _client(port: int, service: str, stats: dict[str, Any], stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws/master", compression=None,
                           max_size=16 * MB) as ws:
            await ws.send(json.dumps({"action": "subscribe", "service": service}))
            stats["connected"] += 1
            reader = asyncio.ensure_future(_count(ws, stats))
            await stop.wait()
            reader.cancel()
            stats["still_connected"] += 1
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
        stats["closed"][str(code)] = stats["closed"].get(str(code), 0) + 1
    except OSError as exc:
        stats["errors"].append(repr(exc))


async def _count(ws: Any, stats: dict[str, Any]) -> None:
    async for raw in ws:
        kind = json.loads(raw).get("type", "?")
        stats["messages"][kind] = stats["messages"].get(kind, 0) + 1


async def _poll_rest(port: int, stats: dict[str, Any], stop: asyncio.Event) -> None:
    import httpx
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while not stop.is_set():
            for path in ("/health", "/api/market", "/api/providers", "/api/status"):
                t0 = time.perf_counter()
                try:
                    r = await client.get(path, timeout=10)
                    stats["rest_ms"].append((time.perf_counter() - t0) * 1000)
                    stats["rest_status"][str(r.status_code)] = (
                        stats["rest_status"].get(str(r.status_code), 0) + 1)
                except httpx.HTTPError as exc:
                    key = f"{type(exc).__name__}: {exc}"[:80]
                    stats["rest_errors"][key] = stats["rest_errors"].get(key, 0) + 1
            try:
                await asyncio.wait_for(stop.wait(), 2.0)
            except TimeoutError:
                pass


async def run_clients(port: int, n: int) -> None:
    """N WebSocket subscribers and one REST poller until SIGTERM; then print a summary."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    services = ["all", "market_data", "health_checker", "news", "scheduler", "alerts"]
    stats: dict[str, Any] = {"clients": n, "connected": 0, "still_connected": 0, "closed": {},
                             "messages": {}, "rest_ms": [], "rest_status": {}, "rest_errors": {},
                             "errors": []}
    tasks = [asyncio.create_task(_client(port, services[i % len(services)], stats, stop))
             for i in range(n)]
    tasks.append(asyncio.create_task(_poll_rest(port, stats, stop)))
    print(json.dumps({"clients": n}), flush=True)
    await asyncio.gather(*tasks)
    ms = sorted(stats.pop("rest_ms"))
    stats["rest_requests"] = len(ms)
    stats["rest_p50_ms"] = round(statistics.median(ms), 2) if ms else None
    stats["rest_p99_ms"] = round(ms[int(0.99 * (len(ms) - 1))], 2) if ms else None
    stats["errors"] = stats["errors"][:10]
    print(json.dumps(stats), flush=True)


# --- main: hub + server -----------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1)))] if s else float("nan")


def _child(role: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, __file__, "--role", role, *args], text=True,
                            stdout=subprocess.PIPE, env=env, cwd=ROOT)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder: Path, upstream: str, rng: random.Random, port: int) -> Path:
    from cryptohub_desktop.collectors import PROVIDERS
    lines = ["[server]", f"port = {port}", "", "[backup]", "daily = false", ""]
    for p in PROVIDERS:
        lines += [f"[providers.{p.id}]", f'base_url = "{upstream}/{p.id}"',
                  f'interval = "{rng.choice(INTERVALS)}"', ""]
    path = folder / "config.toml"
    path.write_text("\n".join(lines))
    return path


async def lag_probe(samples: list[float], stop: asyncio.Event, period: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(period)
        samples.append(max(0.0, (loop.time() - t0 - period) * 1000))


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from peewee import fn

    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.collectors import PROVIDERS
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.logs import setup_logging
    from cryptohub_desktop.paths import ensure_layout
    from cryptohub_desktop.secrets import Secrets
    from cryptohub_desktop.server import start_server
    from cryptohub_desktop.storage.models import ConnectionAttempt, DataCollection, FailureLog
    from tests.memkeyring import MemoryKeyring
    from tests.reliability.tables import data_rows

    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    upstream = _child("upstream", "--seed", str(args.seed), "--fault-every",
                      str(args.fault_every))
    assert upstream.stdout is not None
    url = json.loads(upstream.stdout.readline())["url"]
    cfg = load_config(write_config(folder, url, rng, _free_port()), data_dir=folder / "data")
    ensure_layout(cfg.data_dir)
    secrets = Secrets(env={}, backend=MemoryKeyring())
    setup_logging(cfg.data_dir, "INFO", lambda: secrets.seen, console=False)
    hub = Hub(cfg, PROVIDERS, secrets)
    await hub.start()
    server = await start_server(LocalApi(hub), cfg.server, hub.secrets)
    clients = _child("clients", "--port", str(server.port), "--clients", str(args.clients))
    assert clients.stdout is not None
    await asyncio.to_thread(clients.stdout.readline)

    stop = asyncio.Event()
    lags: list[float] = []
    probe = asyncio.create_task(lag_probe(lags, stop))
    rss_start = rss_max = _rss_mb()
    t_end = time.monotonic() + args.duration
    next_report = time.monotonic() + 60
    while time.monotonic() < t_end:
        await asyncio.sleep(min(5.0, max(0.0, t_end - time.monotonic())))
        rss_max = max(rss_max, _rss_mb())
        if time.monotonic() >= next_report:
            next_report += 60
            print(f"  {args.duration - (t_end - time.monotonic()):5.0f}s  rss {_rss_mb():.0f} MB"
                  f"  lag p99 {_pct(lags[-1200:], 0.99):.1f} ms"
                  f"  ws clients {len(server.fanout.clients)}", flush=True)
    stop.set()
    await probe
    rss_end = _rss_mb()
    ws_server_side = len(server.fanout.clients)
    clients.send_signal(signal.SIGTERM)
    client_stats = json.loads((await asyncio.to_thread(clients.stdout.read)).strip()
                              .splitlines()[-1])
    clients.wait(10)

    def db_figures() -> dict[str, Any]:
        by_attempt = {(r["status"], r["error_type"] or "-"): r["n"] for r in ConnectionAttempt
                      .select(ConnectionAttempt.status, ConnectionAttempt.error_type,
                              fn.COUNT(ConnectionAttempt.id).alias("n"))
                      .group_by(ConnectionAttempt.status, ConnectionAttempt.error_type).dicts()}
        failures = {r["error_type"]: r["n"] for r in FailureLog
                    .select(FailureLog.error_type, fn.COUNT(FailureLog.id).alias("n"))
                    .group_by(FailureLog.error_type).dicts()}
        runs = {r["status"]: r["n"] for r in DataCollection
                .select(DataCollection.status, fn.COUNT(DataCollection.id).alias("n"))
                .group_by(DataCollection.status).dicts()}
        return {"attempts": {f"{s}/{e}": n for (s, e), n in sorted(by_attempt.items())},
                "failures_by_type": failures, "runs": runs,
                "integrity": hub.store.integrity_check()}

    figures = await hub.store.read(db_figures)
    stored = await data_rows(hub)
    comp = hub.compliance.stats
    on_time = sum(s.on_time for s in comp.values())
    late = sum(s.late for s in comp.values())
    skipped = sum(s.skipped for s in comp.values())
    fanout_stats = dict(server.fanout.stats)
    await server.close()
    await hub.stop()
    upstream.send_signal(signal.SIGTERM)
    injected = json.loads(upstream.stdout.read().strip().splitlines()[-1])
    upstream.wait(10)
    return {
        "duration_s": args.duration, "providers": len(hub.providers),
        "active_providers": sum(hub.catalogue.is_active(p) for p in hub.providers),
        "rss_mb": {"start": round(rss_start, 1), "end": round(rss_end, 1),
                   "max": round(rss_max, 1)},
        "loop_lag_ms": {"p50": round(_pct(lags, 0.5), 2), "p99": round(_pct(lags, 0.99), 2),
                        "max": round(max(lags), 2), "samples": len(lags)},
        "schedule": {"on_time": on_time, "late": late, "skipped": skipped,
                     "on_time_pct": round(100 * on_time / max(1, on_time + late + skipped), 1),
                     "on_time_pct_of_runs": round(100 * on_time / max(1, on_time + late), 1)},
        **figures, "rows_stored": stored, "upstream": injected,
        "ws": {"server_side_clients_at_end": ws_server_side, "fanout": fanout_stats,
               **client_stats},
        "data_dir": str(folder),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=("main", "upstream", "clients"), default="main")
    ap.add_argument("--duration", type=float, default=600.0, help="seconds")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fault-every", type=float, default=2.0, help="seconds between faults")
    ap.add_argument("--port", type=int)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    if args.role == "upstream":
        run_upstream(args.seed, args.fault_every)
        return
    if args.role == "clients":
        asyncio.run(run_clients(args.port, args.clients))
        return
    print(f"soak: {args.duration:.0f}s, {args.clients} WebSocket clients, a fault every "
          f"{args.fault_every:g}s", flush=True)
    report = asyncio.run(soak(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")


if __name__ == "__main__":
    main()
