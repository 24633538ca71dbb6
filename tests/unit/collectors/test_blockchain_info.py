"""Blockchain.com stats collector against the documented /stats answer, over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import blockchain_info
from cryptohub_desktop.core.errors import UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_stats_land_as_bitcoin_metrics():
    """The documented stats answer becomes Bitcoin metrics, satoshi fields turned into BTC."""
    with ReplayServer() as srv:
        base = srv.mount("blockchain_info")
        records = await collect_with(blockchain_info.PROVIDER, base)
    values = {r.metric: r.value for r in records}
    assert {r.chain for r in records} == {"Bitcoin"}
    assert values["hash_rate_ghs"] == pytest.approx(1.8410989266292908e9)
    assert values["difficulty"] == 225832872179
    assert values["n_tx_24h"] == 233805
    assert values["n_blocks_total"] == 430098
    assert values["minutes_between_blocks"] == pytest.approx(8.2577)
    assert values["total_btc"] == pytest.approx(15876225.0)
    assert values["total_fees_btc_24h"] == pytest.approx(60.73543165)
    assert values["trade_volume_btc_24h"] == pytest.approx(21597.09997288)
    assert values["market_price_usd"] == pytest.approx(610.036975)
    assert {r.timestamp for r in records} == {datetime.fromtimestamp(1474035340, UTC)}


async def test_wrong_shape_is_a_parse_error():
    """An answer without hash rate and difficulty is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("blockchain_info")
        srv.fault("/blockchain_info/stats", Fault(body=b'[{"hash_rate": 1}]'))
        with pytest.raises(UpstreamParseError):
            await collect_with(blockchain_info.PROVIDER, base)
        srv.fault("/blockchain_info/stats", Fault(body=b'{"market_price_usd": 1}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(blockchain_info.PROVIDER, base)
