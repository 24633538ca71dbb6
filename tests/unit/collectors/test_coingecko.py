"""CoinGecko collector against its documented answers, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import HistoryQuery
from tests.helpers import collect_with, history_with
from tests.replay import Fault, ReplayServer


async def test_simple_price_lands_as_usd_price_with_market_fields():
    """The documented /simple/price answer becomes one BTC price with cap, volume, change."""
    with ReplayServer() as srv:
        base = srv.mount("coingecko")
        records = await collect_with(coingecko.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path.endswith("/simple/price")]
    assert len(records) == 1
    p = records[0]
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(67187.3358936566)
    assert p.market_cap == pytest.approx(1317802988326.25)
    assert p.volume_24h == pytest.approx(31260929299.5248)
    assert p.price_change_24h == pytest.approx(3.63727894677354)
    assert p.timestamp == datetime.fromtimestamp(1711356300, UTC)
    assert seen.query["ids"] == ["bitcoin,ethereum,binancecoin,solana,ripple"]


async def test_wrong_shape_is_a_parse_error():
    """An answer that is a list instead of an object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("coingecko")
        srv.fault("/coingecko/simple/price", Fault(body=b'[{"bitcoin": 1}]'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coingecko.PROVIDER, base)


async def test_market_chart_becomes_daily_candles():
    """market_chart price points are grouped into daily candles with OHLC from the points."""
    with ReplayServer() as srv:
        base = srv.mount("coingecko")
        q = HistoryQuery("BTC", "1d", datetime(2024, 3, 31, tzinfo=UTC),
                         datetime(2024, 4, 3, tzinfo=UTC), SymbolMap.bundled())
        candles = await history_with(coingecko.PROVIDER, base, q)
    assert [c.open_time.day for c in candles] == [31, 1]
    assert candles[1].open == pytest.approx(71246.9514406015)
    assert candles[1].close == pytest.approx(68887.7495158568)
    assert candles[1].low == pytest.approx(68887.7495158568)
