"""RPC node collectors (EVM eth_blockNumber, TronGrid getnowblock) against documented answers."""

import json

import pytest

from cryptohub_desktop.collectors import rpc
from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from cryptohub_desktop.core.records import NodeStatus
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

BY_ID = {p.id: p for p in rpc.PROVIDERS}
KEYLESS_EVM = [
    ("cloudflare_eth", "ethereum"),
    ("publicnode_eth", "ethereum"),
    ("llamarpc", "ethereum"),
    ("bsc_dataseed", "bsc"),
    ("polygon_rpc", "polygon"),
]
KEYED_EVM = ["infura", "alchemy", "ankr"]
ALL_EVM = [pid for pid, _ in KEYLESS_EVM] + KEYED_EVM


def _rpc_body(seen) -> dict:
    return json.loads(seen.body)


@pytest.mark.parametrize(("pid", "chain"), KEYLESS_EVM)
async def test_keyless_node_reports_its_height_and_latency(pid, chain):
    """A keyless EVM node's eth_blockNumber answer (0x4b7) becomes NodeStatus 1207 on its chain."""
    with ReplayServer() as srv:
        base = srv.mount(pid)
        (node,) = await collect_with(BY_ID[pid], base)
        (seen,) = srv.seen
    assert isinstance(node, NodeStatus)
    assert (node.chain, node.block_height) == (chain, 1207)
    assert node.response_time_ms is not None and node.response_time_ms >= 0
    assert node.timestamp.tzinfo is not None
    assert seen.method == "POST" and seen.path == f"/{pid}"
    assert _rpc_body(seen)["method"] == "eth_blockNumber"


@pytest.mark.parametrize("pid", KEYED_EVM)
async def test_keyed_node_puts_the_key_in_the_path(pid):
    """Infura / Alchemy / Ankr get the key appended to the URL path and report the node height."""
    with ReplayServer() as srv:
        base = srv.mount(pid)
        (node,) = await collect_with(BY_ID[pid], base, keys=["test-key"])
        (seen,) = srv.seen
    assert (node.chain, node.block_height) == ("ethereum", 1207)
    assert seen.path == f"/{pid}/test-key"


@pytest.mark.parametrize("pid", KEYED_EVM)
async def test_keyed_node_without_key_is_not_called(pid):
    """Without INFURA_KEY / ALCHEMY_KEY / ANKR_KEY the node is 'needs key' and no request is sent."""
    with ReplayServer() as srv:
        base = srv.mount(pid)
        with pytest.raises(MissingKey):
            await collect_with(BY_ID[pid], base)
        assert srv.seen == []


async def test_ankr_unauthorized_answer_is_http_401():
    """Ankr's keyless 'Unauthorized ... API key' JSON-RPC error is http 401, not a row."""
    body = {
        "jsonrpc": "2.0",
        "error": {
            "code": -32000,
            "message": (
                "Unauthorized: You must authenticate your request with an API key. Create an account on "
                "https://www.ankr.com/rpc/ and generate your personal API key for free."
            ),
        },
        "id": None,
    }
    with ReplayServer() as srv:
        base = srv.mount("ankr")
        srv.fault("/ankr", Fault(body=json.dumps(body).encode()))
        with pytest.raises(UpstreamHTTPError) as info:
            await collect_with(BY_ID["ankr"], base, keys=["test-key"])
    assert info.value.status == 401


async def test_deprecated_cloudflare_gateway_is_http_410():
    """cloudflare-eth.com's 'Cannot fulfill request' (-32046) is reported as gone (410)."""
    with ReplayServer() as srv:
        base = srv.mount("cloudflare_eth")
        srv.fault(
            "/cloudflare_eth",
            Fault(body=b'{"error":{"code":-32046,"message":"Cannot fulfill request"}}'),
        )
        with pytest.raises(UpstreamHTTPError) as info:
            await collect_with(BY_ID["cloudflare_eth"], base)
    assert info.value.status == 410


async def test_json_rpc_rate_limit_error_is_rate_limited():
    """A JSON-RPC error saying the rate limit was exceeded is rate_limited, not http_4xx."""
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limit exceeded"}}'
    with ReplayServer() as srv:
        base = srv.mount("publicnode_eth")
        srv.fault("/publicnode_eth", Fault(body=body))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(BY_ID["publicnode_eth"], base)


@pytest.mark.parametrize("pid", ALL_EVM)
async def test_wrong_shape_is_a_parse_error(pid):
    """A block number that is not a hex quantity is a parse error, not a row."""
    keys = ["test-key"] if pid in KEYED_EVM else []
    prefix = f"/{pid}/test-key" if keys else f"/{pid}"
    with ReplayServer() as srv:
        base = srv.mount(pid)
        srv.fault(prefix, Fault(body=b'{"jsonrpc":"2.0","id":1,"result":1207}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(BY_ID[pid], base, keys=keys)


async def test_trongrid_now_block_gives_the_tron_height():
    """TronGrid's getnowblock answer becomes NodeStatus on chain tron at raw_data.number."""
    with ReplayServer() as srv:
        base = srv.mount("trongrid")
        (node,) = await collect_with(BY_ID["trongrid"], base)
        (seen,) = srv.seen
    assert (node.chain, node.block_height) == ("tron", 66987627)
    assert node.response_time_ms is not None
    assert seen.method == "POST" and seen.path == "/trongrid/wallet/getnowblock"


async def test_trongrid_wrong_shape_is_a_parse_error():
    """An empty getnowblock answer ({} = no block) or a string height is a parse error."""
    with ReplayServer() as srv:
        base = srv.mount("trongrid")
        srv.fault("/trongrid/wallet/getnowblock", Fault(body=b"{}"))
        with pytest.raises(UpstreamParseError):
            await collect_with(BY_ID["trongrid"], base)
    with pytest.raises(UpstreamParseError):
        rpc.parse_now_block({"block_header": {"raw_data": {"number": "66987627"}}})


async def test_trongrid_frequency_limit_is_rate_limited():
    """TronGrid's 'exceeds the frequency limit' Error answer is rate_limited; other Errors 4xx."""
    with pytest.raises(UpstreamRateLimited):
        rpc.parse_now_block(
            {
                "Error": "The key exceeds the frequency limit(30), and the query "
                "server is suspended for 30s"
            }
        )
    with pytest.raises(UpstreamHTTPError):
        rpc.parse_now_block({"Error": "class java.lang.NullPointerException : null"})


def test_every_node_declares_chain_limits_and_category():
    """All nine rpc_nodes providers exist with the catalogue ids and declared rate limits."""
    assert list(BY_ID) == [
        "ankr",
        "cloudflare_eth",
        "publicnode_eth",
        "llamarpc",
        "infura",
        "alchemy",
        "bsc_dataseed",
        "polygon_rpc",
        "trongrid",
    ]
    for p in rpc.PROVIDERS:
        assert p.spec.category == "rpc_nodes" and p.spec.rate_limits
    assert BY_ID["infura"].spec.auth.key_names == ("INFURA_KEY",)
    assert BY_ID["alchemy"].spec.auth.key_names == ("ALCHEMY_KEY",)
