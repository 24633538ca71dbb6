"""CoinLore collector against its documented answer, replayed over real HTTP."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinlore
from cryptohub_desktop.core.errors import UpstreamParseError
from tests.helpers import collect_with
from tests.replay import FIXTURES, Fault, ReplayServer

PATH = "/coinlore/api/tickers/"


async def test_string_numbers_land_as_usd_price_matched_by_symbol():
    """String price/cap/change and numeric volume24 become a BTC USD price at info.time."""
    with ReplayServer() as srv:
        base = srv.mount("coinlore")
        records = await collect_with(coinlore.PROVIDER, base)
        seen = [s for s in srv.seen if s.path == PATH]
    assert len(records) == 1
    p = records[0]
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == 6456.52
    assert p.market_cap == 111586042785.56
    assert p.volume_24h == pytest.approx(3997655362.9586277)
    assert p.price_change_24h == -1.47
    assert p.timestamp == datetime.fromtimestamp(1538560355, UTC)
    assert len(seen) == 1  # a short page ends the search
    assert seen[0].query == {"start": ["0"], "limit": ["100"]}


async def test_full_pages_are_followed_while_symbols_are_missing():
    """While watched symbols are missing and pages are full, the next page is read."""
    doc = json.loads((FIXTURES / "coinlore" / "tickers.json").read_text())
    doc["data"] = doc["data"] * 100  # the documented item, as a full page of 100
    full_page = json.dumps(doc).encode()
    with ReplayServer() as srv:
        base = srv.mount("coinlore")
        srv.fault(PATH, Fault(body=full_page))
        records = await collect_with(coinlore.PROVIDER, base, symbols=["BTC", "ETH"])
        starts = [s.query["start"][0] for s in srv.seen]
    assert [r.symbol for r in records] == ["BTC"]
    assert starts == ["0", "100", "200"]


async def test_wrong_shape_is_a_parse_error():
    """A data member that is an object instead of a list is a parse error, not rows."""
    with ReplayServer() as srv:
        base = srv.mount("coinlore")
        srv.fault(PATH, Fault(body=b'{"data": {"symbol": "BTC"}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinlore.PROVIDER, base)


async def test_non_numeric_price_string_is_a_parse_error():
    """A price_usd string that is not a number is a parse error, never a zero price."""
    body = b'{"data": [{"symbol": "BTC", "price_usd": "n/a"}], "info": {"time": 1}}'
    with ReplayServer() as srv:
        base = srv.mount("coinlore")
        srv.fault(PATH, Fault(body=body))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinlore.PROVIDER, base)
