"""The Graph (Uniswap v3 subgraph) collector against a recorded factory entity."""

import json

import pytest

from cryptohub_desktop.collectors import thegraph
from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

PATH = "/thegraph/subgraphs/id/5zvR82QoaXYFyDEKLZ9t6v9adgnptxYpKpSbxtgVENFV"


async def test_factory_totals_land_as_uniswap_metrics_from_strings():
    """The factory's string BigDecimals become Uniswap v3 TVL, volume, fees and counts."""
    with ReplayServer() as srv:
        base = srv.mount("thegraph")
        records = await collect_with(thegraph.PROVIDER, base, keys=["test-key"])
    values = {r.metric: r.value for r in records}
    assert {r.chain for r in records} == {"Ethereum"}
    assert values["uniswap_v3_tvl_usd"] == pytest.approx(1523577228461.761271658156460855197)
    assert values["uniswap_v3_volume_usd"] == pytest.approx(916847401937.370607825600628166657)
    assert values["uniswap_v3_fees_usd"] == pytest.approx(1369740249.46500696391926330064492)
    assert values["uniswap_v3_tx_count"] == 29888206
    assert values["uniswap_v3_pool_count"] == 10950


async def test_key_goes_in_bearer_header_and_query_is_graphql():
    """The key is sent as Authorization: Bearer, the body is the factories GraphQL query."""
    with ReplayServer() as srv:
        base = srv.mount("thegraph")
        await collect_with(thegraph.PROVIDER, base, keys=["test-key"])
        (seen,) = srv.seen
    assert seen.method == "POST" and seen.path == PATH
    assert seen.headers["Authorization"] == "Bearer test-key"
    assert "test-key" not in seen.path and not seen.query
    assert "factories(first: 1)" in json.loads(seen.body)["query"]


async def test_missing_key_is_not_called():
    """Without THEGRAPH_KEY the provider is not called at all."""
    with ReplayServer() as srv:
        base = srv.mount("thegraph")
        with pytest.raises(MissingKey):
            await collect_with(thegraph.PROVIDER, base)
        assert srv.seen == []


async def test_graphql_errors_are_upstream_errors():
    """A 200 answer carrying GraphQL errors raises instead of returning no rows."""
    with ReplayServer() as srv:
        base = srv.mount("thegraph")
        srv.fault(PATH, Fault(body=b'{"errors": [{"message": "auth error: malformed API key"}]}'))
        with pytest.raises(UpstreamHTTPError) as err:
            await collect_with(thegraph.PROVIDER, base, keys=["test-key"])
        assert err.value.error_type == "http_4xx"
        srv.fault(PATH, Fault(body=b'{"errors": [{"message": "rate limit exceeded"}]}'))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(thegraph.PROVIDER, base, keys=["test-key"])


async def test_wrong_shape_is_a_parse_error():
    """Factories given as an object instead of a list is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("thegraph")
        srv.fault(PATH, Fault(body=b'{"data": {"factories": {"txCount": "1"}}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(thegraph.PROVIDER, base, keys=["test-key"])
