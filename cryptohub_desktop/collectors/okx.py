"""OKX spot market data: every spot ticker in one call (keyless public API).

Endpoint: ``GET /api/v5/market/tickers?instType=SPOT``
(https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-tickers). The answer is
``{"code": "0", "msg": "", "data": [...]}`` with every number as a string; another
``code`` is an error inside the answer (50011 = too many requests).
Limit: 20 requests per 2 seconds per IP.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import pct_change, quote_of, watched_pairs
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="okx",
    name="OKX",
    category="market_data",
    base_url="https://www.okx.com",
    docs_url="https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-tickers",
    gives="spot last price, 24h quote volume and change (USDT pairs)",
    rate_limits=(RateLimit(20, 2),),
)


def unwrap(answer: Any) -> list[Any]:
    """The ``data`` array of an OKX answer; a ``code`` other than "0" is raised."""
    envelope = as_dict(answer)
    code = str(field(envelope, "code"))
    if code != "0":
        message = f"OKX code {code}: {envelope.get('msg', '')}"
        if code == "50011":
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    return as_list(field(envelope, "data"), "data")


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """Ticker rows as prices; ``pairs``: OKX instId (BTC-USDT) -> plain symbol.

    The change is ``last`` against ``open24h`` (the price 24 h ago); for spot,
    ``volCcy24h`` is the 24h volume in the quote currency; ``ts`` is in ms.
    """
    out = []
    for row in unwrap(answer):
        row = as_dict(row, "ticker row")
        symbol = pairs.get(row.get("instId"))
        if symbol is None:
            continue
        inst = row["instId"]
        last = req_num(row.get("last"), f"{inst}.last")
        ts = row.get("ts")
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(inst, "USDT"),
                price_usd=last,
                volume_24h=num(row.get("volCcy24h")),
                price_change_24h=pct_change(last, num(row.get("open24h"))),
                timestamp=from_ms(req_num(ts, f"{inst}.ts")) if ts not in (None, "") else utcnow(),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    answer = await api.get_json("/api/v5/market/tickers", {"instType": "SPOT"})
    return parse_tickers(answer, pairs)


PROVIDER = Provider(SPEC, collect)
