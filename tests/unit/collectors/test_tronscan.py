"""TRONSCAN collector against a recorded /api/system/status answer, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import tronscan
from cryptohub_desktop.core.errors import UpstreamParseError, UpstreamRateLimited
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_status_gives_the_tron_head_block():
    """The chain status answer becomes one TRON BlockStat at the full node's head."""
    with ReplayServer() as srv:
        base = srv.mount("tronscan")
        (stat,) = await collect_with(tronscan.PROVIDER, base)
        (seen,) = srv.seen
    assert stat.blockchain == "tron"
    assert stat.latest_block == 56095588
    assert stat.total_transactions is None
    assert not any(k.lower() == "tron-pro-api-key" for k in seen.headers)  # keyless works


async def test_optional_key_goes_in_the_tron_pro_header():
    """With a key configured it is sent in the TRON-PRO-API-KEY header."""
    assert not tronscan.SPEC.auth.requires_key
    with ReplayServer() as srv:
        base = srv.mount("tronscan")
        await collect_with(tronscan.PROVIDER, base, keys=["test-key"])
        (seen,) = srv.seen
    assert seen.headers["TRON-PRO-API-KEY"] == "test-key"


async def test_database_head_is_used_without_full_node_and_strings_are_read():
    """Without a full-node head the explorer database head (even as a string) is the block."""
    stat = tronscan.parse_status({"database": {"block": "56095588", "confirmedBlock": 1}})
    assert stat.latest_block == 56095588


async def test_wrong_shape_is_a_parse_error():
    """A status whose block is not a number is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("tronscan")
        srv.fault(
            "/tronscan/api/system/status",
            Fault(body=b'{"database": {"block": [1]}, "full": {"block": 1.5}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(tronscan.PROVIDER, base)


async def test_missing_heads_and_testnet_are_refused():
    """An answer with no head, or one for a testnet, never becomes a TRON mainnet row."""
    with pytest.raises(UpstreamParseError):
        tronscan.parse_status({"sync": {"progress": 100}})
    with pytest.raises(UpstreamParseError):
        tronscan.parse_status({"network": {"type": "nile"}, "full": {"block": 5}})


async def test_rate_limit_message_inside_200_is_rate_limited():
    """An error object mentioning a limit (instead of the status) is reported as rate limited."""
    with pytest.raises(UpstreamRateLimited):
        tronscan.parse_status({"Error": "request rate exceeds the allowed limit"})
