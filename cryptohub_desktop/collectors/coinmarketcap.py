"""CoinMarketCap Pro API: latest quotes (GET /v2/cryptocurrency/quotes/latest).

Docs: https://coinmarketcap.com/api/documentation/v1/#operation/getV2CryptocurrencyQuotesLatest
Key in the ``X-CMC_PRO_API_KEY`` header (``COINMARKETCAP_KEY_1``, backup ``COINMARKETCAP_KEY_2``).
Basic (free) plan: 30 calls per minute, 10,000 call credits per month; one call for
the whole watchlist costs one credit, so the default interval is 5 minutes.

Every answer carries a ``status`` envelope; ``error_code`` other than 0 is an error
(1008-1011 are the minute / daily / monthly / IP rate limits). Queried by ``symbol``,
v2 answers ``data`` keyed by symbol with a LIST of coins per symbol (several coins
can share a ticker); v1 and id/slug queries give one object per key, keyed by the
CoinMarketCap id ("1" for Bitcoin), so those are matched by each coin's ``symbol``
field. All are read.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="coinmarketcap",
    name="CoinMarketCap",
    category="market_data",
    base_url="https://pro-api.coinmarketcap.com",
    docs_url="https://coinmarketcap.com/api/documentation/v1/",
    gives="spot prices, market cap, 24h volume and change (USD)",
    auth=Auth(
        kind="header",
        param="X-CMC_PRO_API_KEY",
        key_names=("COINMARKETCAP_KEY_1", "COINMARKETCAP_KEY_2"),
        key_url="https://pro.coinmarketcap.com/signup",
    ),
    rate_limits=(RateLimit(30, 60), RateLimit(10_000, 30 * 86400)),
    interval="every_5_min",
    tier=1,
)

#: status.error_code values that mean "rate limited" (minute, day, month, IP).
RATE_LIMIT_CODES = {1008, 1009, 1010, 1011}


def check_status(answer: Any) -> dict[str, Any]:
    """The answer as a dict, or the documented ``status`` error raised."""
    data = as_dict(answer)
    status = as_dict(field(data, "status"), "status")
    code = status.get("error_code", 0)
    try:
        code = int(code or 0)
    except (TypeError, ValueError) as exc:
        raise UpstreamParseError(f"status.error_code is not a number: {code!r}") from exc
    if code:
        message = f"CoinMarketCap error {code}: {status.get('error_message') or 'no message'}"
        if code in RATE_LIMIT_CODES:
            raise UpstreamRateLimited(message, retry_after=60.0 if code == 1008 else None)
        raise UpstreamHTTPError(message, status=400)
    return data


def _pick(entry: Any, symbol: str) -> dict[str, Any]:
    """One coin for a symbol: v2 gives a list (take the best ranked), v1 one object."""
    if isinstance(entry, list):
        coins = [as_dict(c, f"data.{symbol}[]") for c in entry]
        if not coins:
            raise UpstreamParseError(f"data.{symbol} is an empty list")
        ranked = [c for c in coins if isinstance(c.get("cmc_rank"), int)]
        return min(ranked, key=lambda c: c["cmc_rank"]) if ranked else coins[0]
    return as_dict(entry, f"data.{symbol}")


def _by_symbol(data: dict[str, Any], wanted: dict[str, str]) -> dict[str, Any]:
    """``data`` keyed by symbol: as it is when keyed by symbol (v2 symbol queries), else
    each entry (one coin, or a list of coins) filed under its coins' ``symbol`` field
    (v1 answers and id queries are keyed by CoinMarketCap id)."""
    out: dict[str, Any] = {k: v for k, v in data.items() if k in wanted}
    for key, entry in data.items():
        if key in wanted:
            continue
        coins = entry if isinstance(entry, list) else [entry]
        for coin in coins:
            sym = coin.get("symbol") if isinstance(coin, dict) else None
            if isinstance(sym, str) and sym.upper() in wanted and sym.upper() not in out:
                out[sym.upper()] = coin
    return out


def parse_quotes(answer: Any, symbols: dict[str, str], quote: str = "USD") -> list[Price]:
    """``/v2/cryptocurrency/quotes/latest?symbol=...&convert=USD``.

    Args:
        symbols: CoinMarketCap symbol -> plain watchlist symbol.
    """
    data = as_dict(field(check_status(answer), "data"), "data")
    by_symbol = _by_symbol(data, symbols)
    now = utcnow()
    out = []
    for cmc_symbol, symbol in symbols.items():
        entry = by_symbol.get(cmc_symbol)
        if entry is None or entry == []:
            continue
        coin = _pick(entry, cmc_symbol)
        quotes = as_dict(field(coin, "quote", cmc_symbol), f"{cmc_symbol}.quote")
        q = as_dict(field(quotes, quote, f"{cmc_symbol}.quote"), f"{cmc_symbol}.quote.{quote}")
        updated = q.get("last_updated") or coin.get("last_updated")
        try:
            ts = parse_iso(updated) if isinstance(updated, str) else now
        except ValueError as exc:
            raise UpstreamParseError(f"{cmc_symbol}: bad last_updated {updated!r}") from exc
        out.append(
            Price(
                symbol=symbol,
                quote=quote,
                price_usd=req_num(q.get("price"), f"{cmc_symbol}.quote.{quote}.price"),
                market_cap=num(q.get("market_cap")),
                volume_24h=num(q.get("volume_24h")),
                price_change_24h=num(q.get("percent_change_24h")),
                timestamp=ts,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    symbols = ctx.symbol_map.reverse(SPEC.id, list(ctx.symbols))
    if not symbols:
        return []
    answer = await api.get_json(
        "/v2/cryptocurrency/quotes/latest",
        {"symbol": ",".join(symbols), "convert": "USD", "skip_invalid": "true"},
    )
    return parse_quotes(answer, symbols)


PROVIDER = Provider(SPEC, collect)
