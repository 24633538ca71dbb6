"""A large REST answer against the event loop: ``/api/history`` of 10,000 candles.

The server process (this one) runs a real hub (temporary SQLite holding 10,000 one-hour
BTC candles of one source) with the product server. A client process (spawned, pinned
to the other CPU) sends, over fresh loopback connections:

1. ``/api/history?symbol=BTC&interval=1h&limit=10000`` one at a time (the answer is
   about 1.5 MB), timing each from connect to the last byte;
2. ``/health`` every 10 ms alone (the floor), then again while a second task keeps
   requesting the 10,000-candle history back to back: how long a small answer waits
   behind a large one on the server's loop.

It also times encoding the same answer in-process with the standard ``json`` module and
with ``orjson`` (what ``server/responses.py`` uses).

Run::

    python bench/bench_history.py --json /tmp/history.json     # about 40 s
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CANDLES = 10_000


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))] if values else float("nan")


def summary(times: list[float]) -> dict[str, Any]:
    return {"n": len(times), "p50_ms": round(pct(times, 50), 2),
            "p99_ms": round(pct(times, 99), 2), "max_ms": round(max(times), 2)}


async def get(port: int, path: str) -> tuple[float, int]:
    """One GET on a new connection: (ms from connect to the last byte, body bytes)."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    data = await reader.read()
    ms = (time.perf_counter() - t0) * 1000.0
    writer.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    return ms, len(data)


async def client(port: int, history_requests: int, probe_seconds: float) -> dict[str, Any]:
    path = f"/api/history?symbol=BTC&interval=1h&limit={CANDLES}"
    hist, size = [], 0
    for _ in range(history_requests):
        ms, size = await get(port, path)
        hist.append(ms)

    async def probe(seconds: float) -> list[float]:
        out = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            out.append((await get(port, "/health"))[0])
            await asyncio.sleep(0.01)
        return out

    alone = await probe(probe_seconds)
    stop = False
    during_hist: list[float] = []

    async def load() -> None:
        while not stop:
            during_hist.append((await get(port, path))[0])
    task = asyncio.create_task(load())
    during = await probe(probe_seconds)
    stop = True
    await task
    return {"history": summary(hist), "history_bytes": size, "health_alone": summary(alone),
            "health_during_history": summary(during),
            "history_under_probe": summary(during_hist)}


def client_process(conn: Any, port: int, history_requests: int, probe_seconds: float) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    conn.send(asyncio.run(client(port, history_requests, probe_seconds)))


def encode_times(answer: dict[str, Any], runs: int = 10) -> dict[str, Any]:
    import orjson
    out = {}
    for name, fn in (("json", lambda: json.dumps(answer, separators=(",", ":")).encode()),
                     ("orjson", lambda: orjson.dumps(answer))):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
        out[name] = round(statistics.median(times), 2)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.collectors import coingecko
    from cryptohub_desktop.config import parse_config
    from cryptohub_desktop.core.records import Candle
    from cryptohub_desktop.core.time import utcnow
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.secrets import Secrets
    from cryptohub_desktop.server import start_server

    tmp = Path(tempfile.mkdtemp(prefix="bench-history-"))
    cfg = parse_config({"server": {"rate_limit_per_minute": 10_000_000}}, tmp / "none.toml",
                       data_dir=tmp)
    hub = Hub(cfg, [coingecko.PROVIDER], Secrets(env={}))
    await hub.start(schedule=False)
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=CANDLES)
    candles = [Candle("BTC", "1h", start + timedelta(hours=i), 60000.0 + i, 60100.5 + i,
                      59900.25 + i, 60050.75 + i, 123.456 + i) for i in range(CANDLES)]
    await hub.store.write(hub.store.insert_candles, "binance", candles)
    handle = await start_server(LocalApi(hub), dataclasses.replace(cfg.server, port=0),
                                hub.secrets)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {0})
    loop = asyncio.get_running_loop()
    try:
        answer = await LocalApi(hub).history("BTC", "1h", limit=CANDLES)
        assert answer["count"] == CANDLES, answer["count"]
        encode = encode_times(answer)
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=client_process,
                           args=(child, handle.port, args.requests, args.probe_seconds))
        proc.start()
        ready = await loop.run_in_executor(None, parent.poll, 600)
        assert ready, "client timed out"
        result = await loop.run_in_executor(None, parent.recv)
        proc.join(10)
    finally:
        await handle.close()
        await hub.stop()
    return {"candles": CANDLES, "encode_ms_in_process": encode, **result,
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "loadavg": os.getloadavg()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=30, help="history requests, one at a time")
    ap.add_argument("--probe-seconds", type=float, default=8.0,
                    help="seconds of /health probing, alone and under load")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
