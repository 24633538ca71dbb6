"""Consensus price: the median of fresh sources, and which sources deviate.

Prices quoted in USD or a USD stablecoin (USDT, USDC, DAI, FDUSD) are compared;
other quotes are left out. A source is an *outlier* when it is more than
``threshold_pct`` away from the median.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

USD_LIKE = {"USD", "USDT", "USDC", "DAI", "FDUSD", "BUSD"}


@dataclass
class SourcePrice:
    source: str
    price: float
    timestamp: datetime
    quote: str = "USD"
    age_seconds: float = 0.0
    deviation_pct: float = 0.0
    outlier: bool = False


@dataclass
class Consensus:
    symbol: str
    price: float | None
    sources: list[SourcePrice] = field(default_factory=list)

    @property
    def outliers(self) -> list[SourcePrice]:
        return [s for s in self.sources if s.outlier]


def consensus(symbol: str, prices: list[SourcePrice], now: datetime, *,
              max_age_seconds: float, threshold_pct: float) -> Consensus:
    """Median of the fresh USD-like prices; each fresh source gets its deviation."""
    fresh = []
    for p in prices:
        p.age_seconds = max(0.0, (now - p.timestamp).total_seconds())
        if p.age_seconds <= max_age_seconds and p.quote.upper() in USD_LIKE and p.price > 0:
            fresh.append(p)
    if not fresh:
        return Consensus(symbol, None, [])
    median = statistics.median(p.price for p in fresh)
    for p in fresh:
        p.deviation_pct = round(100.0 * (p.price - median) / median, 4)
        p.outlier = len(fresh) >= 3 and abs(p.deviation_pct) > threshold_pct
    return Consensus(symbol, median, sorted(fresh, key=lambda s: s.source))
