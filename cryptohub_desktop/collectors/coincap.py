"""CoinCap API 3.0: assets (GET https://rest.coincap.io/v3/assets?ids=bitcoin,ethereum).

Docs: https://pro.coincap.io/api-docs (the keyless v2 API at api.coincap.io was retired
on 2025-03-31). Key ``COINCAP_KEY`` as ``Authorization: Bearer <key>`` (an ``apiKey``
query parameter is accepted too). Plans meter API credits per month, so the default
interval is 5 minutes and the watchlist is one call; 500 calls per minute is the
documented keyed limit of the CoinCap API (no per-minute figure is published for 3.0). Answer:
``{"data": [asset, ...], "timestamp": <ms>}`` with every number a STRING
(``priceUsd``, ``marketCapUsd``, ``volumeUsd24Hr``, ``changePercent24Hr``). An
``{"error": ...}`` body is an API error.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="coincap",
    name="CoinCap",
    category="market_data",
    base_url="https://rest.coincap.io/v3",
    docs_url="https://pro.coincap.io/api-docs",
    gives="spot prices, market cap, 24h volume and change (USD)",
    auth=Auth(
        kind="header",
        param="Authorization",
        prefix="Bearer ",
        key_names=("COINCAP_KEY",),
        key_url="https://pro.coincap.io/dashboard",
    ),
    rate_limits=(RateLimit(500, 60),),
    interval="every_5_min",
    tier=3,
)


def parse_assets(answer: Any, ids: dict[str, str]) -> list[Price]:
    """``/assets?ids=...``: one USD price per watched asset.

    Args:
        ids: CoinCap asset id (``bitcoin``) -> plain watchlist symbol.
    """
    doc = as_dict(answer)
    if doc.get("error"):
        message = f"CoinCap: {doc['error']}"
        if "limit" in str(doc["error"]).lower():
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    stamp = num(doc.get("timestamp"))
    ts = from_ms(stamp) if stamp else utcnow()
    out = []
    for item in as_list(field(doc, "data"), "data"):
        a = as_dict(item, "asset")
        symbol = ids.get(a.get("id"))  # type: ignore[arg-type]
        if symbol is None:
            continue
        out.append(
            Price(
                symbol=symbol,
                quote="USD",
                price_usd=req_num(a.get("priceUsd"), f"{a.get('id')}.priceUsd"),
                market_cap=num(a.get("marketCapUsd")),
                volume_24h=num(a.get("volumeUsd24Hr")),
                price_change_24h=num(a.get("changePercent24Hr")),
                timestamp=ts,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    ids = {cid: s.upper() for s in ctx.symbols if (cid := ctx.symbol_map.get(SPEC.id, s))}
    if not ids:
        return []
    answer = await api.get_json("/assets", {"ids": ",".join(ids)})
    return parse_assets(answer, ids)


PROVIDER = Provider(SPEC, collect)
