"""Gemini collector against its documented pubticker answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import gemini
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_pubticker_lands_as_usd_price_with_quote_volume():
    """The btcusd ticker (numbers as strings) becomes a BTC/USD price with the USD volume."""
    ctx = Context(symbols=["BTC", "XMR"], symbol_map=SymbolMap.bundled())
    with ReplayServer() as srv:
        base = srv.mount("gemini")
        records = await collect_with(gemini.PROVIDER, base, ctx=ctx)
        paths = [s.path for s in srv.seen]
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(977.65)
    assert p.volume_24h == pytest.approx(2135477.463379586263)
    assert p.price_change_24h is None
    assert p.timestamp == datetime.fromtimestamp(1483018200, UTC)
    assert paths == ["/gemini/v1/pubticker/btcusd", "/gemini/v1/pubticker/xmrusd"]
    assert ctx.symbol_map.get("gemini", "XMR") is None  # 404: not listed, skipped from now on


async def test_wrong_shape_is_a_parse_error():
    """A ticker without its volume object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("gemini")
        srv.fault("/gemini/v1/pubticker/btcusd", Fault(body=b'{"last": "977.65"}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(gemini.PROVIDER, base)


async def test_invalid_symbol_everywhere_is_an_error():
    """When every pair is refused (HTTP 400 InvalidSymbol) the error is raised."""
    body = b'{"result": "error", "reason": "InvalidSymbol", "message": "Supplied value bad"}'
    with ReplayServer() as srv:
        base = srv.mount("gemini")
        srv.fault("/gemini/v1/pubticker", Fault(status=400, body=body))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(gemini.PROVIDER, base, symbols=["BTC"])
