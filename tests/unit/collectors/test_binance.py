"""Binance collector against recorded real answers, replayed over real HTTP."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import binance
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context, HistoryQuery
from tests.helpers import collect_with, history_with
from tests.replay import Fault, ReplayServer, Route


async def test_24hr_ticker_lands_as_usdt_price_with_volume_and_change():
    """The recorded 24hr ticker (numbers as strings) becomes a BTC/USDT price."""
    with ReplayServer() as srv:
        base = srv.mount("binance")
        records = await collect_with(binance.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path.endswith("/api/v3/ticker/24hr")]
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USDT")
    assert p.price_usd == pytest.approx(73369.84)
    assert p.volume_24h == pytest.approx(5167027510.68728707)
    assert p.price_change_24h == pytest.approx(1.647)
    assert p.timestamp == datetime.fromtimestamp(1710328245.391, UTC)
    assert json.loads(seen.query["symbols"][0]) == [
        "BTCUSDT",
        "ETHUSDT",
        "BNBUSDT",
        "SOLUSDT",
        "XRPUSDT",
    ]


async def test_wrong_shape_is_a_parse_error():
    """An object where the array of tickers belongs is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("binance")
        srv.fault("/binance/api/v3/ticker/24hr", Fault(body=b'{"symbol": "BTCUSDT"}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(binance.PROVIDER, base)


async def test_missing_last_price_is_a_parse_error():
    """A ticker without lastPrice is refused instead of stored as a wrong price."""
    with ReplayServer() as srv:
        base = srv.mount("binance")
        srv.fault(
            "/binance/api/v3/ticker/24hr",
            Fault(body=b'[{"symbol": "BTCUSDT", "quoteVolume": "1"}]'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(binance.PROVIDER, base)


async def test_invalid_symbol_in_batch_falls_back_to_single_calls():
    """When the batch is refused (HTTP 400), each pair is asked alone and unlisted ones skipped."""
    ctx = Context(symbols=["BTC", "MATIC"], symbol_map=SymbolMap.bundled())
    with ReplayServer() as srv:
        base = srv.mount("binance")
        path = "/binance/api/v3/ticker/24hr"
        body = b'{"code": -1121, "msg": "Invalid symbol."}'
        srv.add(
            Route(path=path, body=body, status=400, query={"symbols": '["BTCUSDT","MATICUSDT"]'})
        )
        srv.add(Route(path=path, body=body, status=400, query={"symbol": "MATICUSDT"}))
        records = await collect_with(binance.PROVIDER, base, ctx=ctx)
    assert [(p.symbol, p.price_usd) for p in records] == [("BTC", pytest.approx(73369.84))]
    assert ctx.symbol_map.get("binance", "MATIC") is None


async def test_klines_page_forward_with_start_time(monkeypatch):
    """History pages with startTime = last open time + one interval and keeps the range."""
    q = HistoryQuery(
        "BTC",
        "1h",
        datetime(2024, 1, 30, 16, tzinfo=UTC),
        datetime(2024, 1, 31, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    with ReplayServer() as srv:
        base = srv.mount("binance")
        monkeypatch.setattr(binance, "PAGE_LIMIT", 3)  # the recorded page is 3 candles long
        candles = await history_with(binance.PROVIDER, base, q)
        calls = [s for s in srv.seen if s.path.endswith("/api/v3/klines")]
    assert [c.open_time.hour for c in candles] == [16, 17, 18]
    c = candles[0]
    assert (c.symbol, c.interval, c.quote) == ("BTC", "1h", "USDT")
    assert (c.open, c.high, c.low, c.close) == (43519.34, 43936.0, 43171.0, 43488.71)
    assert c.volume == pytest.approx(20.55495)
    assert calls[0].query["startTime"] == ["1706630400000"]
    assert calls[0].query["endTime"] == ["1706659199999"]
    assert calls[1].query["startTime"] == ["1706641200000"]
    assert len(calls) == 2


async def test_klines_wrong_shape_is_a_parse_error():
    """A kline row that is not an array is a parse error."""
    q = HistoryQuery(
        "BTC",
        "1d",
        datetime(2024, 1, 30, tzinfo=UTC),
        datetime(2024, 1, 31, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    with ReplayServer() as srv:
        base = srv.mount("binance")
        srv.fault("/binance/api/v3/klines", Fault(body=b'[{"open": 1}]'))
        with pytest.raises(UpstreamParseError):
            await history_with(binance.PROVIDER, base, q)
