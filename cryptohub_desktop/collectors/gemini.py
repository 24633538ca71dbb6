"""Gemini public market data: per-pair ticker (keyless REST API v1).

Endpoint: ``GET /v1/pubticker/{symbol}`` (https://docs.gemini.com/rest-api/#ticker),
e.g. ``btcusd``. The answer carries ``bid``/``ask``/``last`` (strings) and a ``volume``
object with the 24h volume in the base and in the quote currency (keyed by their
names) and the ``timestamp`` (ms) that ends the 24h window. It has no 24h change.
Gemini has no batch ticker, so a pass costs one call per watched symbol.
Limit: public API endpoints allow 120 requests per minute.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import per_symbol, quote_of
from cryptohub_desktop.collectors._parse import as_dict, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="gemini",
    name="Gemini",
    category="market_data",
    base_url="https://api.gemini.com",
    docs_url="https://docs.gemini.com/rest-api/#ticker",
    gives="spot last price and 24h quote volume (USD pairs)",
    rate_limits=(RateLimit(120, 60),),
)


def parse_pubticker(answer: Any, symbol: str, pair: str) -> Price:
    """One ``/v1/pubticker`` answer as a price (no 24h change in this answer)."""
    data = as_dict(answer)
    if data.get("result") == "error":
        raise UpstreamHTTPError(f"Gemini: {data.get('reason')}: {data.get('message')}", status=400)
    quote = quote_of(pair)
    volume = as_dict(field(data, "volume"), "volume")
    ts = volume.get("timestamp")
    return Price(
        symbol=symbol,
        quote=quote,
        price_usd=req_num(data.get("last"), f"{pair}.last"),
        volume_24h=num(volume.get(quote)),
        timestamp=from_ms(req_num(ts, "volume.timestamp")) if ts is not None else utcnow(),
    )


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    async def one(symbol: str, pair: str) -> Price:
        return parse_pubticker(await api.get_json(f"/v1/pubticker/{pair}"), symbol, pair)

    return await per_symbol(ctx, SPEC.id, one)


PROVIDER = Provider(SPEC, collect)
