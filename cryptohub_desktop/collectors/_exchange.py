"""Helpers the exchange ticker collectors share (binance, kraken, coinbase, bitfinex ...).

- :func:`quote_of` reads the quote currency out of an exchange pair ("BTC-USDT",
  "BTCUSDT", "tDOGE:USD", "btcusd"), so a price is stored with the currency it was
  really quoted in, whatever the symbol map says.
- :func:`pct_change` turns a last price and an opening price into a percent change.
- :func:`per_symbol` runs one request per watched symbol for APIs without a batch
  endpoint; a pair the exchange does not list (HTTP 400/404) is skipped and remembered
  as unlisted, but when *every* pair fails that way the error is raised, because then
  the API (or its base_url) is wrong, not the pairs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from cryptohub_desktop.core.errors import UpstreamHTTPError
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context

#: Quote currencies recognised at the end of a pair without separator, longest first.
QUOTES = ("FDUSD", "USDT", "USDC", "DAI", "USD", "EUR", "GBP", "JPY", "TRY", "BTC", "ETH", "UST")
#: Exchange spellings of a quote currency -> the usual name (Bitfinex calls USDT "UST").
QUOTE_ALIASES = {"UST": "USDT", "ZUSD": "USD", "ZEUR": "EUR"}
#: Statuses with which an exchange says "no such pair".
NOT_LISTED = (400, 404)


def quote_of(pair: str, default: str = "USD") -> str:
    """The quote currency of an exchange pair, upper case; ``default`` when unknown."""
    text = pair.upper()
    for sep in ("-", ":", "/", "_"):
        if sep in text:
            quote = text.rsplit(sep, 1)[1]
            return QUOTE_ALIASES.get(quote, quote)
    for quote in QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            return QUOTE_ALIASES.get(quote, quote)
    return default


def pct_change(last: float | None, open_: float | None) -> float | None:
    """Percent change from ``open_`` to ``last``; None when either is missing or open is 0."""
    if last is None or not open_:
        return None
    return (last - open_) / open_ * 100.0


def pairs_for(symbols: Sequence[str], symbol_map: SymbolMap, provider_id: str) -> dict[str, str]:
    """Provider pair -> plain symbol for the given symbols the provider lists."""
    out: dict[str, str] = {}
    for symbol in symbols:
        pair = symbol_map.get(provider_id, symbol)
        if pair:
            out.setdefault(pair, symbol.upper())
    return out


def watched_pairs(ctx: Context, provider_id: str) -> dict[str, str]:
    """Provider pair -> plain symbol for the watchlist symbols the provider lists."""
    return pairs_for(ctx.symbols, ctx.symbol_map, provider_id)


#: Candle length in minutes -> interval name ("1m", "1h", "1d").
_INTERVAL_NAMES = {1: "1m", 3: "3m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 120: "2h",
                   240: "4h", 360: "6h", 720: "12h", 1440: "1d", 10080: "1w"}


def interval_name(minutes: int) -> str:
    """A candle length in minutes as the interval name the store uses (1 -> "1m")."""
    return _INTERVAL_NAMES.get(minutes, f"{minutes}m")


async def per_symbol(
    ctx: Context, provider_id: str, fetch: Callable[[str, str], Awaitable[Price | None]]
) -> list[Price]:
    """Call ``fetch(symbol, pair)`` for every watched pair, skipping unlisted pairs.

    Raises:
        UpstreamHTTPError: when every pair was answered with 400/404 (a wrong
            base_url or a changed API, not a few unlisted coins).
    """
    out: list[Price] = []
    unlisted: list[str] = []
    last_error: UpstreamHTTPError | None = None
    for pair, symbol in watched_pairs(ctx, provider_id).items():
        try:
            price = await fetch(symbol, pair)
        except UpstreamHTTPError as exc:
            if exc.status not in NOT_LISTED:
                raise
            unlisted.append(symbol)
            last_error = exc
            continue
        if price is not None:
            out.append(price)
    if last_error is not None and not out:
        raise last_error
    for symbol in unlisted:
        ctx.symbol_map.learn(provider_id, symbol, None)
    return out
