"""PostgreSQL: ``ohlcv`` ingest through the single writer, retention batches, and the
latency of the hot REST reads (SPEC section 12).

    python bench/bench_pg_ingest.py [--rows 1000000] [--batch 5000] [--requests 2000]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--json FILE]

Runs on a throwaway database made on the server ``--admin-url`` names (dropped at the
end; ``scripts/services`` starts one on 127.0.0.1):

1. **ingest**: ``await store.write(store.insert_ohlcv_rows, batch)`` from an asyncio loop,
   one transaction per batch (binary COPY straight into ``ohlcv`` under a savepoint),
   then the same rows again (all duplicates), then batches of new rows behind one
   stored candle (both take the careful path: COPY into a temporary table, then
   ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``); for
   comparison Peewee's ``insert_many(...).on_conflict_ignore()`` on 100,000 new rows.
2. **retention**: ``store.retention`` deleting half of the candles in batches of 5,000;
   rows/s and the time of one batch (the longest a collector's write waits for it).
3. **REST**: a hub on this database with a local server; a client in another process
   sends ``--requests`` sequential GETs per hot path (a new connection each, as a script
   would), and the database queries the server ran meanwhile are counted (they should
   come from the answer cache, not one query per request). The same on SQLite for the
   ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from bench_fanout import pct, rest_times  # beside this script (python bench/...)
from psycopg.conninfo import conninfo_to_dict

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.config import parse_config
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.server import start_server
from cryptohub_desktop.storage.models import OHLCV
from cryptohub_desktop.storage.store import Store

PATHS = ["/health", "/api/status", "/api/market", "/api/providers",
         "/api/history?symbol=BTC&interval=1m"]
T0 = datetime(2020, 1, 1)


def candles(start: int, n: int, symbol: str = "BTC") -> list[tuple[Any, ...]]:
    return [("binance", symbol, "1m", T0 + timedelta(minutes=start + i), 1.0 + i % 7, 2.0, 0.5,
             1.5, 10.0 + i % 11) for i in range(n)]


async def lag_probe(stop: asyncio.Event, out: list[float], every: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(every)
        out.append((loop.time() - t - every) * 1000.0)


async def ingest(store: Store, rows: int, batch: int) -> dict[str, Any]:
    stop, lags = asyncio.Event(), []
    probe = asyncio.create_task(lag_probe(stop, lags))
    batches = [candles(i, min(batch, rows - i)) for i in range(0, rows, batch)]
    start = time.perf_counter()
    new = 0
    for chunk in batches:
        new += await store.write(store.insert_ohlcv_rows, chunk)
    elapsed = time.perf_counter() - start
    stop.set()
    await probe
    dup_rows = min(rows, 200_000)
    start = time.perf_counter()
    again = 0
    for chunk in batches[: max(1, dup_rows // batch)]:
        again += await store.write(store.insert_ohlcv_rows, chunk)
    dup_elapsed = time.perf_counter() - start
    assert new == rows and again == 0, (new, again)
    # new candles behind one stored candle: the first COPY fails, the batch takes the
    # temporary table + INSERT ... SELECT ... ON CONFLICT path (the overlap of a gap fill)
    mixed_rows, mixed_new = min(rows, 200_000), 0
    stored = candles(0, 1)[0]
    start = time.perf_counter()
    for i in range(0, mixed_rows, batch):
        chunk = [stored, *candles(rows + i, batch - 1)]
        mixed_new += await store.write(store.insert_ohlcv_rows, chunk)
    mixed_elapsed = time.perf_counter() - start

    def peewee_baseline() -> float:
        rows_ = [dict(zip(("source", "symbol", "interval", "open_time", "open", "high", "low",
                           "close", "volume"), r, strict=True)) for r in candles(0, 100_000, "ETH")]
        t = time.perf_counter()
        for i in range(0, len(rows_), 1000):
            with store.db.atomic():
                OHLCV.insert_many(rows_[i:i + 1000]).on_conflict_ignore().execute()
        return len(rows_) / (time.perf_counter() - t)

    baseline = await store.maintain(peewee_baseline)
    return {"rows": rows, "batch": batch, "seconds": round(elapsed, 2),
            "rows_per_s": round(rows / elapsed),
            "duplicates_rows_per_s": round(dup_rows / dup_elapsed),
            "mixed_new_rows_per_s": round(mixed_new / mixed_elapsed),
            "peewee_insert_many_rows_per_s": round(baseline),
            "loop_lag_ms": {"p50": round(statistics.median(lags), 2),
                            "p99": round(pct(lags, 99), 2), "max": round(max(lags), 2)},
            "bytes_per_row": round(await store.read(store.backend.size_bytes, store.db)
                                   / (rows + mixed_new + 100_000))}


def retention(store: Store, rows: int) -> dict[str, Any]:
    """Delete the older half of the 1m candles, timing each 5,000-row batch."""
    cutoff_days = (datetime.now() - (T0 + timedelta(minutes=rows // 2))).days
    times: list[float] = []

    def timed() -> int:
        total = 0
        db = store.db
        orig = db.atomic

        class Timed:
            def __enter__(self) -> Any:
                self.t = time.perf_counter()
                self.ctx = orig()
                return self.ctx.__enter__()

            def __exit__(self, *exc: Any) -> Any:
                out = self.ctx.__exit__(*exc)
                times.append((time.perf_counter() - self.t) * 1000.0)
                return out

        db.atomic = lambda *a, **k: Timed()  # type: ignore[method-assign]
        try:
            total = store.retention(cutoff_days, 5000)
        finally:
            db.atomic = orig  # type: ignore[method-assign]
        return total

    start = time.perf_counter()
    deleted = store._writer.submit(timed).result()
    elapsed = time.perf_counter() - start
    return {"deleted": deleted, "seconds": round(elapsed, 2),
            "rows_per_s": round(deleted / elapsed) if elapsed else None,
            "batch_ms": {"p50": round(statistics.median(times), 1),
                         "p99": round(pct(times, 99), 1), "max": round(max(times), 1)}}


def client(port: int, paths: list[str], count: int) -> None:
    """The client process: ``count`` sequential GETs per path, each on a new connection."""
    print(json.dumps(asyncio.run(rest_times(port, paths, count))))


async def rest(url: str, requests: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-rest-"))
    cfg = parse_config({"server": {"rate_limit_per_minute": 10_000_000},
                        "database": {"url": url},
                        "consensus": {"max_age_seconds": 10**9}}, tmp / "none.toml", data_dir=tmp)
    hub = Hub(cfg, [coingecko.PROVIDER], Secrets(env={}))
    await hub.start(schedule=False)
    assert hub.store is not None
    now = utcnow()
    await hub.store.write(hub.store.insert_records, "coingecko",
                          [Price(s, 100.0 + i, now) for i, s in enumerate(cfg.watchlist)])
    await hub.store.write(hub.store.insert_ohlcv_rows,
                          [("binance", "BTC", "1m", (now - timedelta(minutes=i)).replace(tzinfo=None),
                            1, 2, 0.5, 1.5, 3) for i in range(1440)])
    queries = 0

    def count(_event: Any) -> None:
        nonlocal queries
        queries += 1

    hub.store.db.query_hooks.append(count)
    handle = await start_server(LocalApi(hub), dataclasses.replace(cfg.server, port=0),
                                hub.secrets)
    paths: dict[str, Any] = {}
    try:
        for path in PATHS:
            before = queries
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", str(handle.port), str(requests), path,
                stdout=subprocess.PIPE)
            out, _ = await proc.communicate()
            t = json.loads(out)[path]
            paths[path] = {"p50_ms": round(statistics.median(t), 2),
                           "p99_ms": round(pct(t, 99), 2),
                           "db_queries_per_request": round((queries - before) / requests, 3)}
    finally:
        await handle.close()
        await hub.stop()
    return {"requests_per_path": requests, "paths": paths}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"chd_bench_{os.getpid()}"
    admin = psycopg.connect(args.admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(args.admin_url)
    url = (f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
           f"{params.get('port', 5432)}/{name}")
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                       "server": admin.execute("SHOW server_version")
                                       .fetchone()[0]}}  # type: ignore[index]
    try:
        store = Store.open(url)
        try:
            out["ingest"] = await ingest(store, args.rows, args.batch)
            print(json.dumps(out["ingest"]), flush=True)
            out["retention"] = retention(store, args.rows)
            print(json.dumps(out["retention"]), flush=True)
        finally:
            store.close()
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        out["rest_postgresql"] = await rest(url, args.requests)
        print(json.dumps(out["rest_postgresql"]), flush=True)
        lite = Path(tempfile.mkdtemp(prefix="bench-pg-lite-")) / "api_monitor.db"
        out["rest_sqlite"] = await rest(f"sqlite:///{lite}", args.requests)
        print(json.dumps(out["rest_sqlite"]), flush=True)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), sys.argv[4:], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    started = time.time()
    out = asyncio.run(run(args))
    out["seconds"] = round(time.time() - started, 1)
    out["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
