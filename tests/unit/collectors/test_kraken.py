"""Kraken collector against its documented answers, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import kraken
from cryptohub_desktop.core.errors import UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context, HistoryQuery
from tests.helpers import collect_with, history_with
from tests.replay import Fault, ReplayServer, Route


async def test_ticker_keyed_by_kraken_pair_id_lands_as_btc_usd():
    """The answer keyed XXBTZUSD (numbers as strings) is mapped back to BTC, quoted in USD."""
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        records = await collect_with(kraken.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path.endswith("/0/public/Ticker")]
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(30303.2)
    assert p.volume_24h == pytest.approx(4412.73601799 * 30689.13205)
    assert p.price_change_24h == pytest.approx((30303.2 - 30502.8) / 30502.8 * 100)
    assert seen.query["pair"] == ["XBTUSD,ETHUSD,BNBUSD,SOLUSD,XRPUSD"]


async def test_wrong_shape_is_a_parse_error():
    """A ticker row without its last-trade array is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        srv.fault(
            "/kraken/0/public/Ticker",
            Fault(body=b'{"error": [], "result": {"XXBTZUSD": {"o": "1"}}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(kraken.PROVIDER, base)


async def test_rate_limit_error_inside_200_is_rate_limited():
    """Kraken's in-body "EAPI:Rate limit exceeded" is a rate-limit error, not an empty pass."""
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        srv.fault("/kraken/0/public/Ticker", Fault(body=b'{"error": ["EAPI:Rate limit exceeded"]}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(kraken.PROVIDER, base)


async def test_unknown_pair_falls_back_to_one_call_per_pair():
    """An unknown pair failing the batch is found pair by pair and skipped from then on."""
    ctx = Context(symbols=["BTC", "BNB"], symbol_map=SymbolMap.bundled())
    unknown = b'{"error": ["EQuery:Unknown asset pair"]}'
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        path = "/kraken/0/public/Ticker"
        srv.add(Route(path=path, body=unknown, query={"pair": "XBTUSD,BNBUSD"}))
        srv.add(Route(path=path, body=unknown, query={"pair": "BNBUSD"}))
        records = await collect_with(kraken.PROVIDER, base, ctx=ctx)
        pairs = [s.query["pair"][0] for s in srv.seen]
    assert [(p.symbol, p.price_usd) for p in records] == [("BTC", pytest.approx(30303.2))]
    assert pairs == ["XBTUSD,BNBUSD", "XBTUSD", "BNBUSD"]
    assert ctx.symbol_map.get("kraken", "BNB") is None


async def test_ohlc_follows_the_last_cursor():
    """History passes the answer's `last` as `since` on the next call and stops when it stalls."""
    q = HistoryQuery(
        "BTC",
        "1m",
        datetime(2023, 7, 6, 19, 20, tzinfo=UTC),
        datetime(2023, 7, 7, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        candles = await history_with(kraken.PROVIDER, base, q)
        calls = [s.query for s in srv.seen if s.path.endswith("/0/public/OHLC")]
    assert [c.open_time.minute for c in candles] == [20, 21, 22, 23]
    c = candles[0]
    assert (c.symbol, c.interval, c.quote) == ("BTC", "1m", "USD")
    assert (c.open, c.high, c.low, c.close, c.volume) == (
        30306.1,
        30306.2,
        30305.7,
        30305.7,
        3.39243896,
    )
    assert calls[0]["pair"] == ["XBTUSD"] and calls[0]["interval"] == ["1"]
    assert calls[0]["since"] == ["1688671199"]
    assert calls[1]["since"] == ["1688672160"]
    assert len(calls) == 2


async def test_ohlc_wrong_shape_is_a_parse_error():
    """OHLC rows that are objects instead of arrays are a parse error."""
    q = HistoryQuery(
        "BTC",
        "1h",
        datetime(2023, 7, 6, tzinfo=UTC),
        datetime(2023, 7, 7, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    with ReplayServer() as srv:
        base = srv.mount("kraken")
        srv.fault(
            "/kraken/0/public/OHLC",
            Fault(body=b'{"error": [], "result": {"XXBTZUSD": [{"t": 1}], "last": 1}}'),
        )
        with pytest.raises(UpstreamParseError):
            await history_with(kraken.PROVIDER, base, q)
