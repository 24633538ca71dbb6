"""Etherscan V2 family (etherscan, bscscan, polygonscan) against documented answers over HTTP."""

import json

import pytest

from cryptohub_desktop.collectors import etherscan
from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from cryptohub_desktop.core.records import BlockStat, GasPrice
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

BY_ID = {p.id: p for p in etherscan.PROVIDERS}
CHAINS = [
    ("etherscan", "1", "ethereum"),
    ("bscscan", "56", "bsc"),
    ("polygonscan", "137", "polygon"),
]

# Documented error answers (https://docs.etherscan.io/resources/common-error-messages).
RATE_LIMITED = {
    "status": "0",
    "message": "NOTOK",
    "result": "Max rate limit reached, please use API Key for higher rate limit",
}
BAD_KEY = {"status": "0", "message": "NOTOK", "result": "Invalid API Key"}
PAID_CHAIN = {
    "status": "0",
    "message": "NOTOK",
    "result": "Free API access is not supported for this chain",
}


@pytest.mark.parametrize(("pid", "chainid", "chain"), CHAINS)
async def test_gas_oracle_and_block_land_for_each_chain(pid, chainid, chain):
    """Each chain's gas oracle (gwei strings) and latest block land as GasPrice + BlockStat."""
    with ReplayServer() as srv:
        base = srv.mount(pid)
        records = await collect_with(BY_ID[pid], base, keys=["test-key"])
        seen = [s for s in srv.seen if s.path == f"/{pid}"]
    gas, block = records
    assert isinstance(gas, GasPrice) and isinstance(block, BlockStat)
    assert gas.blockchain == chain and block.blockchain == chain
    assert gas.gas_price_gwei == pytest.approx(0.496840168)
    assert gas.standard_gas_price == pytest.approx(0.496840168)
    assert gas.fast_gas_price == pytest.approx(0.55411917)
    assert gas.slow_gas_price == pytest.approx(0.496839934)
    assert block.latest_block == 0x1661760 == 23467872
    assert gas.timestamp.tzinfo is not None
    assert len(seen) == 2
    for s in seen:
        assert s.query["apikey"] == ["test-key"]
        assert s.query["chainid"] == [chainid]


async def test_bscscan_takes_the_bscscan_key_as_a_fallback_name():
    """bscscan accepts ETHERSCAN_KEY_1/2 and BSCSCAN_KEY; all of them need a key."""
    auth = BY_ID["bscscan"].spec.auth
    assert auth.key_names == ("ETHERSCAN_KEY_1", "ETHERSCAN_KEY_2", "BSCSCAN_KEY")
    assert all(p.spec.auth.requires_key for p in etherscan.PROVIDERS)
    with pytest.raises(MissingKey):
        await collect_with(BY_ID["bscscan"], "http://127.0.0.1:9/bscscan")


@pytest.mark.parametrize("pid", ["etherscan", "bscscan", "polygonscan"])
async def test_wrong_shape_is_a_parse_error(pid):
    """A gas oracle whose result is a list instead of an object is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount(pid)
        srv.fault(f"/{pid}", Fault(body=b'{"status": "1", "message": "OK", "result": ["1"]}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(BY_ID[pid], base, keys=["test-key"])


async def test_non_hex_block_number_is_a_parse_error():
    """A block number that is neither hex nor an error text is refused."""
    with pytest.raises(UpstreamParseError):
        etherscan.parse_block_number({"jsonrpc": "2.0", "id": 83, "result": 1234}, "ethereum")


async def test_rate_limit_inside_200_is_rate_limited():
    """The NOTOK 'Max rate limit reached' answer (HTTP 200) is reported as rate limited."""
    with ReplayServer() as srv:
        base = srv.mount("etherscan")
        srv.fault("/etherscan", Fault(body=json.dumps(RATE_LIMITED).encode()))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(BY_ID["etherscan"], base, keys=["test-key"])


async def test_invalid_key_inside_200_is_http_401():
    """'Invalid API Key' inside a 200 is an http_4xx error with status 401, never an empty list."""
    with ReplayServer() as srv:
        base = srv.mount("polygonscan")
        srv.fault("/polygonscan", Fault(body=json.dumps(BAD_KEY).encode()))
        with pytest.raises(UpstreamHTTPError) as info:
            await collect_with(BY_ID["polygonscan"], base, keys=["test-key"])
    assert info.value.status == 401 and info.value.error_type == "http_4xx"


async def test_free_key_on_bsc_is_a_plan_error():
    """A free key on BNB Smart Chain ('Free API access is not supported') is http 403."""
    with ReplayServer() as srv:
        base = srv.mount("bscscan")
        srv.fault("/bscscan", Fault(body=json.dumps(PAID_CHAIN).encode()))
        with pytest.raises(UpstreamHTTPError) as info:
            await collect_with(BY_ID["bscscan"], base, keys=["test-key"])
    assert info.value.status == 403


async def test_rate_limit_on_the_proxy_module_is_rate_limited():
    """The proxy module's NOTOK envelope (instead of a JSON-RPC answer) is rate limited too."""
    with pytest.raises(UpstreamRateLimited):
        etherscan.parse_block_number(RATE_LIMITED, "ethereum")
    with pytest.raises(UpstreamHTTPError):
        etherscan.parse_block_number(
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "boom"}}, "ethereum"
        )


async def test_backup_key_is_used_when_the_first_is_rate_limited():
    """'Max rate limit reached' for ETHERSCAN_KEY_1 makes the next call use ETHERSCAN_KEY_2."""
    with ReplayServer() as srv:
        base = srv.mount("etherscan")
        srv.fault("/etherscan", Fault(body=json.dumps(RATE_LIMITED).encode(), times=1))
        records = await collect_with(BY_ID["etherscan"], base, keys=["first-key", "second-key"])
        keys_used = [s.query["apikey"][0] for s in srv.seen]
    assert records
    assert keys_used[:2] == ["first-key", "second-key"]
