"""The Graph: Uniswap v3 (Ethereum) protocol totals from its subgraph, via the gateway.

Endpoint: POST https://gateway.thegraph.com/api/subgraphs/id/<subgraph id> with a
GraphQL body; the API key goes in the ``Authorization: Bearer <key>`` header.
Docs: https://thegraph.com/docs/en/subgraphs/querying/introduction/ and
https://thegraph.com/docs/en/subgraphs/querying/managing-api-keys/
Subgraph: Uniswap v3 on Ethereum, id 5zvR82QoaXYFyDEKLZ9t6v9adgnptxYpKpSbxtgVENFV
(option ``subgraph_id`` overrides). Factory entity:
https://developers.uniswap.org/docs/ecosystem/subgraphs/concepts/v3/entities
Free plan: 100,000 queries per month, declared as such.

GraphQL errors arrive with HTTP 200 as ``{"errors": [{"message": ...}]}``; they are
raised, never turned into an empty result. BigInt/BigDecimal values are strings.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import OnchainMetric
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="thegraph",
    name="The Graph (Uniswap v3 subgraph)",
    category="onchain_analytics",
    base_url="https://gateway.thegraph.com/api",
    docs_url="https://thegraph.com/docs/en/subgraphs/querying/introduction/",
    gives="Uniswap v3 TVL, all-time volume, fees, transaction and pool counts",
    auth=Auth(
        kind="header",
        param="Authorization",
        prefix="Bearer ",
        key_names=("THEGRAPH_KEY",),
        key_url="https://thegraph.com/studio/apikeys/",
    ),
    rate_limits=(RateLimit(100_000, 30 * 86400),),
    tier=2,
)

UNISWAP_V3_SUBGRAPH = "5zvR82QoaXYFyDEKLZ9t6v9adgnptxYpKpSbxtgVENFV"
FACTORY_FIELDS = "totalValueLockedUSD totalVolumeUSD totalFeesUSD txCount poolCount"
QUERY = f"{{ factories(first: 1) {{ {FACTORY_FIELDS} }} }}"
#: subgraph field -> stored metric name
FIELDS = {
    "totalValueLockedUSD": "uniswap_v3_tvl_usd",
    "totalVolumeUSD": "uniswap_v3_volume_usd",
    "totalFeesUSD": "uniswap_v3_fees_usd",
    "txCount": "uniswap_v3_tx_count",
    "poolCount": "uniswap_v3_pool_count",
}
CHAIN = "Ethereum"


def check_errors(answer: Any) -> dict[str, Any]:
    """The ``data`` object, or the GraphQL ``errors`` raised as an upstream error."""
    body = as_dict(answer)
    errors = body.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) else errors
        message = str(first.get("message", first) if isinstance(first, dict) else first)
        low = message.lower()
        if "rate limit" in low or "too many" in low:
            raise UpstreamRateLimited(f"The Graph: {message}", status=429)
        status = 401 if ("auth" in low or "api key" in low) else 400
        raise UpstreamHTTPError(f"The Graph GraphQL error: {message}", status=status)
    if body.get("data") is None:
        raise UpstreamParseError("GraphQL answer has neither data nor errors")
    return as_dict(body["data"], "data")


def parse_factories(answer: Any) -> list[OnchainMetric]:
    data = check_errors(answer)
    factories = as_list(data.get("factories"), "data.factories")
    if not factories:
        raise UpstreamParseError("the subgraph returned no factory")
    factory = as_dict(factories[0], "factories[0]")
    now = utcnow()
    return [
        OnchainMetric(
            metric=name,
            chain=CHAIN,
            timestamp=now,
            value=req_num(factory.get(field), f"factories[0].{field}"),
        )
        for field, name in FIELDS.items()
    ]


async def collect(api: Upstream, ctx: Context) -> list[OnchainMetric]:
    subgraph = str(ctx.options.get("subgraph_id", UNISWAP_V3_SUBGRAPH))
    answer = await api.post_json(f"/subgraphs/id/{subgraph}", {"query": QUERY})
    return parse_factories(answer)


PROVIDER = Provider(SPEC, collect)
