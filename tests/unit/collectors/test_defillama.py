"""DefiLlama collector against a recorded /v2/chains answer, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import defillama
from cryptohub_desktop.core.errors import UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

TVLS = [
    941069852.3971969,
    52875523609.47606,
    990422914.845172,
    6485387194.818199,
    274581563.15293664,
    2166649789.245877,
    1927654.0951953873,
    108001661.13286294,
    5775598597.230471,
    0,
    0,
]


async def test_chains_land_as_tvl_rows_sorted_with_total():
    """Each chain's TVL becomes a tvl_usd row (largest first) and the sum lands as chain All."""
    with ReplayServer() as srv:
        base = srv.mount("defillama")
        records = await collect_with(defillama.PROVIDER, base)
    assert all(r.metric == "tvl_usd" for r in records)
    by_chain = {r.chain: r.value for r in records}
    assert records[0].chain == "Ethereum"
    assert by_chain["Ethereum"] == pytest.approx(52875523609.47606)
    assert by_chain["Arbitrum"] == pytest.approx(990422914.845172)  # null ids are fine
    assert by_chain["Evmos"] == pytest.approx(1927654.0951953873)  # chainId as a string
    assert by_chain["zkSync"] == 0
    assert by_chain["All"] == pytest.approx(sum(TVLS))
    assert len(records) == 12


async def test_top_option_limits_the_chains_but_not_the_total():
    """With top=2 only Ethereum and BSC are listed; All still sums every chain."""
    with ReplayServer() as srv:
        base = srv.mount("defillama")
        records = await collect_with(defillama.PROVIDER, base, options={"top": 2})
    assert [r.chain for r in records] == ["Ethereum", "BSC", "All"]
    assert records[-1].value == pytest.approx(sum(TVLS))


async def test_wrong_shape_is_a_parse_error():
    """An object where the array of chains belongs is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("defillama")
        srv.fault("/defillama/v2/chains", Fault(body=b'{"name": "Ethereum", "tvl": 1}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(defillama.PROVIDER, base)
