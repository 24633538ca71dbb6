"""OKX collector against a recorded spot ticker answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import okx
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_spot_tickers_land_as_usdt_price_with_change_from_open24h():
    """The BTC-USDT row (numbers as strings) becomes a BTC/USDT price; change from open24h."""
    with ReplayServer() as srv:
        base = srv.mount("okx")
        records = await collect_with(okx.PROVIDER, base)
        (seen,) = srv.seen
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USDT")
    assert p.price_usd == pytest.approx(28587.4)
    assert p.volume_24h == pytest.approx(174348873161.777148756)
    assert p.price_change_24h == pytest.approx((28587.4 - 29250.6) / 29250.6 * 100)
    assert p.timestamp == datetime.fromtimestamp(1682933882.503, UTC)
    assert seen.query == {"instType": ["SPOT"]}


async def test_wrong_shape_is_a_parse_error():
    """A data field that is an object instead of an array is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("okx")
        srv.fault(
            "/okx/api/v5/market/tickers",
            Fault(body=b'{"code": "0", "msg": "", "data": {"instId": "BTC-USDT"}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(okx.PROVIDER, base)


async def test_error_code_inside_answer_is_an_error():
    """An OKX answer with a non-zero code is an error; 50011 is rate limiting."""
    with ReplayServer() as srv:
        base = srv.mount("okx")
        path = "/okx/api/v5/market/tickers"
        srv.fault(
            path,
            Fault(
                body=b'{"code": "51001", "msg": "Instrument ID does not exist", "data": []}',
                times=1,
            ),
        )
        with pytest.raises(UpstreamHTTPError):
            await collect_with(okx.PROVIDER, base)
        srv.clear_faults()
        srv.fault(path, Fault(body=b'{"code": "50011", "msg": "Too Many Requests", "data": []}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(okx.PROVIDER, base)
