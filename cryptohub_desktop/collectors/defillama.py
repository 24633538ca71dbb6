"""DefiLlama: current TVL of every chain (GET /v2/chains).

Docs: https://api-docs.defillama.com/ (free API, "/v2/chains": gecko_id, tvl, tokenSymbol,
cmcId, name, chainId per chain; numbers are JSON numbers, ids may be null, chainId may be
a number, a string or null).
Keyless. DefiLlama documents no numeric limit for the free API; a conservative
30 calls per minute is declared.

Rows: ``tvl_usd`` for the ``top`` (option, default 50) chains by TVL, and the DeFi total
over every listed chain as chain ``All``.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import OnchainMetric
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="defillama",
    name="DefiLlama",
    category="onchain_analytics",
    base_url="https://api.llama.fi",
    docs_url="https://api-docs.defillama.com/",
    gives="total value locked per chain and in all of DeFi",
    rate_limits=(RateLimit(30, 60),),
    tier=1,
)

DEFAULT_TOP = 50
TOTAL_CHAIN = "All"


def parse_chains(answer: Any, top: int = DEFAULT_TOP) -> list[OnchainMetric]:
    """``/v2/chains``: TVL of the ``top`` chains plus the total of all chains."""
    now = utcnow()
    chains: list[tuple[str, float]] = []
    for i, raw in enumerate(as_list(answer)):
        row = as_dict(raw, f"[{i}]")
        name = row.get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamParseError(f"[{i}] has no chain name")
        if "tvl" not in row:
            raise UpstreamParseError(f"[{i}] ({name}) has no tvl")
        tvl = num(row["tvl"])
        if tvl is not None:
            chains.append((name, tvl))
    if not chains:
        raise UpstreamParseError("no chain with a TVL in /v2/chains")
    chains.sort(key=lambda c: c[1], reverse=True)
    out = [
        OnchainMetric(metric="tvl_usd", chain=name, value=tvl, timestamp=now)
        for name, tvl in chains[:top]
    ]
    out.append(
        OnchainMetric(
            metric="tvl_usd", chain=TOTAL_CHAIN, value=sum(t for _, t in chains), timestamp=now
        )
    )
    return out


async def collect(api: Upstream, ctx: Context) -> list[OnchainMetric]:
    top = max(1, int(ctx.options.get("top", DEFAULT_TOP)))
    return parse_chains(await api.get_json("/v2/chains"), top)


PROVIDER = Provider(SPEC, collect)
