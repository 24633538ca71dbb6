"""Bitstamp public market data: per-pair 24h ticker (keyless REST API v2).

Endpoint: ``GET /api/v2/ticker/{currency_pair}/`` (https://www.bitstamp.net/api/#tag/Tickers),
e.g. ``btcusd``. Every value is a string: ``last``, ``open_24`` (price 24 h ago),
``percent_change_24``, ``volume`` (24h, base units), ``vwap`` (24h) and ``timestamp``
(Unix seconds). A pass costs one call per watched symbol.
Limit: 400 requests per second, 10,000 requests per 10 minutes by default.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import pct_change, per_symbol, quote_of
from cryptohub_desktop.collectors._parse import as_dict, num, req_num
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_unix, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="bitstamp",
    name="Bitstamp",
    category="market_data",
    base_url="https://www.bitstamp.net",
    docs_url="https://www.bitstamp.net/api/#tag/Tickers",
    gives="spot last price, 24h volume and change (USD pairs)",
    rate_limits=(RateLimit(400, 1), RateLimit(10000, 600)),
)


def parse_ticker(answer: Any, symbol: str, pair: str) -> Price:
    """One ticker as a price.

    The change is ``percent_change_24`` when given, else ``last`` against ``open_24``;
    the 24h volume in the quote currency is ``volume`` times ``vwap`` (or ``last``).
    """
    data = as_dict(answer)
    last = req_num(data.get("last"), f"{pair}.last")
    change = num(data.get("percent_change_24"))
    if change is None:
        change = pct_change(last, num(data.get("open_24")))
    volume = num(data.get("volume"))
    ts = data.get("timestamp")
    return Price(
        symbol=symbol,
        quote=quote_of(pair),
        price_usd=last,
        volume_24h=volume * (num(data.get("vwap")) or last) if volume is not None else None,
        price_change_24h=change,
        timestamp=from_unix(req_num(ts, "timestamp")) if ts is not None else utcnow(),
    )


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    async def one(symbol: str, pair: str) -> Price:
        return parse_ticker(await api.get_json(f"/api/v2/ticker/{pair}/"), symbol, pair)

    return await per_symbol(ctx, SPEC.id, one)


PROVIDER = Provider(SPEC, collect)
