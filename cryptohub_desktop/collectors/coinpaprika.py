"""CoinPaprika API v1: tickers (GET /v1/tickers/{coin_id} or GET /v1/tickers for all).

Docs: https://docs.coinpaprika.com/api-reference/rest-api/tickers/get-ticker-for-a-specific-coin
Each ticker: ``id``, ``symbol``, ``last_updated`` (ISO) and ``quotes.USD`` with
``price``, ``market_cap``, ``volume_24h``, ``percent_change_24h``.
Free plan, no key: 20,000 calls per month (shared per IP, 10 calls per second).
A single watched coin is read with ``/v1/tickers/{id}``; a longer watchlist with one
call to the full ``/v1/tickers`` listing (one call either way; interval 5 minutes).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="coinpaprika",
    name="CoinPaprika",
    category="market_data",
    base_url="https://api.coinpaprika.com",
    docs_url="https://docs.coinpaprika.com/api-reference/rest-api/introduction",
    gives="spot prices, market cap, 24h volume and change (USD)",
    rate_limits=(RateLimit(10, 1), RateLimit(20_000, 30 * 86400)),
    interval="every_5_min",
    tier=2,
)

QUOTE = "USD"
PER_COIN_MAX = 1


def parse_ticker(ticker: Any, symbol: str, quote: str = QUOTE) -> Price:
    """One ticker object (``/v1/tickers/{id}`` or an item of ``/v1/tickers``)."""
    t = as_dict(ticker, "ticker")
    if "error" in t:
        raise UpstreamHTTPError(f"CoinPaprika: {t['error']}", status=400)
    q = as_dict(
        field(as_dict(field(t, "quotes", "ticker"), "quotes"), quote, "quotes"), f"quotes.{quote}"
    )
    updated = t.get("last_updated")
    try:
        ts = parse_iso(updated) if isinstance(updated, str) and updated else utcnow()
    except ValueError as exc:
        raise UpstreamParseError(f"bad last_updated {updated!r}") from exc
    return Price(
        symbol=symbol,
        quote=quote,
        price_usd=req_num(q.get("price"), f"{t.get('id')}.quotes.{quote}.price"),
        market_cap=num(q.get("market_cap")),
        volume_24h=num(q.get("volume_24h")),
        price_change_24h=num(q.get("percent_change_24h")),
        timestamp=ts,
    )


def parse_tickers(answer: Any, ids: dict[str, str]) -> list[Price]:
    """``/v1/tickers``: the full listing, filtered to the watched coin ids.

    Args:
        ids: CoinPaprika id (``btc-bitcoin``) -> plain symbol.
    """
    out = []
    for item in as_list(answer, "tickers"):
        item = as_dict(item, "ticker")
        symbol = ids.get(item.get("id"))  # type: ignore[arg-type]
        if symbol:
            out.append(parse_ticker(item, symbol))
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    ids = {cid: s.upper() for s in ctx.symbols if (cid := ctx.symbol_map.get(SPEC.id, s))}
    if not ids:
        return []
    if len(ids) <= PER_COIN_MAX:
        out = []
        for coin_id, symbol in ids.items():
            out.append(
                parse_ticker(
                    await api.get_json(f"/v1/tickers/{coin_id}", {"quotes": QUOTE}), symbol
                )
            )
        return out
    return parse_tickers(await api.get_json("/v1/tickers", {"quotes": QUOTE}), ids)


PROVIDER = Provider(SPEC, collect)
