"""mempool.space REST API: Bitcoin recommended fees, tip height and mempool backlog.

Docs: https://mempool.space/docs/api/rest (base https://mempool.space/api)

- ``GET /v1/fees/recommended``: ``{"fastestFee", "halfHourFee", "hourFee", "economyFee",
  "minimumFee"}`` in sat/vB. Fast = fastestFee (next block), standard = halfHourFee,
  slow = hourFee.
- ``GET /blocks/tip/height``: the height of the last block, as plain text.
- ``GET /mempool``: ``{"count", "vsize", "total_fee", "fee_histogram"}``.

Keyless. mempool.space publishes no figure for its public API's rate limit (heavy users
are sent to self-hosting or an enterprise plan; it answers 429 when exceeded); the limit
declared here is a conservative 2 calls/s and 60 calls/minute (3 calls per pass).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._esplora import parse_mempool_count, parse_tip_height
from cryptohub_desktop.collectors._parse import as_dict, req_num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import BlockStat, GasPrice
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="mempool_space",
    name="mempool.space",
    category="blockchain_explorers",
    base_url="https://mempool.space/api",
    docs_url="https://mempool.space/docs/api/rest",
    gives="Bitcoin recommended fees (sat/vB), tip height, mempool transaction count",
    # Undocumented limits: conservative values, see the module docstring.
    rate_limits=(RateLimit(2, 1), RateLimit(60, 60)),
    tier=1,
)


def parse_recommended_fees(answer: Any) -> GasPrice:
    """``/v1/fees/recommended`` as a bitcoin GasPrice in sat/vB."""
    data = as_dict(answer, "fees")
    fastest = req_num(data.get("fastestFee"), "fastestFee")
    half_hour = req_num(data.get("halfHourFee"), "halfHourFee")
    hour = req_num(data.get("hourFee"), "hourFee")
    for name, value in (("fastestFee", fastest), ("halfHourFee", half_hour), ("hourFee", hour)):
        if value < 0:
            raise UpstreamParseError(f"{name} is negative: {value}")
    return GasPrice(
        blockchain="bitcoin",
        timestamp=utcnow(),
        gas_price_gwei=half_hour,
        fast_gas_price=fastest,
        standard_gas_price=half_hour,
        slow_gas_price=hour,
    )


async def collect(api: Upstream, ctx: Context) -> list[GasPrice | BlockStat]:
    fees = parse_recommended_fees(await api.get_json("/v1/fees/recommended"))
    height = parse_tip_height(await api.get_text("/blocks/tip/height"))
    mempool = parse_mempool_count(await api.get_json("/mempool"))
    return [
        fees,
        BlockStat(
            blockchain="bitcoin", timestamp=utcnow(), latest_block=height, mempool_size=mempool
        ),
    ]


PROVIDER = Provider(SPEC, collect)
