"""KuCoin collector against its documented allTickers answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import kucoin
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_all_tickers_land_as_usdt_price_from_string_numbers():
    """The BTC-USDT row (numbers as strings) becomes a BTC/USDT price with quote volume."""
    with ReplayServer() as srv:
        base = srv.mount("kucoin")
        records = await collect_with(kucoin.PROVIDER, base)
        assert srv.count("/kucoin/api/v1/market/allTickers") == 1
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USDT")
    assert p.price_usd == pytest.approx(67193)
    assert p.volume_24h == pytest.approx(124068431.06726933)
    assert p.price_change_24h == pytest.approx(-0.14)
    assert p.timestamp == datetime.fromtimestamp(1729173207.043, UTC)


async def test_wrong_shape_is_a_parse_error():
    """A data.ticker that is not an array is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("kucoin")
        srv.fault(
            "/kucoin/api/v1/market/allTickers",
            Fault(body=b'{"code": "200000", "data": {"time": 1, "ticker": {}}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(kucoin.PROVIDER, base)


async def test_error_code_inside_200_is_an_error():
    """A KuCoin envelope with another code is an error; 429000 is rate limiting."""
    with ReplayServer() as srv:
        base = srv.mount("kucoin")
        path = "/kucoin/api/v1/market/allTickers"
        srv.fault(path, Fault(body=b'{"code": "400100", "msg": "bad request"}', times=1))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(kucoin.PROVIDER, base)
        srv.clear_faults()
        srv.fault(path, Fault(body=b'{"code": "429000", "msg": "Too Many Requests"}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(kucoin.PROVIDER, base)
