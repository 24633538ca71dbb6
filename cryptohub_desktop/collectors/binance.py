"""Binance spot market data: 24h tickers and klines (keyless public API).

Endpoints (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints):

- ``GET /api/v3/ticker/24hr?symbols=["BTCUSDT",...]``: the whole watchlist in one call
  (request weight 2 per symbol up to 20 symbols, 40 for 21-100).
- ``GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=1000``: up to 1000
  candles per call (weight 2), paged forward with ``startTime``.

Limit: 6000 request weight per minute per IP. We declare 300 calls per minute, which
stays under the weight budget even with 20 watched symbols per ticker call.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cryptohub_desktop.collectors._exchange import (
    per_symbol,
    quote_of,
    watched_pairs,
)
from cryptohub_desktop.collectors._parse import as_dict, as_list, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, HistoryQuery, Upstream

SPEC = ProviderSpec(
    id="binance",
    name="Binance",
    category="market_data",
    base_url="https://api.binance.com",
    docs_url="https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints",
    gives="spot last price, 24h quote volume and change (USDT pairs); 1m/1h/1d klines",
    rate_limits=(RateLimit(300, 60),),
    tier=1,
)

#: Kline interval -> its length in milliseconds.
INTERVALS = {"1m": 60_000, "1h": 3_600_000, "1d": 86_400_000}
#: Candles per klines call (the documented maximum).
PAGE_LIMIT = 1000


def parse_ticker(row: Any, symbol: str) -> Price:
    """One ``/api/v3/ticker/24hr`` object (all numbers are strings) as a price.

    ``quoteVolume`` is the 24h volume in the quote currency; ``priceChangePercent``
    is already a percent; ``closeTime`` (ms) ends the 24h window.
    """
    row = as_dict(row, "24hr ticker")
    pair = row.get("symbol")
    if not isinstance(pair, str):
        raise UpstreamParseError("24hr ticker has no symbol")
    close_time = row.get("closeTime")
    return Price(
        symbol=symbol,
        quote=quote_of(pair, "USDT"),
        price_usd=req_num(row.get("lastPrice"), f"{pair}.lastPrice"),
        volume_24h=num(row.get("quoteVolume")),
        price_change_24h=num(row.get("priceChangePercent")),
        timestamp=from_ms(req_num(close_time, "closeTime")) if close_time is not None else utcnow(),
    )


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """The ``symbols=[...]`` answer (an array of ticker objects); ``pairs``: pair -> symbol."""
    out = []
    for row in as_list(answer, "24hr tickers"):
        symbol = pairs.get(as_dict(row, "24hr ticker").get("symbol"))
        if symbol:
            out.append(parse_ticker(row, symbol))
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    try:
        answer = await api.get_json(
            "/api/v3/ticker/24hr", {"symbols": json.dumps(list(pairs), separators=(",", ":"))}
        )
    except UpstreamHTTPError as exc:
        if exc.status != 400:
            raise
        # One unlisted pair (-1121 "Invalid symbol.") fails the whole batch: ask one by
        # one, so the unlisted pair is found and skipped from now on.

        async def one(symbol: str, pair: str) -> Price:
            return parse_ticker(await api.get_json("/api/v3/ticker/24hr", {"symbol": pair}), symbol)

        return await per_symbol(ctx, SPEC.id, one)
    return parse_tickers(answer, pairs)


def parse_klines(answer: Any, symbol: str, interval: str, quote: str) -> list[Candle]:
    """``/api/v3/klines`` rows ``[openTime, open, high, low, close, volume, closeTime, ...]``.

    The volume is the base-asset volume (field 5), like every other candle source.
    """
    out = []
    for row in as_list(answer, "klines"):
        row = as_list(row, "kline")
        if len(row) < 6:
            raise UpstreamParseError(f"kline has {len(row)} fields, expected 12")
        out.append(
            Candle(
                symbol=symbol,
                interval=interval,
                open_time=from_ms(req_num(row[0], "openTime")),
                open=req_num(row[1], "open"),
                high=req_num(row[2], "high"),
                low=req_num(row[3], "low"),
                close=req_num(row[4], "close"),
                volume=req_num(row[5], "volume"),
                quote=quote,
            )
        )
    return out


def _ms(dt: datetime) -> int:
    return int(round(dt.timestamp() * 1000))


async def history(api: Upstream, q: HistoryQuery) -> list[Candle]:
    """Candles with ``q.start <= open_time < q.end``, paging forward 1000 at a time."""
    pair = q.symbol_map.get(SPEC.id, q.symbol)
    if not pair or q.interval not in INTERVALS:
        return []
    step, quote = INTERVALS[q.interval], quote_of(pair, "USDT")
    cursor, end_ms = _ms(q.start), _ms(q.end)
    found: dict[int, Candle] = {}
    while cursor < end_ms:
        answer = await api.get_json(
            "/api/v3/klines",
            {
                "symbol": pair,
                "interval": q.interval,
                "startTime": cursor,
                "endTime": end_ms - 1,
                "limit": PAGE_LIMIT,
            },
        )
        page = parse_klines(answer, q.symbol.upper(), q.interval, quote)
        fresh = [c for c in page if _ms(c.open_time) >= cursor]
        for c in fresh:
            if q.start <= c.open_time < q.end:
                found[_ms(c.open_time)] = c
        if len(page) < PAGE_LIMIT or not fresh:
            break
        cursor = max(_ms(c.open_time) for c in fresh) + step
    return [found[k] for k in sorted(found)]


PROVIDER = Provider(SPEC, collect, history, history_intervals=tuple(INTERVALS))
