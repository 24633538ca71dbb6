"""eth_whales collector against a recorded mainnet block, replayed over real JSON-RPC."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import eth_whales
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with
from tests.replay import ReplayServer, Route

BIG = "0x52001b82c8104b88e91480063ba8294cc65302371789ec59b1367c2c1778d9a4"  # 214.6 ETH
MID = "0xc002e0675b51c9844fc029220d40892c254ab56372b2ec05ed0c6000570cfab2"  # 49.9 ETH


async def test_only_transfers_over_the_threshold_are_returned_with_usd_value():
    """At 5,000 USD/ETH the 214.6 ETH transfer passes the 1M USD bar, the 49.9 ETH one not."""
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        records = await collect_with(
            eth_whales.PROVIDER, base, prices={"ETH": 5000.0}, options={"blocks": 1}
        )
        calls = [json.loads(s.body) for s in srv.seen]
    (tx,) = records
    assert tx.transaction_hash == BIG
    assert (tx.blockchain, tx.symbol) == ("ethereum", "ETH")
    assert tx.amount == pytest.approx(214.60333036)
    assert tx.amount_usd == pytest.approx(214.60333036 * 5000.0)
    assert tx.from_address == "0x8975dbc1b8f25ec994815626d070899dda896511"
    assert tx.to_address == "0xb2e3732c0b0ec387962f76fa4f1bb9325089c5e0"
    assert tx.timestamp == datetime.fromtimestamp(0x57A111B0, UTC)
    assert [c["method"] for c in calls] == ["eth_blockNumber", "eth_getBlockByNumber"]
    assert calls[1]["params"] == ["0x1e8484", True]


async def test_min_usd_option_lowers_the_bar():
    """With min_usd 100,000 at 3,000 USD/ETH both the 49.9 and the 214.6 ETH transfers pass."""
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        records = await collect_with(
            eth_whales.PROVIDER,
            base,
            prices={"ETH": 3000.0},
            options={"blocks": 1, "min_usd": 100_000},
        )
    assert {r.transaction_hash for r in records} == {BIG, MID}
    mid = next(r for r in records if r.transaction_hash == MID)
    assert mid.amount_usd == pytest.approx(49.887512482 * 3000.0)


async def test_a_later_pass_scans_only_new_blocks():
    """The last N blocks are scanned once; a pass with no new block asks for no block."""
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        first = await collect_with(
            eth_whales.PROVIDER, base, prices={"ETH": 5000.0}, options={"blocks": 3}
        )
        second = await collect_with(
            eth_whales.PROVIDER, base, prices={"ETH": 5000.0}, options={"blocks": 3}
        )
        heights = [
            json.loads(s.body)["params"][0]
            for s in srv.seen
            if json.loads(s.body)["method"] == "eth_getBlockByNumber"
        ]
    assert heights == ["0x1e8482", "0x1e8483", "0x1e8484"]
    assert [r.transaction_hash for r in first] == [BIG]  # same replayed block: deduplicated
    assert second == []


async def test_no_eth_price_yet_returns_nothing_and_calls_nothing():
    """Without an ETH consensus price the pass makes no call and returns no rows."""
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        ctx = Context(symbols=["ETH"], symbol_map=SymbolMap.bundled(), prices={})
        records = await collect_with(eth_whales.PROVIDER, base, ctx=ctx)
        assert srv.seen == []
    assert records == []


async def test_wrong_shape_is_a_parse_error():
    """A block whose transactions are not an array is a parse error, not a row."""
    bad = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"number": "0x1e8484", "timestamp": "0x57a111b0", "transactions": "0x"},
    }
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        srv.add(
            Route(
                path="/eth_whales",
                body=json.dumps(bad).encode(),
                method="POST",
                rpc_method="eth_getBlockByNumber",
            )
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(eth_whales.PROVIDER, base, options={"blocks": 1})


async def test_block_of_hashes_only_is_a_parse_error():
    """A node answering transaction hashes instead of objects is a parse error."""
    bad = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"number": "0x1e8484", "timestamp": "0x57a111b0", "transactions": [BIG]},
    }
    with ReplayServer() as srv:
        base = srv.mount("eth_whales")
        srv.add(
            Route(
                path="/eth_whales",
                body=json.dumps(bad).encode(),
                method="POST",
                rpc_method="eth_getBlockByNumber",
            )
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(eth_whales.PROVIDER, base, options={"blocks": 1})
