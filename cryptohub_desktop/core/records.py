"""Normalized records that collectors return and the store writes.

Each record type maps to one table of SPEC section 6. Collectors never set the
``source``: the hub stamps every record with the provider id that served it.
Timestamps are timezone-aware UTC datetimes (see ``timeutil``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from cryptohub_desktop.core.time import iso

#: VADER's compound-score thresholds for the positive / negative labels
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


def sentiment_label(score: float) -> str:
    """positive / negative / neutral for a score in -1..1 (VADER's thresholds, ±0.05)."""
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


@dataclass
class Price:
    """A spot price of ``symbol`` quoted in ``quote`` (USD, USDT, USDC, EUR ...)."""

    TABLE: ClassVar[str] = "market_prices"
    symbol: str
    price_usd: float
    timestamp: datetime
    quote: str = "USD"
    market_cap: float | None = None
    volume_24h: float | None = None
    price_change_24h: float | None = None  # percent


@dataclass
class Candle:
    """One OHLCV candle; ``interval`` is "1m", "5m", "1h", "1d" ..."""

    TABLE: ClassVar[str] = "ohlcv"
    symbol: str
    interval: str
    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote: str = "USD"


@dataclass
class GasPrice:
    """Gas in gwei for EVM chains, sat/vB for bitcoin."""

    TABLE: ClassVar[str] = "gas_prices"
    blockchain: str
    timestamp: datetime
    gas_price_gwei: float | None = None
    fast_gas_price: float | None = None
    standard_gas_price: float | None = None
    slow_gas_price: float | None = None


@dataclass
class BlockStat:
    TABLE: ClassVar[str] = "blockchain_stats"
    blockchain: str
    timestamp: datetime
    latest_block: int | None = None
    total_transactions: int | None = None
    network_hashrate: float | None = None
    difficulty: float | None = None
    mempool_size: int | None = None


@dataclass
class NewsArticle:
    TABLE: ClassVar[str] = "news_articles"
    title: str
    url: str
    published_at: datetime
    content: str = ""
    tags: str = ""  # comma separated
    sentiment: str | None = None  # positive / negative / neutral
    sentiment_score: float | None = None


@dataclass
class WhaleTx:
    TABLE: ClassVar[str] = "whale_transactions"
    blockchain: str
    transaction_hash: str
    timestamp: datetime
    amount: float
    symbol: str
    amount_usd: float | None = None
    from_address: str = ""
    to_address: str = ""


@dataclass
class SentimentMetric:
    TABLE: ClassVar[str] = "sentiment_metrics"
    metric_name: str
    value: float
    timestamp: datetime
    classification: str = ""


@dataclass
class NodeStatus:
    """Height of one RPC node; the store computes ``lag_blocks`` per chain."""

    TABLE: ClassVar[str] = "rpc_node_status"
    chain: str
    block_height: int
    timestamp: datetime
    response_time_ms: float | None = None


@dataclass
class OnchainMetric:
    TABLE: ClassVar[str] = "onchain_metrics"
    metric: str
    chain: str
    value: float
    timestamp: datetime


Record = Price | Candle | GasPrice | BlockStat | NewsArticle | WhaleTx | SentimentMetric | NodeStatus | OnchainMetric


def as_dict(record: Record, time: Callable[[datetime], Any] = iso) -> dict[str, Any]:
    """The one serialiser of a record: its fields by name, datetimes through ``time``
    (ISO-8601 text by default; the store passes its own database form).

    Example::

        as_dict(price)                # {"symbol": "BTC", "timestamp": "2024-...Z", ...}
        as_dict(price, time=to_db)    # naive UTC datetimes for the database
    """
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = time(value) if isinstance(value, datetime) else value
    return out
