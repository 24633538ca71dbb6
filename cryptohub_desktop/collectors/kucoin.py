"""KuCoin spot market data: every ticker in one call (keyless public API).

Endpoint: ``GET /api/v1/market/allTickers``
(https://www.kucoin.com/docs-new/rest/spot-trading/market-data/get-all-tickers).
The answer is the envelope ``{"code": "200000", "data": {"time": ms, "ticker": [...]}}``
with every number as a string; another ``code`` is an error inside a 200 answer.
Limit: the public pool allows 2000 weight per 30 s per IP and this call weighs 15;
we declare 100 calls per 30 s.
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
    id="kucoin",
    name="KuCoin",
    category="market_data",
    base_url="https://api.kucoin.com",
    docs_url="https://www.kucoin.com/docs-new/rest/spot-trading/market-data/get-all-tickers",
    gives="spot last price, 24h quote volume and change (USDT pairs)",
    rate_limits=(RateLimit(100, 30),),
)


def unwrap(answer: Any) -> Any:
    """The ``data`` of a KuCoin envelope; a code other than 200000 is raised."""
    envelope = as_dict(answer)
    code = str(field(envelope, "code"))
    if code != "200000":
        message = f"KuCoin code {code}: {envelope.get('msg', '')}"
        if code == "429000":
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    return field(envelope, "data")


def parse_all_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """The ``allTickers`` answer as prices; ``pairs``: KuCoin symbol (BTC-USDT) -> symbol.

    ``changeRate`` is a fraction (-0.0014 = -0.14 %); ``volValue`` is the 24h volume
    in the quote currency; ``data.time`` (ms) is the snapshot time.
    """
    data = as_dict(unwrap(answer), "data")
    time_ms = data.get("time")
    when = from_ms(req_num(time_ms, "time")) if time_ms is not None else utcnow()
    out = []
    for row in as_list(field(data, "ticker", "data"), "ticker"):
        row = as_dict(row, "ticker row")
        symbol = pairs.get(row.get("symbol"))
        if symbol is None:
            continue
        rate = num(row.get("changeRate"))
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(row["symbol"], "USDT"),
                price_usd=req_num(row.get("last"), f"{row['symbol']}.last"),
                volume_24h=num(row.get("volValue")),
                price_change_24h=rate * 100.0 if rate is not None else None,
                timestamp=when,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    return parse_all_tickers(await api.get_json("/api/v1/market/allTickers"), pairs)


PROVIDER = Provider(SPEC, collect)
