"""Binance spot market data: 24h tickers and klines (keyless public API).

Endpoints (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints):

- ``GET /api/v3/ticker/24hr?symbols=["BTCUSDT",...]``: the whole watchlist in one call
  (request weight 2 per symbol up to 20 symbols, 40 for 21-100).
- ``GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=1000``: up to 1000
  candles per call (weight 2), paged forward with ``startTime``.

Limit: 6000 request weight per minute per IP. We declare 300 calls per minute, which
stays under the weight budget even with 20 watched symbols per ticker call.

Live stream (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
combined streams on ``wss://stream.binance.com:9443/stream``, one ``SUBSCRIBE`` message
for ``<pair>@ticker`` (24h rolling ticker, every 1000 ms) and ``<pair>@kline_1m`` (the
open candle, every 2000 ms, re-sent until ``x`` says it closed) of every watched pair.
Events come wrapped as ``{"stream": ..., "data": <payload>}`` (a raw ``/ws`` URL sends
the bare payload; both are read). The answer to SUBSCRIBE is ``{"result": null, "id": 1}``;
a refused request is ``{"code": N, "msg": "..."}``; a ``serverShutdown`` event announces
a disconnection (the door reconnects at once). The server pings every 20 s and the
client answers with pongs (the websockets library does); our own keep-alive is protocol
pings. Limits: 5 incoming messages per second, 1024 streams and 24 hours per connection,
300 connection attempts per 5 minutes per IP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from cryptohub_desktop.collectors._exchange import (
    pairs_for,
    per_symbol,
    quote_of,
    watched_pairs,
)
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.stream import (
    PROTOCOL_PING,
    Frame,
    StreamAdapter,
    StreamPlan,
    load_json,
)
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


# -- live stream ---------------------------------------------------------------------

#: The documented public endpoint for combined streams.
WS_URL = "wss://stream.binance.com:9443/stream"


def stream_pairs(symbols: Sequence[str], symbol_map: SymbolMap) -> dict[str, str]:
    """Binance pair (BTCUSDT) -> plain symbol, from the symbol map."""
    return pairs_for(symbols, symbol_map, SPEC.id)


def stream_subscribe(pairs: Iterable[str]) -> list[str]:
    """One SUBSCRIBE for the 24h ticker and the 1-minute kline of every pair (lower case)."""
    params = [f"{pair.lower()}@{name}" for pair in pairs for name in ("ticker", "kline_1m")]
    return [json.dumps({"method": "SUBSCRIBE", "params": params, "id": 1})]


def parse_stream_ticker(data: dict[str, Any], symbol: str, received: datetime) -> Price:
    """A ``24hrTicker`` event: ``c`` last price, ``q`` 24h quote volume, ``P`` change %."""
    pair = str(data.get("s"))
    return Price(
        symbol=symbol,
        quote=quote_of(pair, "USDT"),
        price_usd=req_num(data.get("c"), f"{pair}.c"),
        volume_24h=num(data.get("q")),
        price_change_24h=num(data.get("P")),
        timestamp=received,
    )


def parse_stream_kline(data: dict[str, Any], symbol: str) -> Candle:
    """A ``kline`` event: the candle ``k`` opened at ``t`` (ms); ``v`` is the base volume.

    An open candle is re-sent every 2 s with its values so far (``x`` false); the store
    upserts it by open time, so the last one sent wins.
    """
    pair = str(data.get("s"))
    k = as_dict(field(data, "k", "kline event"), "kline")
    interval = k.get("i", "1m")
    if not isinstance(interval, str):
        raise UpstreamParseError(f"{pair}.k.i is not an interval: {interval!r}")
    return Candle(
        symbol=symbol,
        interval=interval,
        open_time=from_ms(req_num(k.get("t"), f"{pair}.k.t")),
        open=req_num(k.get("o"), f"{pair}.k.o"),
        high=req_num(k.get("h"), f"{pair}.k.h"),
        low=req_num(k.get("l"), f"{pair}.k.l"),
        close=req_num(k.get("c"), f"{pair}.k.c"),
        volume=req_num(k.get("v"), f"{pair}.k.v"),
        quote=quote_of(pair, "USDT"),
    )


def parse_stream_frame(text: str, received: datetime, pairs: Mapping[str, str]) -> Frame:
    """One frame of the combined (or raw) stream; ``pairs``: BTCUSDT -> BTC.

    Binance accepts a stream of an unknown symbol silently (no data ever comes; the
    watchdog sees it); its refusals are about the request itself and name no pair.

    Raises:
        UpstreamParseError: not JSON, or not a shape Binance documents.
    """
    message = as_dict(load_json(text), "frame")
    if "id" in message and "result" in message:
        return Frame("ack") if message["result"] is None else Frame("info")
    error = message.get("error") if isinstance(message.get("error"), dict) else message
    if "code" in error and "msg" in error:
        return Frame("rejected", message=f"Binance code {error['code']}: {error['msg']}")
    data = as_dict(field(message, "data", "combined event"), "data") if "stream" in message \
        else message
    event = field(data, "e", "event")
    if event == "serverShutdown":
        return Frame("reconnect", message="serverShutdown")
    if event not in ("24hrTicker", "kline"):
        return Frame("info", message=str(event))
    symbol = pairs.get(str(field(data, "s", str(event))).upper())
    if symbol is None:
        return Frame("data")
    if event == "24hrTicker":
        return Frame("data", (parse_stream_ticker(data, symbol, received),))
    return Frame("data", (parse_stream_kline(data, symbol),))


def stream_plans(pairs: Mapping[str, str], url: str, business_url: str | None) -> list[StreamPlan]:
    """One connection carries every watched pair (up to the 1024 streams allowed)."""
    return [StreamPlan(SPEC.id, url, tuple(pairs), stream_subscribe,
                       partial(parse_stream_frame, pairs=dict(pairs)), PROTOCOL_PING)]


STREAM = StreamAdapter(url=WS_URL, gives="24h tickers and 1-minute candles",
                       pairs=stream_pairs, build=stream_plans)

PROVIDER = Provider(SPEC, collect, history, history_intervals=tuple(INTERVALS), stream=STREAM)
