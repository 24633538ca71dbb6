"""Blockstream Esplora API: Bitcoin tip height, mempool backlog and fee estimates.

Docs: https://github.com/Blockstream/esplora/blob/master/API.md (base https://blockstream.info/api)

- ``GET /blocks/tip/height``: the height of the last block, as plain text.
- ``GET /mempool``: ``{"count", "vsize", "total_fee", "fee_histogram"}``.
- ``GET /fee-estimates``: ``{"<target blocks>": <sat/vB>, ...}`` for targets 1-25, 144, 504
  and 1008. Fast = 1 block, standard = 6 blocks (about an hour), slow = 144 blocks (a day).

Keyless. Blockstream documents no rate limit for the public instance (it answers 429 when
pushed); the limit declared here is a conservative 2 calls/s and 60 calls/minute
(3 calls per pass).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._esplora import parse_mempool_count, parse_tip_height
from cryptohub_desktop.collectors._parse import as_dict, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import BlockStat, GasPrice
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="blockstream",
    name="Blockstream Esplora",
    category="blockchain_explorers",
    base_url="https://blockstream.info/api",
    docs_url="https://github.com/Blockstream/esplora/blob/master/API.md",
    gives="Bitcoin tip height, mempool transaction count, fee estimates (sat/vB)",
    # Undocumented limits: conservative values, see the module docstring.
    rate_limits=(RateLimit(2, 1), RateLimit(60, 60)),
    tier=2,
)

FAST, STANDARD, SLOW = 1, 6, 144


def _at(estimates: dict[int, float], target: int) -> float:
    """The estimate for ``target`` blocks, else the nearest slower one, else the slowest faster."""
    slower = [t for t in estimates if t >= target]
    return estimates[min(slower)] if slower else estimates[max(estimates)]


def parse_fee_estimates(answer: Any) -> GasPrice | None:
    """``/fee-estimates``: None when the node has no estimates (an empty object)."""
    data = as_dict(answer, "fee-estimates")
    estimates: dict[int, float] = {}
    for key, value in data.items():
        try:
            target = int(key)
        except ValueError as exc:
            raise UpstreamParseError(f"fee-estimates key is not a block count: {key!r}") from exc
        rate = num(value)
        if rate is None or rate < 0:
            raise UpstreamParseError(f"fee-estimates[{key}] is not a fee rate: {value!r}")
        estimates[target] = rate
    if not estimates:
        return None
    standard = _at(estimates, STANDARD)
    return GasPrice(
        blockchain="bitcoin",
        timestamp=utcnow(),
        gas_price_gwei=standard,
        fast_gas_price=_at(estimates, FAST),
        standard_gas_price=standard,
        slow_gas_price=_at(estimates, SLOW),
    )


async def collect(api: Upstream, ctx: Context) -> list[BlockStat | GasPrice]:
    height = parse_tip_height(await api.get_text("/blocks/tip/height"))
    mempool = parse_mempool_count(await api.get_json("/mempool"))
    out: list[BlockStat | GasPrice] = [
        BlockStat(
            blockchain="bitcoin", timestamp=utcnow(), latest_block=height, mempool_size=mempool
        )
    ]
    fees = parse_fee_estimates(await api.get_json("/fee-estimates"))
    if fees is not None:
        out.append(fees)
    return out


PROVIDER = Provider(SPEC, collect)
