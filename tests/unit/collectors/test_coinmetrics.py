"""Coin Metrics community collector against a recorded asset-metrics answer."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinmetrics
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

PATH = "/coinmetrics/timeseries/asset-metrics"


async def test_string_metrics_land_as_bitcoin_rows():
    """The recorded answer's string values become Bitcoin active addresses, txs, market cap."""
    with ReplayServer() as srv:
        base = srv.mount("coinmetrics")
        records = await collect_with(coinmetrics.PROVIDER, base)
        (seen,) = srv.seen
    values = {(r.chain, r.metric): r.value for r in records}
    assert values == {
        ("Bitcoin", "active_addresses"): 595445,
        ("Bitcoin", "tx_count"): 661420,
        ("Bitcoin", "market_cap_usd"): pytest.approx(1348806897572.94),
    }
    assert {r.timestamp for r in records} == {datetime(2026, 2, 17, tzinfo=UTC)}
    assert seen.query["assets"] == ["btc,eth"]
    assert seen.query["metrics"] == ["AdrActCnt,TxCnt,CapMrktCurUSD"]
    assert seen.query["frequency"] == ["1d"]
    assert seen.query["paging_from"] == ["end"]


async def test_newest_non_null_value_wins_per_asset_and_metric():
    """A newer day with a null (not computed yet) keeps the older value; newer values win."""
    body = {
        "data": [
            {
                "asset": "eth",
                "time": "2026-02-16T00:00:00.000000000Z",
                "AdrActCnt": "100",
                "TxCnt": "10",
            },
            {
                "asset": "eth",
                "time": "2026-02-17T00:00:00.000000000Z",
                "AdrActCnt": "200",
                "TxCnt": None,
            },
        ]
    }
    with ReplayServer() as srv:
        base = srv.mount("coinmetrics")
        srv.fault(PATH, Fault(body=json.dumps(body).encode()))
        records = await collect_with(coinmetrics.PROVIDER, base)
    values = {(r.chain, r.metric): (r.value, r.timestamp.day) for r in records}
    assert values == {
        ("Ethereum", "active_addresses"): (200, 17),
        ("Ethereum", "tx_count"): (10, 16),
    }


async def test_api_error_object_is_an_upstream_error():
    """A Coin Metrics {"error": {...}} answer raises instead of returning no rows."""
    body = b'{"error": {"type": "bad_parameter", "message": "Bad parameter \'metrics\'."}}'
    with ReplayServer() as srv:
        base = srv.mount("coinmetrics")
        srv.fault(PATH, Fault(body=body))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(coinmetrics.PROVIDER, base)


async def test_wrong_shape_is_a_parse_error():
    """Data given as an object instead of an array is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("coinmetrics")
        srv.fault(PATH, Fault(body=b'{"data": {"asset": "btc"}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(coinmetrics.PROVIDER, base)
