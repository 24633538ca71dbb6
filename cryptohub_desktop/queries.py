"""Read-side queries over the store (run them with ``await store.read(fn, ...)``).

Pure functions of the database: no hub state, no Qt. They return plain data
(dicts, dataclasses) for the server's answers and the UI's models.
"""

from __future__ import annotations

from datetime import timedelta

from peewee import fn

from cryptohub_desktop.consensus import Consensus, SourcePrice, consensus
from cryptohub_desktop.models import MarketPrice
from cryptohub_desktop.timeutil import from_db, to_db, utcnow


def latest_consensus(symbols: list[str], max_age_seconds: float,
                     threshold_pct: float) -> list[Consensus]:
    """For each symbol: the consensus of each source's latest fresh price."""
    now = utcnow()
    since = to_db(now - timedelta(seconds=max_age_seconds))
    out = []
    for symbol in symbols:
        symbol = symbol.upper()
        latest = (MarketPrice.select(fn.MAX(MarketPrice.id))
                  .where(MarketPrice.symbol == symbol, MarketPrice.timestamp >= since)
                  .group_by(MarketPrice.source))
        rows = MarketPrice.select().where(MarketPrice.id.in_(latest))
        out.append(consensus(symbol, [SourcePrice(r.source, r.price_usd, from_db(r.timestamp),
                                                  r.quote) for r in rows], now,
                             max_age_seconds=max_age_seconds, threshold_pct=threshold_pct))
    return out
