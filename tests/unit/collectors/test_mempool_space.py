"""mempool.space collector against its documented answers, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import mempool_space
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import BlockStat, GasPrice
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_fees_tip_and_mempool_land():
    """Recommended fees (sat/vB), tip height and mempool count become GasPrice + BlockStat."""
    with ReplayServer() as srv:
        base = srv.mount("mempool_space")
        fees, stat = await collect_with(mempool_space.PROVIDER, base)
    assert isinstance(fees, GasPrice) and isinstance(stat, BlockStat)
    assert fees.blockchain == "bitcoin"
    assert (fees.fast_gas_price, fees.standard_gas_price, fees.slow_gas_price) == (1, 1, 1)
    assert (stat.blockchain, stat.latest_block, stat.mempool_size) == ("bitcoin", 698767, 3169)


async def test_fee_tiers_map_fastest_half_hour_hour():
    """fastestFee is fast, halfHourFee standard (and the headline), hourFee slow."""
    # the `fees` object of mempool.space's documented live-data example
    fees = mempool_space.parse_recommended_fees(
        {"fastestFee": 7, "halfHourFee": 6, "hourFee": 5, "economyFee": 4, "minimumFee": 2}
    )
    assert (fees.fast_gas_price, fees.standard_gas_price, fees.slow_gas_price) == (7, 6, 5)
    assert fees.gas_price_gwei == 6


async def test_wrong_shape_is_a_parse_error():
    """Recommended fees without fastestFee are a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("mempool_space")
        srv.fault("/mempool_space/v1/fees/recommended", Fault(body=b'{"hourFee": 1}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(mempool_space.PROVIDER, base)


async def test_mempool_count_must_be_a_count():
    """A fractional or negative mempool count is refused."""
    with pytest.raises(UpstreamParseError):
        mempool_space.parse_mempool_count({"count": -3})
    with pytest.raises(UpstreamParseError):
        mempool_space.parse_tip_height("12.5")
