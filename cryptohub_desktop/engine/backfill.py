"""OHLCV history: find the missing candles of each (source, symbol, interval) and
fetch only those ranges. Re-running finds no gap and sends nothing (idempotent);
after a sleep or an outage the gap is found and filled.

Each series ends in a :class:`SeriesReport` (handed to ``progress`` as it finishes)
that can say why a gap stayed open: nothing was asked (no market for the symbol),
the upstream answered with no candles inside it (its candles lie outside the window,
or it keeps no history that far back), or only with candles already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
class SeriesReport:
    """What backfilling one (provider, symbol, interval) series did.

    Attributes:
        gaps: missing ranges found.
        received: candles the upstream sent for them.
        outside: of those, candles outside the missing ranges (dropped).
        inserted: new rows stored (the rest were stored already).
        error: why the series stopped, if it did.
    """

    provider: str
    symbol: str
    interval: str
    gaps: int = 0
    requests: int = 0
    received: int = 0
    outside: int = 0
    inserted: int = 0
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.provider} {self.symbol} {self.interval}"

    def explain(self) -> str:
        """One line: what was filled, or why the gaps stayed open."""
        if self.error:
            return f"{self.label}: failed: {self.error}"
        if not self.gaps:
            return f"{self.label}: complete, nothing to fetch"
        head = f"{self.label}: {self.inserted} candles inserted for {self.gaps} gaps"
        why = _why(self.requests, self.received, self.outside, self.inserted)
        return f"{head} ({why})" if why else head


def _why(requests: int, received: int, outside: int, inserted: int) -> str:
    if inserted:
        return ""
    if not requests:
        return "nothing was asked: the provider has no market for the symbol"
    if received == outside:  # nothing inside the gaps (fetchers drop what lies outside)
        n = f"{requests} request" + ("s" if requests != 1 else "")
        return (f"the upstream answered {n} with no candles inside the missing ranges: its "
                "candles lie outside the window, or it keeps no history that far back")
    return (f"the {received - outside} candles in the missing ranges were stored already"
            + (f"; {outside} fell outside them" if outside else ""))


@dataclass
class BackfillReport:
    inserted: int = 0
    requests: int = 0
    gaps: int = 0
    received: int = 0
    outside: int = 0
    errors: list[str] = field(default_factory=list)
    series: list[SeriesReport] = field(default_factory=list)

    def explain(self) -> str:
        """Why nothing was inserted although gaps were found ("" otherwise)."""
        if self.inserted or not self.gaps:
            return ""
        return _why(self.requests, self.received, self.outside, self.inserted)


#: called with (series done, series in all, the report of the one just done): once with
#: (0, total, None) before the first series, then after each
Progress = Callable[[int, int, SeriesReport | None], None]


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
        progress: called before the first series and after each (:data:`Progress`).
    """
    now = now or utcnow()
    wanted = list(intervals or DEFAULT_INTERVALS)
    series = [(p, s.upper(), i) for p in providers if p.history is not None
              for s in symbols for i in wanted if i in p.history_intervals]
    report = BackfillReport()
    if progress:
        progress(0, len(series), None)
    for n, (provider, symbol, interval) in enumerate(series, 1):
        sr = SeriesReport(provider.id, symbol, interval)
        end = floor_time(now, interval)  # the current candle is not finished
        start = floor_time(now - timedelta(days=days), interval)
        have = await store.read(queries.candle_times, provider.id, symbol, interval, start, end)
        gaps = missing_ranges(have, start, end, interval)
        sr.gaps = len(gaps)
        for first, stop in gaps:
            api = upstream(provider.id, None)
            try:
                assert provider.history is not None
                candles = await provider.history(api, HistoryQuery(
                    symbol, interval, first, stop, symbol_map))
            except UpstreamError as exc:
                sr.error = str(exc)
                report.errors.append(f"{provider.id} {symbol} {interval}: {exc}")
                log.info("backfill %s %s %s failed: %s", provider.id, symbol, interval, exc)
                sr.requests += api.calls
                break
            sr.requests += api.calls
            sr.received += len(candles)
            inside = [c for c in candles if first <= c.open_time < stop]
            sr.outside += len(candles) - len(inside)
            sr.inserted += await store.write(store.insert_candles, provider.id, inside)
        report.series.append(sr)
        report.gaps += sr.gaps
        report.requests += sr.requests
        report.received += sr.received
        report.outside += sr.outside
        report.inserted += sr.inserted
        if progress:
            progress(n, len(series), sr)
    return report
