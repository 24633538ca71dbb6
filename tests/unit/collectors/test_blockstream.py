"""Blockstream Esplora collector against its documented answers, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import blockstream
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import BlockStat, GasPrice
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_tip_mempool_and_fee_estimates_land():
    """Plain-text tip height, mempool count and fee targets 1/6/144 become BlockStat + GasPrice."""
    with ReplayServer() as srv:
        base = srv.mount("blockstream")
        stat, fees = await collect_with(blockstream.PROVIDER, base)
    assert isinstance(stat, BlockStat) and isinstance(fees, GasPrice)
    assert (stat.blockchain, stat.latest_block, stat.mempool_size) == ("bitcoin", 698767, 8134)
    assert fees.blockchain == "bitcoin"
    assert fees.fast_gas_price == pytest.approx(87.882)
    assert fees.standard_gas_price == pytest.approx(68.285)
    assert fees.gas_price_gwei == pytest.approx(68.285)
    assert fees.slow_gas_price == pytest.approx(1.027)


async def test_missing_target_uses_the_next_slower_one():
    """A missing confirmation target falls back to the nearest slower target given."""
    fees = blockstream.parse_fee_estimates({"2": 30.5, "10": 12, "504": "1.5"})
    assert (fees.fast_gas_price, fees.standard_gas_price, fees.slow_gas_price) == (30.5, 12, 1.5)
    assert blockstream.parse_fee_estimates({}) is None  # a node without estimates


async def test_wrong_shape_is_a_parse_error():
    """A tip height that is not an integer is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("blockstream")
        srv.fault("/blockstream/blocks/tip/height", Fault(body=b"<html>busy</html>"))
        with pytest.raises(UpstreamParseError):
            await collect_with(blockstream.PROVIDER, base)


async def test_fee_estimates_of_the_wrong_shape_are_refused():
    """Fee estimates as a list, or with a non-numeric target, are parse errors."""
    with pytest.raises(UpstreamParseError):
        blockstream.parse_fee_estimates([87.882])
    with pytest.raises(UpstreamParseError):
        blockstream.parse_fee_estimates({"fast": 87.882})
