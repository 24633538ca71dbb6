"""Coinbase Exchange public market data: product ticker, 24h stats and candles (keyless).

Endpoints (https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products):

- ``GET /products/{product_id}/ticker``: last trade price, 24h base volume, trade time.
- ``GET /products/{product_id}/stats``: 24h open/high/low/last and volume.
- ``GET /products/{product_id}/candles?granularity=&start=&end=``: at most 300 rows
  ``[time, low, high, open, close, volume]`` per call, newest first.

The API has no batch ticker, so a pass costs two calls per watched symbol.
Limit: public endpoints allow 10 requests per second per IP (bursts of 15).

Live stream (https://docs.cdp.coinbase.com/exchange/websocket-feed/channels):
``wss://ws-feed.exchange.coinbase.com``, one ``subscribe`` for the ``ticker`` channel
(one message per match, batched during cascades: last price, 24h open and base volume)
and the ``heartbeat`` channel (once a second; keep-alive only, not data) of the watched
products. The server answers ``{"type": "subscriptions", ...}``; a refused subscription
is ``{"type": "error", "message": "Failed to subscribe", "reason": "X is not a valid
product"}``. Keep-alive: protocol pings.

Coinbase Exchange publishes **no candle channel** (its channels are heartbeat, status,
auction, matches, ticker, ticker_batch, level2, full, user, rfq_matches): the stream
gives tickers only, and this provider's 1-minute candles keep coming from the REST
``/candles`` endpoint (:func:`history`). Building candles out of ticker messages is not
done: a ticker message batches several matches and carries only the last size, so the
volume of such a candle would be wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from cryptohub_desktop.collectors._exchange import pairs_for, pct_change, per_symbol, quote_of
from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import from_unix, parse_iso, utcnow
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
    id="coinbase",
    name="Coinbase Exchange",
    category="market_data",
    base_url="https://api.exchange.coinbase.com",
    docs_url="https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-product-ticker",
    gives="spot last price, 24h volume and change (USD pairs); 1m/1h/1d candles",
    rate_limits=(RateLimit(10, 1),),
    tier=1,
)

#: Candle interval -> Coinbase ``granularity`` in seconds.
INTERVALS = {"1m": 60, "1h": 3600, "1d": 86400}
#: Rows per candles call (the documented maximum).
PAGE_LIMIT = 300


def parse_ticker(ticker: Any, stats: Any, symbol: str, pair: str) -> Price:
    """``/ticker`` plus ``/stats`` of one product (numbers are strings).

    The price and time are the ticker's last trade; the change is the stats' ``last``
    against its 24h ``open``. Both volumes are in base units, so the 24h volume in the
    quote currency is the ticker ``volume`` times the last price.
    """
    ticker, stats = as_dict(ticker, "ticker"), as_dict(stats, "stats")
    price = req_num(ticker.get("price"), f"{pair}.price")
    volume = num(ticker.get("volume"))
    when = ticker.get("time")
    if when is not None and not isinstance(when, str):
        raise UpstreamParseError(f"{pair}.time is not a string: {when!r}")
    return Price(
        symbol=symbol,
        quote=quote_of(pair),
        price_usd=price,
        volume_24h=volume * price if volume is not None else None,
        price_change_24h=pct_change(num(stats.get("last")) or price, num(stats.get("open"))),
        timestamp=parse_iso(when) if when else utcnow(),
    )


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    async def one(symbol: str, pair: str) -> Price:
        ticker = await api.get_json(f"/products/{pair}/ticker")
        stats = await api.get_json(f"/products/{pair}/stats")
        return parse_ticker(ticker, stats, symbol, pair)

    return await per_symbol(ctx, SPEC.id, one)


def parse_candles(answer: Any, symbol: str, interval: str, quote: str) -> list[Candle]:
    """Candle rows ``[time, low, high, open, close, volume]`` (time in seconds)."""
    out = []
    for row in as_list(answer, "candles"):
        row = as_list(row, "candle")
        if len(row) < 6:
            raise UpstreamParseError(f"candle has {len(row)} fields, expected 6")
        out.append(
            Candle(
                symbol=symbol,
                interval=interval,
                open_time=from_unix(req_num(row[0], "time")),
                low=req_num(row[1], "low"),
                high=req_num(row[2], "high"),
                open=req_num(row[3], "open"),
                close=req_num(row[4], "close"),
                volume=req_num(row[5], "volume"),
                quote=quote,
            )
        )
    return out


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def history(api: Upstream, q: HistoryQuery) -> list[Candle]:
    """Candles with ``q.start <= open_time < q.end``, in windows of 300 candles."""
    pair = q.symbol_map.get(SPEC.id, q.symbol)
    if not pair or q.interval not in INTERVALS:
        return []
    granularity = INTERVALS[q.interval]
    window = timedelta(seconds=granularity * PAGE_LIMIT)
    found: dict[datetime, Candle] = {}
    start = q.start
    while start < q.end:
        end = min(start + window, q.end)
        answer = await api.get_json(
            f"/products/{pair}/candles",
            {"granularity": granularity, "start": _iso(start), "end": _iso(end)},
        )
        for c in parse_candles(answer, q.symbol.upper(), q.interval, quote_of(pair)):
            if q.start <= c.open_time < q.end:
                found[c.open_time] = c
        start = end
    return [found[k] for k in sorted(found)]


# -- live stream ---------------------------------------------------------------------

#: The documented public endpoint of the Exchange WebSocket feed.
WS_URL = "wss://ws-feed.exchange.coinbase.com"


def stream_pairs(symbols: Sequence[str], symbol_map: SymbolMap) -> dict[str, str]:
    """Coinbase product (BTC-USD) -> plain symbol, from the symbol map."""
    return pairs_for(symbols, symbol_map, SPEC.id)


def stream_subscribe(pairs: Iterable[str]) -> list[str]:
    """One subscribe for the ticker and heartbeat channels of every product."""
    return [json.dumps({"type": "subscribe", "product_ids": list(pairs),
                        "channels": ["ticker", "heartbeat"]})]


def parse_stream_ticker(message: dict[str, Any], symbol: str, received: datetime) -> Price:
    """A ``ticker`` message (numbers as strings).

    ``price`` is the last trade; ``volume_24h`` is in base units, so the 24h volume in
    the quote currency is it times the price (as the REST ticker); the change is the
    price against ``open_24h``.
    """
    product = str(message.get("product_id"))
    price = req_num(message.get("price"), f"{product}.price")
    volume = num(message.get("volume_24h"))
    return Price(
        symbol=symbol,
        quote=quote_of(product),
        price_usd=price,
        volume_24h=volume * price if volume is not None else None,
        price_change_24h=pct_change(price, num(message.get("open_24h"))),
        timestamp=received,
    )


#: The reason Coinbase gives for a product it does not list.
_INVALID_PRODUCT = re.compile(r"^(\S+) is not a valid product")


def parse_stream_frame(text: str, received: datetime, pairs: Mapping[str, str]) -> Frame:
    """One feed message; ``pairs``: BTC-USD -> BTC.

    A refused subscribe names the product it refused in ``reason``; the whole request
    fails with it, so the door subscribes again without that product.

    Raises:
        UpstreamParseError: not JSON, or a message without a ``type``.
    """
    message = as_dict(load_json(text), "message")
    kind = field(message, "type", "message")
    if kind == "ticker":
        symbol = pairs.get(str(field(message, "product_id", "ticker")))
        if symbol is None:
            return Frame("data")
        return Frame("data", (parse_stream_ticker(message, symbol, received),))
    if kind == "heartbeat":
        return Frame("heartbeat")
    if kind == "subscriptions":
        return Frame("ack")
    if kind == "error":
        text = ": ".join(str(message[k]) for k in ("message", "reason") if message.get(k))
        product = _INVALID_PRODUCT.search(str(message.get("reason", "")))
        if "subscribe" in text.lower() or product:
            return Frame("rejected", message=f"Coinbase: {text}",
                         subject=product.group(1) if product else "")
        return Frame("error", message=f"Coinbase: {text}")
    return Frame("info", message=str(kind))


def stream_plans(pairs: Mapping[str, str], url: str, business_url: str | None) -> list[StreamPlan]:
    """One connection carries every watched product."""
    return [StreamPlan(SPEC.id, url, tuple(pairs), stream_subscribe,
                       partial(parse_stream_frame, pairs=dict(pairs)), PROTOCOL_PING)]


STREAM = StreamAdapter(url=WS_URL, gives="tickers (no candle channel: 1m candles stay REST)",
                       pairs=stream_pairs, build=stream_plans)

PROVIDER = Provider(SPEC, collect, history, history_intervals=tuple(INTERVALS), stream=STREAM)
