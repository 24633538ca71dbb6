"""Bybit collector against its documented spot tickers answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import bybit
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_spot_tickers_land_as_usdt_price_from_string_numbers():
    """The BTCUSDT row (numbers as strings) becomes a BTC/USDT price with turnover and change."""
    with ReplayServer() as srv:
        base = srv.mount("bybit")
        records = await collect_with(bybit.PROVIDER, base)
        (seen,) = srv.seen
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USDT")
    assert p.price_usd == pytest.approx(20533.13)
    assert p.volume_24h == pytest.approx(243765620.65899866)
    assert p.price_change_24h == pytest.approx(0.68)
    assert p.timestamp == datetime.fromtimestamp(1673859087.947, UTC)
    assert seen.query == {"category": ["spot"]}


async def test_wrong_shape_is_a_parse_error():
    """A result without its list is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("bybit")
        srv.fault(
            "/bybit/v5/market/tickers",
            Fault(body=b'{"retCode": 0, "retMsg": "OK", "result": {"category": "spot"}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(bybit.PROVIDER, base)


async def test_ret_code_inside_200_is_an_error():
    """A non-zero retCode is an error; 10006 (too many visits) is rate limiting."""
    with ReplayServer() as srv:
        base = srv.mount("bybit")
        path = "/bybit/v5/market/tickers"
        srv.fault(path, Fault(body=b'{"retCode": 10001, "retMsg": "params error"}', times=1))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(bybit.PROVIDER, base)
        srv.clear_faults()
        srv.fault(path, Fault(body=b'{"retCode": 10006, "retMsg": "Too many visits!"}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(bybit.PROVIDER, base)
