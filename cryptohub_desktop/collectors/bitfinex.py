"""Bitfinex public API v2: trading-pair tickers in one call (keyless).

Endpoint: ``GET /v2/tickers?symbols=tBTCUSD,tETHUSD,...``
(https://docs.bitfinex.com/reference/rest-public-tickers). Each trading-pair row is an
array ``[SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE,
LAST_PRICE, VOLUME, HIGH, LOW]``; pairs Bitfinex does not list are left out of the answer.
Errors are arrays ``["error", CODE, "message"]``, rate limiting ``{"error": "ERR_RATE_LIMIT"}``.
Limit: public endpoints allow 10 to 90 requests per minute depending on the endpoint;
we declare 30 per minute.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import quote_of, watched_pairs
from cryptohub_desktop.collectors._parse import as_list, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="bitfinex",
    name="Bitfinex",
    category="market_data",
    base_url="https://api-pub.bitfinex.com",
    docs_url="https://docs.bitfinex.com/reference/rest-public-tickers",
    gives="spot last price, 24h volume and change (USD pairs)",
    rate_limits=(RateLimit(30, 60),),
)

_TRADING_ROW = 11  # fields of a trading-pair ticker row


def _raise_api_error(answer: Any) -> None:
    if isinstance(answer, dict) and "error" in answer:
        if answer["error"] == "ERR_RATE_LIMIT":
            raise UpstreamRateLimited("Bitfinex: ERR_RATE_LIMIT")
        raise UpstreamHTTPError(f"Bitfinex: {answer['error']}", status=400)
    if isinstance(answer, list) and answer and answer[0] == "error":
        raise UpstreamHTTPError(f"Bitfinex error: {answer[1:]}", status=400)


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """Ticker rows as prices; ``pairs``: Bitfinex symbol (``tBTCUSD``) -> plain symbol.

    ``DAILY_CHANGE_RELATIVE`` is a fraction (0.0738 = 7.38 %); ``VOLUME`` is in base
    units, so the 24h volume in the quote currency is VOLUME times LAST_PRICE.
    """
    _raise_api_error(answer)
    out = []
    now = utcnow()
    for row in as_list(answer, "tickers"):
        row = as_list(row, "ticker row")
        if not row or not isinstance(row[0], str):
            raise UpstreamParseError(f"ticker row does not start with a symbol: {row[:1]!r}")
        symbol = pairs.get(row[0])
        if symbol is None:
            continue  # a funding ("f...") row or a pair not asked for
        if len(row) < _TRADING_ROW:
            raise UpstreamParseError(f"{row[0]} row has {len(row)} fields, expected 11")
        last = req_num(row[7], f"{row[0]}.LAST_PRICE")
        volume = num(row[8])
        relative = num(row[6])
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(row[0]),
                price_usd=last,
                volume_24h=volume * last if volume is not None else None,
                price_change_24h=relative * 100.0 if relative is not None else None,
                timestamp=now,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    answer = await api.get_json("/v2/tickers", {"symbols": ",".join(pairs)})
    return parse_tickers(answer, pairs)


PROVIDER = Provider(SPEC, collect)
