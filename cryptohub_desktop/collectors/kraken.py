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

Live stream, WebSocket v2 (https://docs.kraken.com/api/docs/websocket-v2/ticker and
.../ohlc): ``wss://ws.kraken.com/v2``, where pairs are spelled with ISO codes and a
slash (``BTC/USD``, ``DOGE/USD``; the REST names ``XBTUSD``/``XDGUSD`` are refused there
with "Currency pair not supported"). Two subscribe requests: ``ticker`` and ``ohlc``
with ``interval: 1``. Each channel first sends ``type: snapshot``, then ``type: update``
messages of the same schema, on trade events; the running candle is re-sent with its
values so far. Every symbol is acknowledged on its own (``{"method": "subscribe",
"success": true|false, ...}``). Keep-alive: the application ping ``{"method": "ping"}``
answered by ``{"method": "pong", ...}``; the server also sends ``{"channel":
"heartbeat"}`` about once a second (not data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from cryptohub_desktop.collectors._exchange import (
    interval_name,
    pct_change,
    per_symbol,
    quote_of,
    watched_pairs,
)
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Candle, Price, Record
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import from_unix, parse_iso, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.stream import (
    Frame,
    PingRule,
    StreamAdapter,
    StreamPlan,
    load_json,
)
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


# -- live stream (WebSocket v2) ----------------------------------------------------------

#: The documented public endpoint of WebSocket v2.
WS_URL = "wss://ws.kraken.com/v2"
#: The application-level ping of v2.
WS_PING = PingRule(json.dumps({"method": "ping"}))


def stream_pairs(symbols: Sequence[str], symbol_map: SymbolMap) -> dict[str, str]:
    """v2 pair (``BTC/USD``) -> plain symbol for the symbols Kraken lists.

    The symbol map holds REST names (``XBTUSD``); v2 wants the plain symbol and the
    quote currency of that pair, so BTC becomes ``BTC/USD``, not ``XBT/USD``.
    """
    out: dict[str, str] = {}
    for symbol in symbols:
        pair = symbol_map.get(SPEC.id, symbol)
        if pair:
            out.setdefault(f"{symbol.upper()}/{quote_of(pair)}", symbol.upper())
    return out


def stream_subscribe(pairs: Iterable[str]) -> list[str]:
    """The ticker and the 1-minute ohlc subscriptions for every pair."""
    symbols = list(pairs)
    return [
        json.dumps({"method": "subscribe", "params": {"channel": "ticker", "symbol": symbols},
                    "req_id": 1}),
        json.dumps({"method": "subscribe", "params": {"channel": "ohlc", "symbol": symbols,
                                                      "interval": 1}, "req_id": 2}),
    ]


def parse_stream_ticker(row: Any, symbol: str, received: datetime) -> Price:
    """One ticker entry (numbers as JSON numbers; strings are read too).

    ``last`` is the last trade; ``volume`` the 24h base volume and ``vwap`` its 24h
    average price, so their product is the 24h volume in the quote currency;
    ``change_pct`` is the 24h change in percent.
    """
    row = as_dict(row, "ticker entry")
    pair = str(row.get("symbol"))
    last = req_num(row.get("last"), f"{pair}.last")
    volume = num(row.get("volume"))
    return Price(
        symbol=symbol,
        quote=quote_of(pair),
        price_usd=last,
        volume_24h=volume * (num(row.get("vwap")) or last) if volume is not None else None,
        price_change_24h=num(row.get("change_pct")),
        timestamp=received,
    )


def parse_stream_candle(row: Any, symbol: str) -> Candle:
    """One ohlc entry: the candle that began at ``interval_begin`` (RFC 3339).

    Older messages carry only the deprecated ``timestamp``, which the documented
    example shows at the end of the interval, so it is taken back by one interval.
    """
    row = as_dict(row, "ohlc entry")
    pair = str(row.get("symbol"))
    minutes = int(req_num(row.get("interval"), f"{pair}.interval"))
    begin = row.get("interval_begin")
    if isinstance(begin, str):
        open_time = parse_iso(begin)
    elif isinstance(row.get("timestamp"), str):
        open_time = parse_iso(row["timestamp"]) - timedelta(minutes=minutes)
    else:
        raise UpstreamParseError(f"{pair} candle has no interval_begin")
    return Candle(
        symbol=symbol,
        interval=interval_name(minutes),
        open_time=open_time,
        open=req_num(row.get("open"), f"{pair}.open"),
        high=req_num(row.get("high"), f"{pair}.high"),
        low=req_num(row.get("low"), f"{pair}.low"),
        close=req_num(row.get("close"), f"{pair}.close"),
        volume=req_num(row.get("volume"), f"{pair}.volume"),
        quote=quote_of(pair),
    )


def parse_stream_frame(text: str, received: datetime, pairs: Mapping[str, str]) -> Frame:
    """One v2 message; ``pairs``: BTC/USD -> BTC. Snapshots and updates read alike.

    Raises:
        UpstreamParseError: not JSON, or not a shape Kraken documents.
    """
    message = as_dict(load_json(text), "message")
    method = message.get("method")
    if method is not None:
        if method == "pong":
            return Frame("pong")
        if method == "subscribe":
            if message.get("success") is True:
                return Frame("ack")
            error = message.get("error") or "subscription refused"
            symbol = message.get("symbol")
            return Frame("rejected", message=f"Kraken: {error}",
                         subject=symbol if isinstance(symbol, str) else "")
        if message.get("success") is False:
            return Frame("error", message=f"Kraken {method}: {message.get('error')}")
        return Frame("info", message=str(method))
    channel = field(message, "channel", "message")
    if channel == "heartbeat":
        return Frame("heartbeat")
    if channel not in ("ticker", "ohlc"):
        return Frame("info", message=str(channel))
    if message.get("type") not in ("snapshot", "update"):
        raise UpstreamParseError(f"{channel} message of type {message.get('type')!r}")
    records: list[Record] = []
    for row in as_list(field(message, "data", channel), f"{channel}.data"):
        symbol = pairs.get(str(as_dict(row, f"{channel} entry").get("symbol")))
        if symbol is None:
            continue
        if channel == "ticker":
            records.append(parse_stream_ticker(row, symbol, received))
        else:
            records.append(parse_stream_candle(row, symbol))
    return Frame("data", tuple(records))


def stream_plans(pairs: Mapping[str, str], url: str, business_url: str | None) -> list[StreamPlan]:
    """One connection carries both channels of every watched pair."""
    return [StreamPlan(SPEC.id, url, tuple(pairs), stream_subscribe,
                       partial(parse_stream_frame, pairs=dict(pairs)), WS_PING)]


STREAM = StreamAdapter(url=WS_URL, gives="tickers and 1-minute candles (WebSocket v2)",
                       pairs=stream_pairs, build=stream_plans)

PROVIDER = Provider(SPEC, collect, history, history_intervals=tuple(INTERVALS), stream=STREAM)
