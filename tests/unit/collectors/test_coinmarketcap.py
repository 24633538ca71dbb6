"""CoinMarketCap collector against recorded answers, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinmarketcap
from cryptohub_desktop.core.errors import MissingKey, UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import FIXTURES, Fault, ReplayServer

PATH = "/coinmarketcap/v2/cryptocurrency/quotes/latest"


async def test_v2_symbol_quotes_land_as_usd_prices_and_key_goes_in_header():
    """A v2 answer keyed by symbol (list per symbol) becomes a BTC USD price; key in header."""
    with ReplayServer() as srv:
        base = srv.mount("coinmarketcap")
        records = await collect_with(coinmarketcap.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == PATH]
    assert len(records) == 1
    p = records[0]
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(21871.88352845583)
    assert p.market_cap == pytest.approx(417071250655.8079)
    assert p.volume_24h == pytest.approx(50482520018.50814)
    assert p.price_change_24h == pytest.approx(2.53462368)
    assert p.timestamp == datetime(2022, 6, 16, 7, 10, tzinfo=UTC)
    assert seen.headers["X-CMC_PRO_API_KEY"] == "test-key"
    assert seen.query["symbol"] == ["BTC,ETH,BNB,SOL,XRP"]
    assert seen.query["convert"] == ["USD"]


async def test_wrong_shape_is_a_parse_error():
    """A data member that is a list instead of an object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("coinmarketcap")
        srv.fault(PATH, Fault(body=b'{"status": {"error_code": 0}, "data": [1, 2]}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinmarketcap.PROVIDER, base, keys=["test-key"])


async def test_status_error_code_1008_in_a_200_is_rate_limited():
    """The documented 1008 status envelope raises rate_limited even when HTTP says 200."""
    body = (FIXTURES / "coinmarketcap" / "rate_limited.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("coinmarketcap")
        srv.fault(PATH, Fault(body=body))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(coinmarketcap.PROVIDER, base, keys=["test-key"])


async def test_without_key_the_provider_is_not_called():
    """With no COINMARKETCAP_KEY_1 configured the call is refused as needs_key."""
    with ReplayServer() as srv:
        base = srv.mount("coinmarketcap")
        with pytest.raises(MissingKey):
            await collect_with(coinmarketcap.PROVIDER, base)
        assert srv.count("/coinmarketcap") == 0


async def test_v1_answer_keyed_by_id_is_read_by_symbol_field():
    """A v1 answer keyed by CoinMarketCap id ("1") yields BTC by its symbol field, not 0 rows."""
    body = (FIXTURES / "coinmarketcap" / "quotes_latest_v1_id.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("coinmarketcap")
        srv.fault(PATH, Fault(body=body))
        records = await collect_with(coinmarketcap.PROVIDER, base, keys=["test-key"])
    assert [(p.symbol, p.quote) for p in records] == [("BTC", "USD")]
    assert records[0].price_usd == pytest.approx(3475.55287338)
    assert records[0].timestamp == datetime(2019, 2, 4, 8, 22, 25, tzinfo=UTC)
