"""Child process of test_crash_safety: ingest ``ohlcv`` rows through the single writer.

``python -m tests.reliability.ingest_child DB_URL [BATCH]`` opens the Store (creating
and migrating the database), prints ``ready``, then writes batches of candles forever.
After each batch's ``Store.write`` has returned it prints ``committed N``, N being the
row count of ``ohlcv`` read inside that same transaction: a promise the test checks
after killing this process with SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from cryptohub_desktop.core.time import to_db
from cryptohub_desktop.storage.models import OHLCV
from cryptohub_desktop.storage.store import Store

SYMBOLS = ("BTC", "ETH", "SOL", "XRP", "BNB")


def _batch(start: int, size: int) -> list[tuple]:
    base = datetime(2020, 1, 1, tzinfo=UTC)
    rows = []
    for k in range(start, start + size):
        t = to_db(base + timedelta(minutes=k // len(SYMBOLS)))
        price = 100.0 + (k % 997) / 10
        rows.append(("crash_test", SYMBOLS[k % len(SYMBOLS)], "1m", t, price, price + 1,
                     price - 1, price + 0.5, 10.0 + k % 13))
    return rows


async def main(url: str, size: int) -> None:
    store = await asyncio.to_thread(Store.open, url)
    start = await store.read(lambda: OHLCV.select().count())
    print(f"ready {start}", flush=True)

    def ingest(rows: list[tuple]) -> int:
        store.insert_ohlcv_rows(rows)
        return OHLCV.select().count()

    while True:
        committed = await store.write(ingest, _batch(start, size))
        start += size
        print(f"committed {committed}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5000))
