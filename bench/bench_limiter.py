"""What one rate-limit hit costs: in memory, in the shared SQLite quota file, and in the
``limits`` library's moving window (in memory; its storages that outlive a process are
servers: Redis, Memcached, MongoDB).

Each limiter gets ``--hits`` calls through its own API, for a group with a per-minute
and a per-month window (the month window is what the file persists). ``limits`` is
optional (``pip install limits``); without it that row is left out.

Run::

    python bench/bench_limiter.py --hits 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptohub_desktop.providers.quotas import PersistentLimiter, QuotaFile  # noqa: E402
from cryptohub_desktop.providers.ratelimit import RateLimiter  # noqa: E402
from cryptohub_desktop.providers.spec import RateLimit  # noqa: E402

LIMITS = (RateLimit(10**9, 60), RateLimit(10**9, 30 * 86400))


def timed(fn, hits: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(hits):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return {"p50_us": round(statistics.median(times), 1),
            "p99_us": round(times[int(0.99 * len(times))], 1)}


async def persistent(hits: int, folder: Path) -> dict[str, float]:
    limiter = PersistentLimiter("bench", LIMITS, QuotaFile(folder / "ratelimits.db"))
    times = []
    for _ in range(hits):
        t0 = time.perf_counter()
        await limiter.acquire()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    t0 = time.perf_counter()
    for _ in range(100):
        limiter.wait_time()
    wait_us = (time.perf_counter() - t0) * 1e4
    return {"p50_us": round(statistics.median(times), 1),
            "p99_us": round(times[int(0.99 * len(times))], 1),
            "wait_time_us_with_window_full_of_hits": round(wait_us, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hits", type=int, default=5000)
    args = ap.parse_args()
    out: dict[str, object] = {}
    memory = RateLimiter("bench", LIMITS)
    out["memory (RateLimiter.try_acquire)"] = timed(memory.try_acquire, args.hits)
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite file (PersistentLimiter.acquire, incl. the worker-thread hop)"] = (
            asyncio.run(persistent(args.hits, Path(tmp))))
    try:
        from limits import parse_many
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter
    except ImportError:
        out["limits"] = "not installed"
    else:
        lim = MovingWindowRateLimiter(MemoryStorage())
        items = parse_many("1000000000/minute;1000000000/month")
        out["limits moving window, memory storage (2 windows)"] = timed(
            lambda: all(lim.hit(i, "bench") for i in items), args.hits)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
