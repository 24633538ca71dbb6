"""CoinGecko public API v3: spot prices (/simple/price) and history (/coins/{id}/market_chart).

Docs: https://docs.coingecko.com/v3.0.1/reference/simple-price
Free (keyless) public API: about 30 calls per minute.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num, req_num
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.time import from_ms, from_unix, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, HistoryQuery, Upstream

SPEC = ProviderSpec(
    id="coingecko",
    name="CoinGecko",
    category="market_data",
    base_url="https://api.coingecko.com/api/v3",
    docs_url="https://docs.coingecko.com/v3.0.1/reference/introduction",
    gives="spot prices, market cap, 24h volume and change; daily/hourly history",
    rate_limits=(RateLimit(30, 60),),
    tier=1,
)


def parse_simple_price(answer: Any, ids: dict[str, str]) -> list[Price]:
    """``/simple/price?include_market_cap&include_24hr_vol&include_24hr_change&include_last_updated_at``.

    Args:
        ids: CoinGecko id -> plain symbol.
    """
    data = as_dict(answer)
    out = []
    now = utcnow()
    for coin_id, symbol in ids.items():
        row = data.get(coin_id)
        if row is None:
            continue
        row = as_dict(row, coin_id)
        updated = row.get("last_updated_at")
        out.append(Price(
            symbol=symbol, quote="USD", price_usd=req_num(row.get("usd"), f"{coin_id}.usd"),
            market_cap=num(row.get("usd_market_cap")), volume_24h=num(row.get("usd_24h_vol")),
            price_change_24h=num(row.get("usd_24h_change")),
            timestamp=from_unix(updated) if updated else now))
    return out


async def collect(api: Upstream, ctx: Context) -> list[Price]:
    ids = {cid: s for s in ctx.symbols if (cid := ctx.symbol_map.get(SPEC.id, s))}
    if not ids:
        return []
    answer = await api.get_json("/simple/price", {
        "ids": ",".join(ids), "vs_currencies": "usd", "include_market_cap": "true",
        "include_24hr_vol": "true", "include_24hr_change": "true",
        "include_last_updated_at": "true"})
    return parse_simple_price(answer, ids)


def parse_market_chart(answer: Any, symbol: str, interval: str) -> list[Candle]:
    """``/coins/{id}/market_chart``: ``prices`` [[ms, price], ...] grouped into candles.

    CoinGecko gives price points, not OHLC: each candle takes the first, highest,
    lowest and last point in its interval; volume is the ``total_volumes`` value
    at the candle's last point (a rolling 24h figure, as CoinGecko reports it).
    """
    data = as_dict(answer)
    prices = as_list(data.get("prices"), "prices")
    volumes = {int(p[0]): num(p[1]) for p in as_list(data.get("total_volumes", []), "total_volumes")}
    step = {"1h": 3600, "1d": 86400}[interval] * 1000
    candles: dict[int, Candle] = {}
    for point in prices:
        ms, price = int(req_num(as_list(point, "price point")[0])), req_num(point[1])
        bucket = ms - ms % step
        c = candles.get(bucket)
        if c is None:
            candles[bucket] = Candle(symbol, interval, from_ms(bucket), price, price, price, price,
                                     volumes.get(ms) or 0.0)
        else:
            c.high, c.low, c.close = max(c.high, price), min(c.low, price), price
            c.volume = volumes.get(ms) or c.volume
    return sorted(candles.values(), key=lambda c: c.open_time)


async def history(api: Upstream, q: HistoryQuery) -> list[Candle]:
    coin_id = q.symbol_map.get(SPEC.id, q.symbol)
    if not coin_id:
        return []
    # The keyless API serves the last 365 days; "days" > 90 gives daily points,
    # 2..90 hourly ones.
    days = max(1, min(365, (utcnow() - q.start).days + 1))
    if q.interval == "1h":
        days = min(days, 90)
    answer = await api.get_json(f"/coins/{coin_id}/market_chart",
                                {"vs_currency": "usd", "days": str(days)})
    candles = parse_market_chart(answer, q.symbol, q.interval)
    end_open = q.end - timedelta(seconds=1)
    return [c for c in candles if q.start <= c.open_time <= end_open]


PROVIDER = Provider(SPEC, collect, history, history_intervals=("1h", "1d"))
