"""Kraken spot market data: Ticker and OHLC (keyless public REST API).

Endpoints (https://docs.kraken.com/api/docs/rest-api/get-ticker-information):

- ``GET /0/public/Ticker?pair=XBTUSD,ETHUSD,...``: the whole watchlist in one call.
  The answer is keyed by Kraken's own pair ids (``XXBTZUSD``, ``XETHZUSD``,
  ``SOLUSD``), which are mapped back to the requested names here.
- ``GET /0/public/OHLC?pair=XBTUSD&interval=60&since=...``: up to 720 candles; only
  the 720 most recent candles of an interval are ever served, ``last`` is the cursor
  for the next call (https://docs.kraken.com/api/docs/rest-api/get-ohlc-data).

Errors come inside a 200 answer as ``{"error": ["EQuery:Unknown asset pair"]}``.
Limit: public calls are limited per IP to about one per second.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._exchange import (
    pct_change,
    per_symbol,
    quote_of,
    watched_pairs,
)
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.time import from_unix, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, HistoryQuery, Upstream

SPEC = ProviderSpec(
    id="kraken",
    name="Kraken",
    category="market_data",
    base_url="https://api.kraken.com",
    docs_url="https://docs.kraken.com/api/docs/rest-api/get-ticker-information",
    gives="spot last price, 24h volume and change since the UTC day open; 1m/1h/1d OHLC",
    rate_limits=(RateLimit(1, 1),),
    tier=1,
)

#: Candle interval -> Kraken's ``interval`` in minutes.
INTERVALS = {"1m": 1, "1h": 60, "1d": 1440}
_FIATS = ("USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD")


def check(answer: Any) -> dict[str, Any]:
    """The ``result`` of a Kraken answer, or the error it carries raised as UpstreamError."""
    data = as_dict(answer)
    errors = [
        e
        for e in as_list(data.get("error") or [], "error")
        if isinstance(e, str) and e.startswith("E")
    ]  # "W..." entries are warnings
    if errors:
        text = "; ".join(errors)
        if "Rate limit" in text or "Too many requests" in text:
            raise UpstreamRateLimited(f"Kraken: {text}")
        status = 503 if text.startswith("EService") else 400
        raise UpstreamHTTPError(f"Kraken: {text}", status=status)
    return as_dict(field(data, "result"), "result")


def answer_keys(pair: str) -> list[str]:
    """Keys under which Kraken may answer for a requested pair name.

    ``XBTUSD`` is answered as ``XXBTZUSD`` (legacy X/Z-prefixed assets), ``SOLUSD``
    as ``SOLUSD``, ``USDTUSD`` as ``USDTZUSD``; an id given as the pair is kept.
    """
    keys = [pair]
    for fiat in _FIATS:
        if pair.endswith(fiat) and len(pair) > len(fiat):
            base = pair[: -len(fiat)]
            keys += [f"X{base}Z{fiat}", f"{base}Z{fiat}"]
    return keys


def _row_for(result: dict[str, Any], pair: str) -> Any:
    return next((result[k] for k in answer_keys(pair) if k in result), None)


def parse_ticker(result: dict[str, Any], pairs: dict[str, str]) -> list[Price]:
    """Ticker rows (all numbers strings) as prices; ``pairs``: requested pair -> symbol.

    ``c[0]`` is the last trade price, ``v[1]`` and ``p[1]`` the 24h base volume and
    24h VWAP (their product is the 24h volume in the quote currency). Kraken gives
    no 24h open, only ``o``, the open of the current UTC day: the change is taken
    from it and so covers the time since 00:00 UTC.
    """
    out = []
    now = utcnow()
    for pair, symbol in pairs.items():
        row = _row_for(result, pair)
        if row is None:
            continue
        row = as_dict(row, pair)
        last = req_num(as_list(field(row, "c", pair), f"{pair}.c")[0], f"{pair}.c[0]")
        volume = vwap = None
        if row.get("v") is not None:
            volume = num(as_list(row["v"], f"{pair}.v")[1])
        if row.get("p") is not None:
            vwap = num(as_list(row["p"], f"{pair}.p")[1])
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(pair),
                price_usd=last,
                volume_24h=volume * (vwap or last) if volume is not None else None,
                price_change_24h=pct_change(last, num(row.get("o"))),
                timestamp=now,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    try:
        result = check(await api.get_json("/0/public/Ticker", {"pair": ",".join(pairs)}))
    except UpstreamHTTPError as exc:
        if exc.status != 400 or len(pairs) == 1:
            raise
        # One unknown pair fails the whole call: ask pair by pair, so the unknown one
        # is found and skipped from now on.

        async def one(symbol: str, pair: str) -> Price | None:
            answer = check(await api.get_json("/0/public/Ticker", {"pair": pair}))
            found = parse_ticker(answer, {pair: symbol})
            return found[0] if found else None

        return await per_symbol(ctx, SPEC.id, one)
    return parse_ticker(result, pairs)


def parse_ohlc(result: dict[str, Any], pair: str, symbol: str, interval: str) -> list[Candle]:
    """OHLC rows ``[time, open, high, low, close, vwap, volume, count]`` (time in seconds)."""
    rows = _row_for(result, pair)
    if rows is None:
        keys = [k for k in result if k != "last"]
        if len(keys) != 1:
            raise UpstreamParseError(f"OHLC answer has no rows for {pair}")
        rows = result[keys[0]]
    out = []
    for row in as_list(rows, "OHLC rows"):
        row = as_list(row, "OHLC row")
        if len(row) < 7:
            raise UpstreamParseError(f"OHLC row has {len(row)} fields, expected 8")
        out.append(
            Candle(
                symbol=symbol,
                interval=interval,
                open_time=from_unix(req_num(row[0], "time")),
                open=req_num(row[1], "open"),
                high=req_num(row[2], "high"),
                low=req_num(row[3], "low"),
                close=req_num(row[4], "close"),
                volume=req_num(row[6], "volume"),
                quote=quote_of(pair),
            )
        )
    return out


async def history(api: Upstream, q: HistoryQuery) -> list[Candle]:
    """Candles with ``q.start <= open_time < q.end``, following the ``last`` cursor.

    Kraken serves only the 720 most recent candles of an interval, so a start older
    than that yields the newest 720.
    """
    pair = q.symbol_map.get(SPEC.id, q.symbol)
    if not pair or q.interval not in INTERVALS:
        return []
    minutes = INTERVALS[q.interval]
    since = int(q.start.timestamp()) - 1
    end = int(q.end.timestamp())
    found: dict[float, Candle] = {}
    while True:
        result = check(
            await api.get_json(
                "/0/public/OHLC", {"pair": pair, "interval": minutes, "since": since}
            )
        )
        candles = parse_ohlc(result, pair, q.symbol.upper(), q.interval)
        for c in candles:
            if q.start <= c.open_time < q.end:
                found[c.open_time.timestamp()] = c
        last = int(req_num(result.get("last"), "last"))
        newest = max((c.open_time.timestamp() for c in candles), default=0)
        if not candles or last <= since or newest + minutes * 60 >= end:
            break
        since = last
    return [found[k] for k in sorted(found)]


PROVIDER = Provider(SPEC, collect, history, history_intervals=tuple(INTERVALS))
