"""Messari Metrics API v2: asset details (GET /metrics/v2/assets/details?slugs=...).

Docs: https://docs.messari.io/api-reference/endpoints/metrics/v2/assets/get-v2-assets-details
(the legacy ``data.messari.io/api/v1/assets/{key}/metrics`` API is retired).
Key in the ``X-Messari-API-Key`` header (``MESSARI_KEY``). Global limit for unpaid,
Lite and Pro keys: 200 requests per minute (https://docs.messari.io/reference/rate-limits).
Up to 20 assets per call. Answer: ``{"error": null, "data": [asset, ...]}``; each
asset has ``slug``, ``symbol``, ``marketData`` (``priceUsd``, ``volume24Hour``,
``marketcap.circulatingUsd``, optional ``priceAt``) and ``returnOnInvestment.priceChange24h``.
A non-null ``error`` is an API error.

Assets are asked by Messari slug (``bitcoin``, ``binance-coin``, ``xrp``) from the
``messari`` entries of the symbol map; a symbol without one is skipped (v2 takes slugs,
not tickers, so there is no pattern to build one).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="messari",
    name="Messari",
    category="market_data",
    base_url="https://api.messari.io",
    docs_url="https://docs.messari.io/api-reference/endpoints/metrics/metrics-api",
    gives="spot prices, market cap, 24h volume and change (USD)",
    auth=Auth(
        kind="header",
        param="X-Messari-API-Key",
        key_names=("MESSARI_KEY",),
        key_url="https://messari.io/account/api",
    ),
    rate_limits=(RateLimit(200, 60),),
    interval="every_5_min",
    tier=3,
)

BATCH = 20


def slug_for(ctx: Context, symbol: str) -> str | None:
    return ctx.symbol_map.get(SPEC.id, symbol)


def parse_details(answer: Any, slugs: dict[str, str]) -> list[Price]:
    """``/metrics/v2/assets/details``: one USD price per requested asset found.

    Args:
        slugs: Messari slug -> plain watchlist symbol.
    """
    doc = as_dict(answer)
    error = doc.get("error")
    if error:
        message = f"Messari: {error}"
        if "rate limit" in str(error).lower():
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    by_symbol = {s: slug for slug, s in slugs.items()}
    now = utcnow()
    out: dict[str, Price] = {}
    for item in as_list(field(doc, "data"), "data"):
        a = as_dict(item, "asset")
        symbol = slugs.get(a.get("slug"))  # type: ignore[arg-type]
        if symbol is None and isinstance(a.get("symbol"), str):
            sym = a["symbol"].upper()
            symbol = sym if sym in by_symbol else None
        if symbol is None or symbol in out:
            continue
        md = field(a, "marketData", symbol)
        if md is None or as_dict(md, f"{symbol}.marketData").get("priceUsd") is None:
            continue  # listed without market data coverage: no price to store
        cap = md.get("marketcap")
        roi = a.get("returnOnInvestment")
        at = md.get("priceAt")
        try:
            ts = parse_iso(at) if isinstance(at, str) and at else now
        except ValueError as exc:
            raise UpstreamParseError(f"{symbol}: bad priceAt {at!r}") from exc
        out[symbol] = Price(
            symbol=symbol,
            quote="USD",
            price_usd=req_num(md.get("priceUsd"), f"{symbol}.marketData.priceUsd"),
            market_cap=num(as_dict(cap, "marketcap").get("circulatingUsd")) if cap else None,
            volume_24h=num(md.get("volume24Hour")),
            price_change_24h=num(as_dict(roi, "returnOnInvestment").get("priceChange24h"))
            if roi
            else None,
            timestamp=ts,
        )
    return list(out.values())


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    slugs = {slug: s.upper() for s in ctx.symbols if (slug := slug_for(ctx, s))}
    items = list(slugs.items())
    out: list[Price] = []
    for i in range(0, len(items), BATCH):
        chunk = dict(items[i : i + BATCH])
        answer = await api.get_json("/metrics/v2/assets/details", {"slugs": ",".join(chunk)})
        out.extend(parse_details(answer, chunk))
    return out


PROVIDER = Provider(SPEC, collect)
