"""CryptoCompare collector against recorded answers, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import cryptocompare
from cryptohub_desktop.core.errors import UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import HistoryQuery
from tests.helpers import collect_with, history_with
from tests.replay import FIXTURES, Fault, ReplayServer

PRICES = "/cryptocompare/data/pricemultifull"
HISTODAY = "/cryptocompare/data/v2/histoday"


def _header(seen, name):
    return {k.lower(): v for k, v in seen.headers.items()}.get(name.lower())


async def test_pricemultifull_raw_lands_as_usd_price():
    """RAW.BTC.USD of pricemultifull becomes one USD price with cap, volume, change, time."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        records = await collect_with(cryptocompare.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path == PRICES]
    assert len(records) == 1
    p = records[0]
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(59692.06)
    assert p.market_cap == pytest.approx(1114993181949.22)
    assert p.volume_24h == pytest.approx(2097598475.2247777)
    assert p.price_change_24h == pytest.approx(2.272113589574189)
    assert p.timestamp == datetime.fromtimestamp(1618082612, UTC)
    assert seen.query == {"fsyms": ["BTC,ETH,BNB,SOL,XRP"], "tsyms": ["USD"]}
    assert _header(seen, "authorization") is None


async def test_optional_key_is_sent_as_apikey_authorization_header():
    """With CRYPTOCOMPARE_KEY set the key goes in 'authorization: Apikey <key>'."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        await collect_with(cryptocompare.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == PRICES]
    assert _header(seen, "authorization") == "Apikey test-key"
    assert "api_key" not in seen.query


async def test_wrong_shape_is_a_parse_error():
    """A RAW section that is a list instead of an object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        srv.fault(PRICES, Fault(body=b'{"RAW": [{"PRICE": 1}]}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(cryptocompare.PROVIDER, base)


async def test_in_body_rate_limit_error_is_rate_limited():
    """The 'Response: Error' rate-limit answer (HTTP 200, Type 99) raises rate_limited."""
    body = (FIXTURES / "cryptocompare" / "rate_limited.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        srv.fault(PRICES, Fault(body=body))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(cryptocompare.PROVIDER, base)


async def test_histoday_becomes_daily_candles_with_base_volume():
    """histoday answer becomes 31 daily BTC candles; volume is volumefrom (base asset)."""
    q = HistoryQuery(
        "BTC",
        "1d",
        datetime(2022, 5, 10, tzinfo=UTC),
        datetime(2022, 6, 10, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        candles = await history_with(cryptocompare.PROVIDER, base, q)
        seen = [s for s in srv.seen if s.path == HISTODAY]
    assert len(candles) == 31
    assert candles[0].open_time == datetime(2022, 5, 10, tzinfo=UTC)
    assert (candles[0].open, candles[0].high, candles[0].low, candles[0].close) == (
        30076.9,
        32625.41,
        29836.19,
        31013.12,
    )
    assert candles[0].volume == pytest.approx(103840.6)
    assert candles[5].close == pytest.approx(31296.11)
    assert candles[-1].open_time == datetime(2022, 6, 9, tzinfo=UTC)
    assert all(c.interval == "1d" and c.quote == "USD" for c in candles)
    assert len(seen) == 1  # TimeFrom reached the start: no second page
    assert seen[0].query["fsym"] == ["BTC"] and seen[0].query["tsym"] == ["USD"]
    assert seen[0].query["limit"] == ["31"]
    assert seen[0].query["toTs"] == [str(int(q.end.timestamp()) - 1)]


async def test_histo_error_response_is_raised_not_empty():
    """A histoday 'Response: Error' answer raises instead of returning no candles."""
    q = HistoryQuery(
        "BTC",
        "1d",
        datetime(2022, 5, 10, tzinfo=UTC),
        datetime(2022, 6, 10, tzinfo=UTC),
        SymbolMap.bundled(),
    )
    body = (FIXTURES / "cryptocompare" / "rate_limited.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare")
        srv.fault(HISTODAY, Fault(body=body))
        with pytest.raises(UpstreamRateLimited):
            await history_with(cryptocompare.PROVIDER, base, q)
