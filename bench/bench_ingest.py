"""Ingest throughput of ``ohlcv``-shaped rows through the single writer.

    python bench/bench_ingest.py [--rows 1000000] [--batch 5000]

Rows go the way collectors' candles go: ``await store.write(store.insert_ohlcv_rows, batch)``
from an asyncio loop, one transaction per batch, on a fresh WAL database with the
unique index on (source, symbol, interval, open_time). Reports sustained rows/s, the
event-loop's own worst stall while the writer works (it should stay near zero: the loop
only waits on a future), and the file size per row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptohub_desktop.storage.store import Store


async def lag_probe(stop: asyncio.Event, out: list[float], every: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(every)
        out.append((loop.time() - t - every) * 1000.0)


async def run(rows: int, batch: int) -> None:
    folder = Path(tempfile.mkdtemp())
    store = Store.open(f"sqlite:///{folder}/api_monitor.db")
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    stop, lags = asyncio.Event(), []
    probe = asyncio.create_task(lag_probe(stop, lags))
    start = time.perf_counter()
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        chunk = [("binance", "BTC", "1m", (t0 + timedelta(minutes=done + i)).replace(tzinfo=None),
                  1.0, 2.0, 0.5, 1.5, 10.0) for i in range(n)]
        await store.write(store.insert_ohlcv_rows, chunk)
        done += n
    elapsed = time.perf_counter() - start
    stop.set()
    await probe
    size = store.size_bytes()
    store.close()
    print(f"rows: {rows:,}  batch: {batch:,}  time: {elapsed:.2f} s  "
          f"throughput: {rows / elapsed:,.0f} rows/s")
    print(f"event loop lag while ingesting: p50 {statistics.median(lags):.2f} ms  "
          f"p99 {statistics.quantiles(lags, n=100)[98]:.2f} ms  max {max(lags):.2f} ms")
    print(f"database: {size / 1e6:.1f} MB, {size / rows:.0f} bytes per row (with index)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    asyncio.run(run(args.rows, args.batch))


if __name__ == "__main__":
    main()
