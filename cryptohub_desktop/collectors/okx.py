"""OKX spot market data: every spot ticker in one call (keyless public API).

Endpoint: ``GET /api/v5/market/tickers?instType=SPOT``
(https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-tickers). The answer is
``{"code": "0", "msg": "", "data": [...]}`` with every number as a string; another
``code`` is an error inside the answer (50011 = too many requests).
Limit: 20 requests per 2 seconds per IP.

Live stream (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel
and ...-ws-candlesticks-channel): two documented public endpoints. Tickers live on
``wss://ws.okx.com:8443/ws/v5/public`` (``tickers`` channel, pushed on trades and
best-bid/ask changes, at most every 100 ms); candles live on the *business* endpoint
``wss://ws.okx.com:8443/ws/v5/business`` (``candle1m``: rows ``[ts, o, h, l, c, vol,
volCcy, volCcyQuote, confirm]``, the open candle re-sent with ``confirm`` "0"), so a
watchlist takes two connections (``ws_url`` and ``ws_business_url`` override them).
A subscribe is answered ``{"event": "subscribe", "arg": {...}}`` or ``{"event": "error",
"code": "60018", "msg": "...doesn't exist"}``. Keep-alive: OKX closes a connection
silent for 30 s; the client sends the text ``ping`` and gets the text ``pong``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from cryptohub_desktop.collectors._exchange import pairs_for, pct_change, quote_of, watched_pairs
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
    id="okx",
    name="OKX",
    category="market_data",
    base_url="https://www.okx.com",
    docs_url="https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-tickers",
    gives="spot last price, 24h quote volume and change (USDT pairs)",
    rate_limits=(RateLimit(20, 2),),
)


def unwrap(answer: Any) -> list[Any]:
    """The ``data`` array of an OKX answer; a ``code`` other than "0" is raised."""
    envelope = as_dict(answer)
    code = str(field(envelope, "code"))
    if code != "0":
        message = f"OKX code {code}: {envelope.get('msg', '')}"
        if code == "50011":
            raise UpstreamRateLimited(message)
        raise UpstreamHTTPError(message, status=400)
    return as_list(field(envelope, "data"), "data")


def parse_tickers(answer: Any, pairs: dict[str, str]) -> list[Price]:
    """Ticker rows as prices; ``pairs``: OKX instId (BTC-USDT) -> plain symbol.

    The change is ``last`` against ``open24h`` (the price 24 h ago); for spot,
    ``volCcy24h`` is the 24h volume in the quote currency; ``ts`` is in ms.
    """
    out = []
    for row in unwrap(answer):
        row = as_dict(row, "ticker row")
        symbol = pairs.get(row.get("instId"))
        if symbol is None:
            continue
        inst = row["instId"]
        last = req_num(row.get("last"), f"{inst}.last")
        ts = row.get("ts")
        out.append(
            Price(
                symbol=symbol,
                quote=quote_of(inst, "USDT"),
                price_usd=last,
                volume_24h=num(row.get("volCcy24h")),
                price_change_24h=pct_change(last, num(row.get("open24h"))),
                timestamp=from_ms(req_num(ts, f"{inst}.ts")) if ts not in (None, "") else utcnow(),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    pairs = watched_pairs(ctx, SPEC.id)
    if not pairs:
        return []
    answer = await api.get_json("/api/v5/market/tickers", {"instType": "SPOT"})
    return parse_tickers(answer, pairs)


# -- live stream ---------------------------------------------------------------------

#: The documented public endpoint (tickers).
WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
#: The documented business endpoint (candles).
WS_BUSINESS_URL = "wss://ws.okx.com:8443/ws/v5/business"
#: OKX's keep-alive: the text "ping", answered by the text "pong".
WS_PING = PingRule("ping")
#: Candle channel suffix -> interval name.
CANDLE_CHANNELS = {"candle1m": "1m", "candle5m": "5m", "candle1H": "1h", "candle1D": "1d",
                   "candle1Dutc": "1d"}


def stream_pairs(symbols: Sequence[str], symbol_map: SymbolMap) -> dict[str, str]:
    """OKX instId (BTC-USDT) -> plain symbol, from the symbol map."""
    return pairs_for(symbols, symbol_map, SPEC.id)


def stream_subscribe(pairs: Iterable[str], channel: str) -> list[str]:
    """One subscribe of ``channel`` ("tickers" or "candle1m") for every instrument."""
    return [json.dumps({"op": "subscribe",
                        "args": [{"channel": channel, "instId": inst} for inst in pairs]})]


def parse_stream_ticker(row: Any, symbol: str, received: datetime) -> Price:
    """A tickers row (numbers as strings): ``last`` against ``open24h`` (24 h ago);
    for spot, ``volCcy24h`` is the 24h volume in the quote currency."""
    row = as_dict(row, "ticker row")
    inst = str(row.get("instId"))
    last = req_num(row.get("last"), f"{inst}.last")
    return Price(
        symbol=symbol,
        quote=quote_of(inst, "USDT"),
        price_usd=last,
        volume_24h=num(row.get("volCcy24h")),
        price_change_24h=pct_change(last, num(row.get("open24h"))),
        timestamp=received,
    )


def parse_stream_candle(row: Any, symbol: str, inst: str, interval: str) -> Candle:
    """A candle row ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``; ``ts`` (ms)
    opens the candle, ``vol`` is the base volume for spot."""
    row = as_list(row, "candle row")
    if len(row) < 6:
        raise UpstreamParseError(f"{inst} candle has {len(row)} fields, expected 9")
    return Candle(
        symbol=symbol,
        interval=interval,
        open_time=from_ms(req_num(row[0], f"{inst}.ts")),
        open=req_num(row[1], f"{inst}.o"),
        high=req_num(row[2], f"{inst}.h"),
        low=req_num(row[3], f"{inst}.l"),
        close=req_num(row[4], f"{inst}.c"),
        volume=req_num(row[5], f"{inst}.vol"),
        quote=quote_of(inst, "USDT"),
    )


#: The instrument an OKX error message names ("instId:BTC-XXX", "\"instId\" : \"BTC-XXX\"").
_INST_ID = re.compile(r"instId\W+([A-Za-z0-9-]+)")


def parse_stream_frame(text: str, received: datetime, pairs: Mapping[str, str]) -> Frame:
    """One frame of either endpoint; ``pairs``: BTC-USDT -> BTC.

    An ``error`` event answers a subscribe; the instrument it names (code 60018 "...
    instId:X doesn't exist") is the refused pair.

    Raises:
        UpstreamParseError: not JSON (other than ``pong``), or not a documented shape.
    """
    if text == "pong":
        return Frame("pong")
    message = as_dict(load_json(text), "message")
    event = message.get("event")
    if event is not None:
        if event == "subscribe":
            return Frame("ack")
        if event == "error":
            text = str(message.get("msg", ""))
            inst = _INST_ID.search(text)
            return Frame("rejected", message=f"OKX code {message.get('code')}: {text}",
                         subject=inst.group(1) if inst else "")
        return Frame("info", message=f"{event}: {message.get('msg', '')}".strip(": "))
    arg = as_dict(field(message, "arg", "push"), "arg")
    channel = str(arg.get("channel"))
    inst = str(arg.get("instId"))
    rows = as_list(field(message, "data", channel), f"{channel}.data")
    if channel != "tickers" and channel not in CANDLE_CHANNELS:
        return Frame("info", message=channel)
    records: list[Record] = []
    for row in rows:
        if channel == "tickers":
            symbol = pairs.get(str(as_dict(row, "ticker row").get("instId")))
            if symbol is not None:
                records.append(parse_stream_ticker(row, symbol, received))
        elif (symbol := pairs.get(inst)) is not None:
            records.append(parse_stream_candle(row, symbol, inst, CANDLE_CHANNELS[channel]))
    return Frame("data", tuple(records))


def stream_plans(pairs: Mapping[str, str], url: str, business_url: str | None) -> list[StreamPlan]:
    """Tickers on the public endpoint, 1-minute candles on the business endpoint."""
    parse = partial(parse_stream_frame, pairs=dict(pairs))
    plans = [StreamPlan(f"{SPEC.id} public", url, tuple(pairs),
                        partial(stream_subscribe, channel="tickers"), parse, WS_PING)]
    if business_url:
        plans.append(StreamPlan(f"{SPEC.id} business", business_url, tuple(pairs),
                                partial(stream_subscribe, channel="candle1m"), parse, WS_PING))
    return plans


STREAM = StreamAdapter(url=WS_URL, business_url=WS_BUSINESS_URL,
                       gives="tickers (public endpoint) and 1-minute candles (business endpoint)",
                       pairs=stream_pairs, build=stream_plans)

PROVIDER = Provider(SPEC, collect, stream=STREAM)
