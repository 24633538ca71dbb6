"""Bybit V5 spot market data: every spot ticker in one call (keyless public API).

Endpoint: ``GET /v5/market/tickers?category=spot``
(https://bybit-exchange.github.io/docs/v5/market/tickers). The answer is
``{"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [...]},
"time": ms}`` with every number as a string; a non-zero ``retCode`` is an error
inside a 200 answer (10006 = too many visits).
Limit: 600 requests per 5 seconds per IP across the HTTP API.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import quote_of, watched_pairs
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="bybit",
    name="Bybit",
    category="market_data",
    base_url="https://api.bybit.com",
    docs_url="https://bybit-exchange.github.io/docs/v5/market/tickers",
    gives="spot last price, 24h quote volume and change (USDT pairs)",
    rate_limits=(RateLimit(600, 5),),
)


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """The spot tickers answer as prices; ``pairs``: Bybit symbol (BTCUSDT) -> symbol.

    ``price24hPcnt`` is a fraction (0.0068 = 0.68 %); ``turnover24h`` is the 24h
    volume in the quote currency; the top-level ``time`` (ms) is the answer time.
    """
    envelope = as_dict(answer)
    code = field(envelope, "retCode")
    if code != 0:
        message = f"Bybit retCode {code}: {envelope.get('retMsg', '')}"
        if code == 10006:
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    result = as_dict(field(envelope, "result"), "result")
    time_ms = envelope.get("time")
    when = from_ms(req_num(time_ms, "time")) if time_ms is not None else utcnow()
    out = []
    for row in as_list(field(result, "list", "result"), "list"):
        row = as_dict(row, "ticker row")
        symbol = pairs.get(row.get("symbol"))
        if symbol is None:
            continue
        pct = num(row.get("price24hPcnt"))
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(row["symbol"], "USDT"),
                price_usd=req_num(row.get("lastPrice"), f"{row['symbol']}.lastPrice"),
                volume_24h=num(row.get("turnover24h")),
                price_change_24h=pct * 100.0 if pct is not None else None,
                timestamp=when,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    answer = await api.get_json("/v5/market/tickers", {"category": "spot"})
    return parse_tickers(answer, pairs)


PROVIDER = Provider(SPEC, collect)
