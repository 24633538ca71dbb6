"""Whale Alert collector against the recorded v1 answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import whale_alert
from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_transactions_land_as_whale_rows_with_usd_value():
    """The recorded /transactions answer becomes whale rows with chain, symbol, USD and owners."""
    with ReplayServer() as srv:
        base = srv.mount("whale_alert")
        records = await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])
    assert len(records) == 6
    first = records[0]
    assert (first.blockchain, first.symbol) == ("ethereum", "ETH")
    assert first.transaction_hash == (
        "2084eca97be1468bfd9f937ad6921ecc6dd083fffe5c612247360e13918400c0"
    )
    assert first.amount == pytest.approx(6667)
    assert first.amount_usd == pytest.approx(1794742.9)
    assert first.from_address == "3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"
    assert first.to_address == "d551234ae421e3bcba99a0da6d736074f22192ff"
    assert first.timestamp == datetime.fromtimestamp(1560836993, UTC)
    btc = records[2]
    assert (btc.blockchain, btc.symbol, btc.amount) == ("bitcoin", "BTC", 139.24574)
    multi = records[3]
    assert multi.from_address == "Multiple Addresses"
    assert records[4].symbol == "LINK"


async def test_key_goes_in_api_key_query_and_cursor_is_reused():
    """The key is sent as ?api_key=, and the next pass continues from the returned cursor."""
    with ReplayServer() as srv:
        base = srv.mount("whale_alert")
        await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])
        await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])
        first, second = [s for s in srv.seen if s.path.endswith("/transactions")]
    assert first.query["api_key"] == ["test-key"]
    assert first.query["min_value"] == ["500000"]
    assert "start" in first.query and "cursor" not in first.query
    assert second.query["cursor"] == ["b9f81e6-b9f81e6-5d087cbf"]


async def test_missing_key_is_not_called():
    """Without WHALE_ALERT_KEY the provider is not called at all."""
    with ReplayServer() as srv:
        base = srv.mount("whale_alert")
        with pytest.raises(MissingKey):
            await collect_with(whale_alert.PROVIDER, base)
        assert srv.seen == []


async def test_error_result_is_an_upstream_error():
    """A {"result": "error"} answer raises instead of returning no rows."""
    with ReplayServer() as srv:
        base = srv.mount("whale_alert")
        srv.fault(
            "/whale_alert/transactions",
            Fault(body=b'{"result": "error", "message": "invalid api_key"}'),
        )
        with pytest.raises(UpstreamHTTPError):
            await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])
        srv.fault(
            "/whale_alert/transactions",
            Fault(body=b'{"result": "error", "message": "usage limit exceeded"}'),
        )
        with pytest.raises(UpstreamRateLimited):
            await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])


async def test_wrong_shape_is_a_parse_error():
    """Transactions given as an object instead of an array is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("whale_alert")
        srv.fault(
            "/whale_alert/transactions",
            Fault(body=b'{"result": "success", "transactions": {"hash": "x"}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(whale_alert.PROVIDER, base, keys=["test-key"])
