"""Bitstamp collector against a recorded ticker answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import bitstamp
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

# The recorded answer is Bitstamp's BTC/USDT pair.
USDT_MAP = SymbolMap(
    {"symbols": {"BTC": {"bitstamp": "btcusdt"}}, "_patterns": {"bitstamp": "{lower}usdt"}}
)


async def test_ticker_lands_as_price_with_change_and_quote_volume():
    """The btcusdt ticker (all strings) becomes a BTC/USDT price with 24h change and volume."""
    ctx = Context(symbols=["BTC"], symbol_map=USDT_MAP)
    with ReplayServer() as srv:
        base = srv.mount("bitstamp")
        records = await collect_with(bitstamp.PROVIDER, base, ctx=ctx)
        (seen,) = srv.seen
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USDT")
    assert p.price_usd == pytest.approx(73285)
    assert p.price_change_24h == pytest.approx(1.58)
    assert p.volume_24h == pytest.approx(135.29692054 * 70853)
    assert p.timestamp == datetime.fromtimestamp(1710328241, UTC)
    assert seen.path == "/bitstamp/api/v2/ticker/btcusdt/"


async def test_wrong_shape_is_a_parse_error():
    """A ticker that is an array is a parse error, not a row."""
    ctx = Context(symbols=["BTC"], symbol_map=USDT_MAP)
    with ReplayServer() as srv:
        base = srv.mount("bitstamp")
        srv.fault("/bitstamp/api/v2/ticker/btcusdt/", Fault(body=b'[{"last": "73285"}]'))
        with pytest.raises(UpstreamParseError):
            await collect_with(bitstamp.PROVIDER, base, ctx=ctx)


async def test_bundled_map_asks_usd_pairs_and_raises_when_none_exists():
    """With the bundled map it asks ethusd/solusd; when every pair is 404 the error is raised."""
    with ReplayServer() as srv:
        base = srv.mount("bitstamp")
        with pytest.raises(UpstreamHTTPError):
            await collect_with(bitstamp.PROVIDER, base, symbols=["ETH", "SOL"])
        paths = [s.path for s in srv.seen]
    assert paths == ["/bitstamp/api/v2/ticker/ethusd/", "/bitstamp/api/v2/ticker/solusd/"]


async def test_btcusd_ticker_with_24h_change():
    """The btcusd answer (strings) is a BTC/USD price with Bitstamp's own 24h change."""
    with ReplayServer() as srv:
        base = srv.mount("bitstamp")
        (p,) = await collect_with(bitstamp.PROVIDER, base, symbols=["BTC"])
    assert (p.symbol, p.quote, p.price_usd) == ("BTC", "USD", 60192.0)
    assert p.price_change_24h == pytest.approx(-0.76, abs=0.01)
    assert p.timestamp.timestamp() == 1723398353
