"""CoinPaprika collector against documented answers, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinpaprika
from cryptohub_desktop.core.errors import UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


def _assert_btc(p):
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(5162.15941296)
    assert p.market_cap == pytest.approx(91094433242)
    assert p.volume_24h == pytest.approx(7304207651.1585)
    assert p.price_change_24h == pytest.approx(1.59)
    assert p.timestamp == datetime(2018, 11, 14, 7, 20, 41, tzinfo=UTC)


async def test_watchlist_reads_the_ticker_listing_once():
    """A 5-coin watchlist makes one /v1/tickers call; the BTC ticker becomes a USD price."""
    with ReplayServer() as srv:
        base = srv.mount("coinpaprika")
        records = await collect_with(coinpaprika.PROVIDER, base)
        paths = [s.path for s in srv.seen]
    assert paths == ["/coinpaprika/v1/tickers"]
    assert len(records) == 1
    _assert_btc(records[0])


async def test_single_coin_reads_its_own_ticker():
    """A one-coin watchlist calls /v1/tickers/btc-bitcoin?quotes=USD."""
    with ReplayServer() as srv:
        base = srv.mount("coinpaprika")
        records = await collect_with(coinpaprika.PROVIDER, base, symbols=["BTC"])
        (seen,) = srv.seen
    assert seen.path == "/coinpaprika/v1/tickers/btc-bitcoin"
    assert seen.query == {"quotes": ["USD"]}
    _assert_btc(records[0])


async def test_wrong_shape_is_a_parse_error():
    """A listing that is an object instead of an array is a parse error, not rows."""
    with ReplayServer() as srv:
        base = srv.mount("coinpaprika")
        srv.fault("/coinpaprika/v1/tickers", Fault(body=b'{"id": "btc-bitcoin"}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinpaprika.PROVIDER, base)


async def test_ticker_without_usd_quote_is_a_parse_error():
    """A ticker whose quotes lack USD is a parse error, never a price without a quote."""
    body = b'{"id": "btc-bitcoin", "symbol": "BTC", "quotes": {"BTC": {"price": 1}}}'
    with ReplayServer() as srv:
        base = srv.mount("coinpaprika")
        srv.fault("/coinpaprika/v1/tickers/btc-bitcoin", Fault(body=body))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinpaprika.PROVIDER, base, symbols=["BTC"])
