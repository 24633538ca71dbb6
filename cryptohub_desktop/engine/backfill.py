"""OHLCV history: find the missing candles of each (source, symbol, interval) and
fetch only those ranges. Re-running finds no gap and sends nothing (idempotent);
after a sleep or an outage the gap is found and filled.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from cryptohub_desktop.core.errors import UpstreamError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.providers.upstream import HistoryQuery, UpstreamFactory
from cryptohub_desktop.storage import queries
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.backfill")
STEP = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
DEFAULT_INTERVALS = ("1h", "1d")


def floor_time(t: datetime, interval: str) -> datetime:
    step = STEP[interval]
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, t.tzinfo)


def missing_ranges(have: Sequence[datetime], start: datetime, end: datetime,
                   interval: str) -> list[tuple[datetime, datetime]]:
    """Runs of absent candle open times in [start, end) as (first, end-exclusive)."""
    step = timedelta(seconds=STEP[interval])
    present = {int(t.timestamp()) for t in have}
    ranges: list[tuple[datetime, datetime]] = []
    t = floor_time(start, interval)
    run_start = None
    while t < end:
        if int(t.timestamp()) in present:
            if run_start is not None:
                ranges.append((run_start, t))
                run_start = None
        elif run_start is None:
            run_start = t
        t += step
    if run_start is not None:
        ranges.append((run_start, end))
    return ranges


@dataclass
class BackfillReport:
    inserted: int = 0
    requests: int = 0
    gaps: int = 0
    errors: list[str] = field(default_factory=list)


Progress = Callable[[int, int, str], None]


async def backfill(store: Store, providers: Sequence[Provider], upstream: UpstreamFactory,
                   symbol_map: SymbolMap, *, symbols: Sequence[str], days: int,
                   intervals: Sequence[str] | None = None, progress: Progress | None = None,
                   now: datetime | None = None) -> BackfillReport:
    """Fill the missing candles of the last ``days`` for ``symbols``.

    Args:
        store: the database.
        providers: the providers to use (each with a ``history`` fetcher).
        upstream: provider id -> an HTTP door bound to it (the engine's rate limits).
        symbol_map: the symbol map the fetchers translate symbols with.
        intervals: candle sizes (default 1h and 1d); a provider that does not
            offer one is skipped for it.
        progress: called with (done, total, label) after each series.
    """
    now = now or utcnow()
    wanted = list(intervals or DEFAULT_INTERVALS)
    series = [(p, s.upper(), i) for p in providers if p.history is not None
              for s in symbols for i in wanted if i in p.history_intervals]
    report = BackfillReport()
    for n, (provider, symbol, interval) in enumerate(series, 1):
        end = floor_time(now, interval)  # the current candle is not finished
        start = floor_time(now - timedelta(days=days), interval)
        have = await store.read(queries.candle_times, provider.id, symbol, interval, start, end)
        gaps = missing_ranges(have, start, end, interval)
        report.gaps += len(gaps)
        for first, stop in gaps:
            api = upstream(provider.id, None)
            try:
                assert provider.history is not None
                candles = await provider.history(api, HistoryQuery(
                    symbol, interval, first, stop, symbol_map))
            except UpstreamError as exc:
                report.errors.append(f"{provider.id} {symbol} {interval}: {exc}")
                log.info("backfill %s %s %s failed: %s", provider.id, symbol, interval, exc)
                report.requests += api.calls
                break
            report.requests += api.calls
            candles = [c for c in candles if first <= c.open_time < stop]
            report.inserted += await store.write(store.insert_candles, provider.id, candles)
        if progress:
            progress(n, len(series), f"{provider.id} {symbol} {interval}")
    return report


def text_progress(stream: TextIO = sys.stderr) -> Progress:
    """A one-line progress bar for the terminal."""
    def show(done: int, total: int, label: str) -> None:
        width = 30
        filled = int(width * done / max(1, total))
        end = "\n" if done == total else ""
        print(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} {label:<28}", end=end,
              file=stream, flush=True)
    return show
