"""Bybit V5 spot market data: every spot ticker in one call (keyless public API).

Endpoint: ``GET /v5/market/tickers?category=spot``
(https://bybit-exchange.github.io/docs/v5/market/tickers). The answer is
``{"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [...]},
"time": ms}`` with every number as a string; a non-zero ``retCode`` is an error
inside a 200 answer (10006 = too many visits).
Limit: 600 requests per 5 seconds per IP across the HTTP API.

Live stream (https://bybit-exchange.github.io/docs/v5/ws/connect,
.../websocket/public/ticker and .../kline): ``wss://stream.bybit.com/v5/public/spot``,
topics ``tickers.<pair>`` (spot tickers are always ``type: snapshot``, every 50 ms) and
``kline.1.<pair>`` (the open candle re-sent with ``confirm: false``). Spot takes at most
10 topics per subscribe request, so the topics go out in groups of 10. Answers:
``{"success": true, "op": "subscribe", ...}`` or ``"success": false`` for a refused
topic. Keep-alive: the documented ``{"op": "ping"}`` every 20 s, answered by
``{"success": true, "ret_msg": "pong", "op": "ping"}`` (spot) or ``{"op": "pong"}``.
Limit: no more than 500 connections in 5 minutes per IP and domain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from cryptohub_desktop.collectors._exchange import (
    interval_name,
    pairs_for,
    quote_of,
    watched_pairs,
)
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import Candle, Price, Record
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.stream import (
    Frame,
    PingRule,
    StreamAdapter,
    StreamPlan,
    load_json,
)
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="bybit",
    name="Bybit",
    category="market_data",
    base_url="https://api.bybit.com",
    docs_url="https://bybit-exchange.github.io/docs/v5/market/tickers",
    gives="spot last price, 24h quote volume and change (USDT pairs)",
    rate_limits=(RateLimit(600, 5),),
)


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """The spot tickers answer as prices; ``pairs``: Bybit symbol (BTCUSDT) -> symbol.

    ``price24hPcnt`` is a fraction (0.0068 = 0.68 %); ``turnover24h`` is the 24h
    volume in the quote currency; the top-level ``time`` (ms) is the answer time.
    """
    envelope = as_dict(answer)
    code = field(envelope, "retCode")
    if code != 0:
        message = f"Bybit retCode {code}: {envelope.get('retMsg', '')}"
        if code == 10006:
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    result = as_dict(field(envelope, "result"), "result")
    time_ms = envelope.get("time")
    when = from_ms(req_num(time_ms, "time")) if time_ms is not None else utcnow()
    out = []
    for row in as_list(field(result, "list", "result"), "list"):
        row = as_dict(row, "ticker row")
        symbol = pairs.get(row.get("symbol"))
        if symbol is None:
            continue
        pct = num(row.get("price24hPcnt"))
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(row["symbol"], "USDT"),
                price_usd=req_num(row.get("lastPrice"), f"{row['symbol']}.lastPrice"),
                volume_24h=num(row.get("turnover24h")),
                price_change_24h=pct * 100.0 if pct is not None else None,
                timestamp=when,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    answer = await api.get_json("/v5/market/tickers", {"category": "spot"})
    return parse_tickers(answer, pairs)


# -- live stream ---------------------------------------------------------------------

#: The documented public spot endpoint.
WS_URL = "wss://stream.bybit.com/v5/public/spot"
#: Bybit's documented heartbeat packet.
WS_PING = PingRule(json.dumps({"op": "ping"}))
#: Topics per subscribe request allowed on spot.
TOPICS_PER_REQUEST = 10
#: Kline interval code -> interval name ("1" is one minute, "D" one day).
KLINE_INTERVALS = {"D": "1d", "W": "1w", "M": "1M"}


def stream_pairs(symbols: Sequence[str], symbol_map: SymbolMap) -> dict[str, str]:
    """Bybit symbol (BTCUSDT) -> plain symbol, from the symbol map."""
    return pairs_for(symbols, symbol_map, SPEC.id)


def stream_subscribe(pairs: Iterable[str]) -> list[str]:
    """``tickers.<pair>`` and ``kline.1.<pair>`` topics, 10 per subscribe request."""
    topics = [topic for pair in pairs for topic in (f"tickers.{pair}", f"kline.1.{pair}")]
    return [json.dumps({"op": "subscribe", "args": topics[i:i + TOPICS_PER_REQUEST]})
            for i in range(0, len(topics), TOPICS_PER_REQUEST)]


def parse_stream_ticker(data: Any, symbol: str, received: datetime) -> Price | None:
    """A spot ticker: ``price24hPcnt`` is a fraction (0.0196 = 1.96 %), ``turnover24h``
    the 24h volume in the quote currency. A derivatives ``delta`` leaves out unchanged
    fields; one without ``lastPrice`` carries no price and yields nothing."""
    data = as_dict(data, "ticker data")
    pair = str(data.get("symbol"))
    if data.get("lastPrice") in (None, ""):
        return None
    pct = num(data.get("price24hPcnt"))
    return Price(
        symbol=symbol,
        quote=quote_of(pair, "USDT"),
        price_usd=req_num(data.get("lastPrice"), f"{pair}.lastPrice"),
        volume_24h=num(data.get("turnover24h")),
        price_change_24h=pct * 100.0 if pct is not None else None,
        timestamp=received,
    )


def parse_stream_candle(row: Any, symbol: str, pair: str) -> Candle:
    """A kline entry: the candle opened at ``start`` (ms); ``volume`` is the base volume."""
    row = as_dict(row, "kline entry")
    code = str(field(row, "interval", "kline entry"))
    interval = KLINE_INTERVALS.get(code) or interval_name(int(req_num(code, "interval")))
    return Candle(
        symbol=symbol,
        interval=interval,
        open_time=from_ms(req_num(row.get("start"), f"{pair}.start")),
        open=req_num(row.get("open"), f"{pair}.open"),
        high=req_num(row.get("high"), f"{pair}.high"),
        low=req_num(row.get("low"), f"{pair}.low"),
        close=req_num(row.get("close"), f"{pair}.close"),
        volume=req_num(row.get("volume"), f"{pair}.volume"),
        quote=quote_of(pair, "USDT"),
    )


#: One of our topics named in a refusal ("error:handler not found,topic:tickers.NOPEUSDT").
_OUR_TOPIC = re.compile(r"(?:^|[\s:,])(?:tickers|kline\.1)\.([A-Z0-9]+)\b")


def parse_stream_frame(text: str, received: datetime, pairs: Mapping[str, str]) -> Frame:
    """One public-stream message; ``pairs``: BTCUSDT -> BTC.

    A refusal that names one of our topics names its pair; a refused request can leave
    the other topics of the connection silent, so the door resubscribes without it.

    Raises:
        UpstreamParseError: not JSON, or not a documented shape.
    """
    message = as_dict(load_json(text), "message")
    op = message.get("op")
    if op is not None and "topic" not in message:
        if op == "pong" or (op == "ping" and message.get("ret_msg") == "pong"):
            return Frame("pong")
        if op == "subscribe":
            if message.get("success") is True:
                return Frame("ack")
            reason = str(message.get("ret_msg") or "subscription refused")
            topic = _OUR_TOPIC.search(reason)
            return Frame("rejected", message=f"Bybit: {reason} (req_id "
                                             f"{message.get('req_id') or '-'})",
                         subject=topic.group(1) if topic else "")
        return Frame("info", message=str(op))
    topic = str(field(message, "topic", "message"))
    pair = topic.rsplit(".", 1)[-1]
    symbol = pairs.get(pair)
    data = field(message, "data", topic)
    records: list[Record] = []
    if topic.startswith("tickers."):
        if symbol is not None:
            rows = data if isinstance(data, list) else [data]
            records += [p for row in rows if (p := parse_stream_ticker(row, symbol, received))]
    elif topic.startswith("kline."):
        if symbol is not None:
            records += [parse_stream_candle(row, symbol, pair)
                        for row in as_list(data, f"{topic}.data")]
    else:
        return Frame("info", message=topic)
    if message.get("type") not in (None, "snapshot", "delta"):
        raise UpstreamParseError(f"{topic} message of type {message.get('type')!r}")
    return Frame("data", tuple(records))


def stream_plans(pairs: Mapping[str, str], url: str, business_url: str | None) -> list[StreamPlan]:
    """One connection carries every watched pair's tickers and 1-minute klines."""
    return [StreamPlan(SPEC.id, url, tuple(pairs), stream_subscribe,
                       partial(parse_stream_frame, pairs=dict(pairs)), WS_PING)]


STREAM = StreamAdapter(url=WS_URL, gives="spot tickers and 1-minute candles",
                       pairs=stream_pairs, build=stream_plans)

PROVIDER = Provider(SPEC, collect, stream=STREAM)
