"""CoinLore public API: tickers (GET /api/tickers/?start=0&limit=100).

Docs: https://www.coinlore.com/cryptocurrency-data-api
No key, no registration; the docs ask for about one request per second. Coins come
ranked by market cap, at most 100 per page. Numbers are STRINGS (``price_usd``,
``market_cap_usd``, ``percent_change_24h``) except ``volume24``; the one timestamp is
``info.time`` for the whole list. Watchlist symbols are matched against the listing's
``symbol`` (the best ranked coin wins); further pages are read only while symbols are
still missing, up to ``MAX_PAGES``.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_unix, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="coinlore",
    name="CoinLore",
    category="market_data",
    base_url="https://api.coinlore.net",
    docs_url="https://www.coinlore.com/cryptocurrency-data-api",
    gives="spot prices, market cap, 24h volume and change (USD), top coins by market cap",
    rate_limits=(RateLimit(1, 1),),
    tier=2,
)

PAGE = 100
MAX_PAGES = 3


def parse_tickers(answer: Any, wanted: set[str]) -> tuple[list[Price], int]:
    """``/api/tickers/``: prices for the wanted symbols, and how many items the page had."""
    data = as_dict(answer)
    items = as_list(field(data, "data"), "data")
    info = data.get("info")
    stamp = num(as_dict(info, "info").get("time")) if info is not None else None
    ts = from_unix(stamp) if stamp else utcnow()
    out: dict[str, Price] = {}
    for item in items:
        t = as_dict(item, "ticker")
        symbol = t.get("symbol")
        if not isinstance(symbol, str):
            continue
        symbol = symbol.upper()
        if symbol not in wanted or symbol in out:  # ranked list: first hit is the best rank
            continue
        out[symbol] = Price(
            symbol=symbol,
            quote="USD",
            price_usd=req_num(t.get("price_usd"), f"{symbol}.price_usd"),
            market_cap=num(t.get("market_cap_usd")),
            volume_24h=num(t.get("volume24")),
            price_change_24h=num(t.get("percent_change_24h")),
            timestamp=ts,
        )
    return list(out.values()), len(items)


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    wanted = {s.upper() for s in ctx.symbols}
    found: list[Price] = []
    for page in range(MAX_PAGES):
        answer = await api.get_json(
            "/api/tickers/", {"start": str(page * PAGE), "limit": str(PAGE)}
        )
        prices, count = parse_tickers(answer, wanted)
        found.extend(prices)
        wanted -= {p.symbol for p in prices}
        if not wanted or count < PAGE:
            break
    return found


PROVIDER = Provider(SPEC, collect)
