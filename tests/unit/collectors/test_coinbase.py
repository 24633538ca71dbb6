"""Coinbase Exchange collector against documented and recorded answers over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinbase
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context, HistoryQuery
from tests.helpers import collect_with, history_with
from tests.replay import Fault, ReplayServer


async def test_ticker_and_stats_land_as_usd_price():
    """Ticker and 24h stats (numbers as strings) become one BTC/USD price with volume and change."""
    ctx = Context(symbols=["BTC", "BNB"], symbol_map=SymbolMap.bundled())
    with ReplayServer() as srv:
        base = srv.mount("coinbase")
        records = await collect_with(coinbase.PROVIDER, base, ctx=ctx)
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(6268.48)
    assert p.volume_24h == pytest.approx(53602.03940154 * 6268.48)
    assert p.price_change_24h == pytest.approx((6250.02 - 5414.18) / 5414.18 * 100)
    assert p.timestamp == datetime(2020, 3, 20, 0, 22, 57, 833000, tzinfo=UTC)
    assert ctx.symbol_map.get("coinbase", "BNB") is None  # BNB-USD answered 404: unlisted


async def test_wrong_shape_is_a_parse_error():
    """A ticker that is an array instead of an object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("coinbase")
        srv.fault("/coinbase/products/BTC-USD/ticker", Fault(body=b'[{"price": "1"}]'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinbase.PROVIDER, base)


async def test_every_product_missing_is_an_error_not_an_empty_pass():
    """When no watched product exists (e.g. a wrong base_url) the 404 is raised."""
    with ReplayServer() as srv:
        base = srv.mount("coinbase")
        with pytest.raises(UpstreamHTTPError):
            await collect_with(coinbase.PROVIDER, base, symbols=["ETH", "SOL"])


async def test_candles_page_in_windows_of_300():
    """History asks 300-candle windows, the second starting where the first ended."""
    symbols = SymbolMap({"symbols": {"BTC": {"coinbase": "BTC-USDT"}}})
    q = HistoryQuery(
        "BTC", "1h", datetime(2024, 3, 13, tzinfo=UTC), datetime(2024, 3, 26, tzinfo=UTC), symbols
    )
    with ReplayServer() as srv:
        base = srv.mount("coinbase")
        candles = await history_with(coinbase.PROVIDER, base, q)
        calls = [s.query for s in srv.seen if s.path.endswith("/candles")]
    (c,) = candles
    assert (c.symbol, c.interval, c.quote) == ("BTC", "1h", "USDT")
    assert c.open_time == datetime(2024, 3, 13, 11, tzinfo=UTC)
    assert (c.open, c.high, c.low, c.close, c.volume) == (
        73243.33,
        73402.47,
        73241.5,
        73370.65,
        1.56794406,
    )
    assert calls[0] == {
        "granularity": ["3600"],
        "start": ["2024-03-13T00:00:00Z"],
        "end": ["2024-03-25T12:00:00Z"],
    }
    assert calls[1]["start"] == ["2024-03-25T12:00:00Z"]
    assert calls[1]["end"] == ["2024-03-26T00:00:00Z"]
    assert len(calls) == 2


async def test_candles_wrong_shape_is_a_parse_error():
    """A candle row with too few fields is a parse error."""
    symbols = SymbolMap({"symbols": {"BTC": {"coinbase": "BTC-USDT"}}})
    q = HistoryQuery(
        "BTC", "1d", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC), symbols
    )
    with ReplayServer() as srv:
        base = srv.mount("coinbase")
        srv.fault("/coinbase/products/BTC-USDT/candles", Fault(body=b"[[1710327600, 1]]"))
        with pytest.raises(UpstreamParseError):
            await history_with(coinbase.PROVIDER, base, q)
