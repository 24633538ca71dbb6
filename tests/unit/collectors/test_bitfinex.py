"""Bitfinex collector against a recorded /v2/tickers answer, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import bitfinex
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_tickers_row_lands_as_usd_price_and_funding_row_is_ignored():
    """The tBTCUSD array row becomes a BTC/USD price; the fUSD funding row is skipped."""
    with ReplayServer() as srv:
        base = srv.mount("bitfinex")
        records = await collect_with(bitfinex.PROVIDER, base)
        (seen,) = srv.seen
    (p,) = records
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(101550)
    assert p.volume_24h == pytest.approx(661.88869229 * 101550)
    assert p.price_change_24h == pytest.approx(2.71063)
    assert seen.query["symbols"] == ["tBTCUSD,tETHUSD,tBNBUSD,tSOLUSD,tXRPUSD"]


async def test_wrong_shape_is_a_parse_error():
    """An object where the array of rows belongs is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("bitfinex")
        srv.fault("/bitfinex/v2/tickers", Fault(body=b'{"tBTCUSD": 101550}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(bitfinex.PROVIDER, base)


async def test_short_trading_row_is_a_parse_error():
    """A tBTCUSD row cut short (no LAST_PRICE) is refused."""
    with ReplayServer() as srv:
        base = srv.mount("bitfinex")
        srv.fault("/bitfinex/v2/tickers", Fault(body=b'[["tBTCUSD", 101530, 39.7]]'))
        with pytest.raises(UpstreamParseError):
            await collect_with(bitfinex.PROVIDER, base)


async def test_error_answers_raise_upstream_errors():
    """Bitfinex's error array and ERR_RATE_LIMIT object are errors, not empty passes."""
    with ReplayServer() as srv:
        base = srv.mount("bitfinex")
        srv.fault(
            "/bitfinex/v2/tickers", Fault(body=b'["error", 10020, "symbol: invalid"]', times=1)
        )
        with pytest.raises(UpstreamHTTPError):
            await collect_with(bitfinex.PROVIDER, base)
        srv.clear_faults()
        srv.fault("/bitfinex/v2/tickers", Fault(body=b'{"error": "ERR_RATE_LIMIT"}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(bitfinex.PROVIDER, base)
