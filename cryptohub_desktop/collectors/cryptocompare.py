"""CryptoCompare (CoinDesk Data) min-api: prices and OHLCV history.

Endpoints:
    GET /data/pricemultifull?fsyms=BTC,ETH&tsyms=USD   (RAW: PRICE, MKTCAP, VOLUME24HOURTO,
                                                        CHANGEPCT24HOUR, LASTUPDATE)
    GET /data/v2/histominute | /data/v2/histohour | /data/v2/histoday
        ?fsym=BTC&tsym=USD&limit<=2000&toTs=...        (paged backwards with toTs)
Docs: https://min-api.cryptocompare.com/documentation
Key optional (``CRYPTOCOMPARE_KEY``, header ``authorization: Apikey <key>``). Free
account ceilings as the API reports them in ``RateLimit.max_calls``: 20/s, 300/min,
3,000/h, 10,000/day. An error arrives inside a 200 as ``{"Response": "Error", "Message": ...}``;
``Type`` 99 ("You are over your rate limit ...") is a rate limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamRateLimited
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.time import from_unix, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, HistoryQuery, Upstream

SPEC = ProviderSpec(
    id="cryptocompare",
    name="CryptoCompare",
    category="market_data",
    base_url="https://min-api.cryptocompare.com",
    docs_url="https://min-api.cryptocompare.com/documentation",
    gives="spot prices, market cap, 24h volume and change; minute/hour/day OHLCV history",
    auth=Auth(
        kind="header",
        param="Authorization",
        prefix="Apikey ",
        key_names=("CRYPTOCOMPARE_KEY",),
        optional=True,
        key_url="https://www.cryptocompare.com/cryptopian/api-keys",
    ),
    rate_limits=(
        RateLimit(20, 1),
        RateLimit(300, 60),
        RateLimit(3000, 3600),
        RateLimit(10_000, 86400),
    ),
    tier=1,
)

QUOTE = "USD"
#: candle interval -> (endpoint, seconds per candle)
HISTO = {
    "1m": ("/data/v2/histominute", 60),
    "1h": ("/data/v2/histohour", 3600),
    "1d": ("/data/v2/histoday", 86400),
}
MAX_LIMIT = 2000
MAX_PAGES = 10


def check_response(answer: Any) -> dict[str, Any]:
    """The answer as a dict, or the in-body ``Response: Error`` raised."""
    data = as_dict(answer)
    if data.get("Response") == "Error":
        message = str(data.get("Message") or "unknown error")
        if data.get("Type") == 99 or "rate limit" in message.lower():
            raise UpstreamRateLimited(f"CryptoCompare: {message}")
        raise UpstreamHTTPError(f"CryptoCompare: {message}", status=400)
    return data


def parse_pricemultifull(answer: Any, symbols: dict[str, str], quote: str = QUOTE) -> list[Price]:
    """``/data/pricemultifull``: ``RAW[FSYM][TSYM]`` with numeric fields.

    Args:
        symbols: CryptoCompare symbol -> plain watchlist symbol.
    """
    raw = as_dict(field(check_response(answer), "RAW"), "RAW")
    now = utcnow()
    out = []
    for fsym, symbol in symbols.items():
        pair = raw.get(fsym)
        if pair is None:
            continue
        row = as_dict(as_dict(pair, f"RAW.{fsym}").get(quote), f"RAW.{fsym}.{quote}")
        updated = num(row.get("LASTUPDATE"))
        out.append(
            Price(
                symbol=symbol,
                quote=quote,
                price_usd=req_num(row.get("PRICE"), f"RAW.{fsym}.{quote}.PRICE"),
                market_cap=num(row.get("MKTCAP")),
                volume_24h=num(row.get("VOLUME24HOURTO")),
                price_change_24h=num(row.get("CHANGEPCT24HOUR")),
                timestamp=from_unix(updated) if updated else now,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    symbols = ctx.symbol_map.reverse(SPEC.id, list(ctx.symbols))
    if not symbols:
        return []
    answer = await api.get_json(
        "/data/pricemultifull", {"fsyms": ",".join(symbols), "tsyms": QUOTE}
    )
    return parse_pricemultifull(answer, symbols)


def parse_histo(answer: Any, symbol: str, interval: str) -> tuple[list[Candle], int | None]:
    """``/data/v2/histo*``: candles and ``Data.TimeFrom`` (for the next page).

    Zero candles (before the pair traded, all prices 0) are dropped. Volume is
    ``volumefrom`` (in the base asset, like exchange klines).
    """
    inner = as_dict(field(check_response(answer), "Data"), "Data")
    rows = as_list(field(inner, "Data", "Data"), "Data.Data")
    candles = []
    for row in rows:
        row = as_dict(row, "candle")
        o, h, lo, c = (req_num(row.get(k), f"candle.{k}") for k in ("open", "high", "low", "close"))
        if o == h == lo == c == 0:
            continue
        candles.append(
            Candle(
                symbol,
                interval,
                from_unix(req_num(row.get("time"), "candle.time")),
                o,
                h,
                lo,
                c,
                num(row.get("volumefrom")) or 0.0,
                quote=QUOTE,
            )
        )
    time_from = num(inner.get("TimeFrom"))
    return candles, int(time_from) if time_from is not None else None


async def history(api: Upstream, q: HistoryQuery) -> list[Candle]:
    fsym = q.symbol_map.get(SPEC.id, q.symbol)
    if not fsym or q.interval not in HISTO:
        return []
    path, step = HISTO[q.interval]
    start, end = int(q.start.timestamp()), int(q.end.timestamp())
    to_ts = end - 1
    found: dict[datetime, Candle] = {}
    for _ in range(MAX_PAGES):
        need = max(1, (to_ts - start) // step + 1)
        answer = await api.get_json(
            path,
            {
                "fsym": fsym.upper(),
                "tsym": QUOTE,
                "limit": str(min(MAX_LIMIT, need)),
                "toTs": str(to_ts),
            },
        )
        candles, time_from = parse_histo(answer, q.symbol.upper(), q.interval)
        for c in candles:
            found[c.open_time] = c
        if not candles or time_from is None or time_from <= start or time_from > to_ts:
            break
        to_ts = time_from - step
    return sorted(
        (c for c in found.values() if q.start <= c.open_time < q.end), key=lambda c: c.open_time
    )


PROVIDER = Provider(SPEC, collect, history, history_intervals=("1m", "1h", "1d"))
