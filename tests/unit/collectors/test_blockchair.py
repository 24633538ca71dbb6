"""Blockchair collector against a recorded /bitcoin/stats answer, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import blockchair
from cryptohub_desktop.core.errors import UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import BlockStat, GasPrice
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_stats_land_as_block_stat_and_fee():
    """Bitcoin stats give height, tx total, string hashrate, difficulty, mempool and a sat/vB fee."""
    with ReplayServer() as srv:
        base = srv.mount("blockchair")
        stat, fee = await collect_with(blockchair.PROVIDER, base)
    assert isinstance(stat, BlockStat) and isinstance(fee, GasPrice)
    assert stat.blockchain == "bitcoin"
    assert stat.latest_block == 652382
    assert stat.total_transactions == 576952373
    assert stat.network_hashrate == pytest.approx(138141088900593742424.0)  # sent as a string
    assert stat.difficulty == pytest.approx(19298087186263)
    assert stat.mempool_size == 7866
    assert (fee.blockchain, fee.gas_price_gwei, fee.standard_gas_price) == ("bitcoin", 7, 7)


async def test_height_falls_back_to_block_count():
    """Without best_block_height the height is the block count minus one (block #0 counts)."""
    (stat,) = blockchair.parse_stats({"data": {"blocks": "652383"}, "context": {"code": 200}})
    assert stat.latest_block == 652382


async def test_wrong_shape_is_a_parse_error():
    """An answer whose data is a list is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("blockchair")
        srv.fault(
            "/blockchair/bitcoin/stats", Fault(body=b'{"data": [], "context": {"code": 200}}')
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(blockchair.PROVIDER, base)


async def test_over_the_free_limit_is_rate_limited():
    """Blockchair's HTTP 402 (over the keyless quota) is reported as rate limited."""
    with ReplayServer() as srv:
        base = srv.mount("blockchair")
        srv.fault("/blockchair/bitcoin/stats", Fault(status=402, body=b'{"data": null}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(blockchair.PROVIDER, base)


async def test_context_error_code_is_not_a_row():
    """A body whose context.code is 430 (IP blocked) is rate limited, not parsed."""
    with pytest.raises(UpstreamRateLimited):
        blockchair.parse_stats({"data": None, "context": {"code": 430, "error": "blocked"}})
