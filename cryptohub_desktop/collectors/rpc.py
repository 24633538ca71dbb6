"""Public and keyed RPC nodes: block height and response time per node (category rpc_nodes).

EVM nodes answer JSON-RPC ``eth_blockNumber`` (``{"jsonrpc": "2.0", "id": 1, "result": "0x.."}``,
https://ethereum.org/en/developers/docs/apis/json-rpc/#eth_blocknumber); TronGrid answers
the TRON HTTP API ``POST /wallet/getnowblock`` (``block_header.raw_data.number``,
https://developers.tron.network/reference/getnowblock). Each pass makes ONE call per node
and records the height, the chain (the store computes each node's lag behind the chain's
best height) and the time the call took (including any wait for our own rate limiter).

Keys in the URL path: Infura ``https://mainnet.infura.io/v3/<INFURA_KEY>``, Alchemy
``https://eth-mainnet.g.alchemy.com/v2/<ALCHEMY_KEY>``, and Ankr
``https://rpc.ankr.com/eth/<ANKR_KEY>``: since 2025 Ankr answers keyless calls with the
JSON-RPC error -32000 "Unauthorized: You must authenticate your request with an API key"
(a free key is available), so Ankr needs ``ANKR_KEY`` here: without it the node is shown
as "needs key" and is not called, instead of failing on every pass.

State of the public endpoints, as reported publicly: cloudflare-eth.com no longer serves
requests (JSON-RPC error -32046 "Cannot fulfill request", reported as http 410): the
provider stays in the catalogue, disabled by default (enable it or point its base_url at a
mirror). polygon-rpc.com answers unauthenticated calls with HTTP 401 "tenant disabled"
since 2026, so ``polygon_rpc`` uses PublicNode's keyless Polygon PoS endpoint.

Rate limits: Ankr public 30 req/s; Infura free 3,000,000 credits/day and 500 credits/s at
80 credits per eth_blockNumber; Alchemy free 330 compute units/s at 10 CU per
eth_blockNumber; BNB Chain data seeds 10,000 requests per 5 minutes. Cloudflare, PublicNode,
LlamaRPC, polygon-rpc.com and keyless TronGrid document no figure: a conservative
2 calls/s and 60 calls/minute is declared for them.
"""

from __future__ import annotations

import time
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, field, hex_int
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import NodeStatus
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import NO_AUTH, Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

#: For endpoints that publish no limit (see the module docstring).
UNDOCUMENTED = (RateLimit(2, 1), RateLimit(60, 60))

_RATE_WORDS = (
    "rate limit",
    "too many requests",
    "limit exceeded",
    "exceeds the frequency",
    "frequency limit",
    "capacity exceeded",
)
_AUTH_WORDS = ("unauthorized", "api key", "tenant disabled", "authenticate")
_GONE_WORDS = ("cannot fulfill request",)


def _classify(message: str, source: str) -> None:
    """Raise the UpstreamError a node's error message stands for (returns if unknown)."""
    low = message.lower()
    text = f"{source}: {message}"
    if any(w in low for w in _RATE_WORDS):
        raise UpstreamRateLimited(text)
    if any(w in low for w in _AUTH_WORDS):
        raise UpstreamHTTPError(text, status=401)
    if any(w in low for w in _GONE_WORDS):
        raise UpstreamHTTPError(text, status=410)


def parse_block_number(result: Any) -> int:
    """The ``result`` of ``eth_blockNumber``: a hex quantity."""
    return hex_int(result, "eth_blockNumber result")


def parse_now_block(answer: Any) -> int:
    """``/wallet/getnowblock``: ``block_header.raw_data.number``."""
    data = as_dict(answer, "getnowblock")
    error = data.get("Error") or data.get("error")
    if error and "block_header" not in data:
        _classify(str(error), "TronGrid")
        raise UpstreamHTTPError(f"TronGrid: {error}", status=400)
    header = as_dict(field(data, "block_header", "getnowblock"), "block_header")
    raw = as_dict(field(header, "raw_data", "block_header"), "block_header.raw_data")
    number = field(raw, "number", "block_header.raw_data")
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise UpstreamParseError(f"block_header.raw_data.number is not a height: {number!r}")
    return number


async def _timed(call) -> tuple[Any, float]:
    t0 = time.perf_counter()
    answer = await call
    return answer, (time.perf_counter() - t0) * 1000.0


def _evm_collect(chain: str, key_in_path: bool):
    async def collect(api: Upstream, ctx: Context) -> list[NodeStatus]:
        path = "/{key}" if key_in_path and api.key else ""
        try:
            result, ms = await _timed(api.rpc("eth_blockNumber", path=path))
        except UpstreamHTTPError as exc:
            if str(exc).startswith("JSON-RPC error"):
                _classify(str(exc), api.spec.name)
            raise
        return [
            NodeStatus(
                chain=chain,
                block_height=parse_block_number(result),
                timestamp=utcnow(),
                response_time_ms=ms,
            )
        ]

    return collect


async def _tron_collect(api: Upstream, ctx: Context) -> list[NodeStatus]:
    answer, ms = await _timed(api.post_json("/wallet/getnowblock", {}))
    return [
        NodeStatus(
            chain="tron",
            block_height=parse_now_block(answer),
            timestamp=utcnow(),
            response_time_ms=ms,
        )
    ]


def _spec(
    pid: str,
    name: str,
    base_url: str,
    docs_url: str,
    chain: str,
    *,
    auth: Auth = NO_AUTH,
    limits: tuple[RateLimit, ...] = UNDOCUMENTED,
    tier: int = 2,
    enabled_by_default: bool = True,
) -> ProviderSpec:
    return ProviderSpec(
        id=pid,
        name=name,
        category="rpc_nodes",
        base_url=base_url,
        docs_url=docs_url,
        gives=f"{chain} node block height and response time",
        auth=auth,
        rate_limits=limits,
        tier=tier,
        enabled_by_default=enabled_by_default,
    )


def _evm(pid: str, name: str, base_url: str, docs_url: str, chain: str, **kw: Any) -> Provider:
    spec = _spec(pid, name, base_url, docs_url, chain, **kw)
    return Provider(spec, _evm_collect(chain, key_in_path=spec.auth.kind == "path"))


def _path_key(name: str, url: str, *, optional: bool = False) -> Auth:
    return Auth(kind="path", key_names=(name,), key_url=url, optional=optional)


ETH = "ethereum"
PROVIDERS = [
    _evm("ankr", "Ankr", "https://rpc.ankr.com/eth",
         "https://www.ankr.com/docs/rpc-service/chains/chains-list/", ETH,
         auth=_path_key("ANKR_KEY", "https://www.ankr.com/rpc/"),
         limits=(RateLimit(30, 1),)),
    _evm("cloudflare_eth", "Cloudflare Ethereum Gateway", "https://cloudflare-eth.com",
         "https://developers.cloudflare.com/web3/ethereum-gateway/", ETH, tier=3,
         enabled_by_default=False),
    _evm("publicnode_eth", "PublicNode Ethereum", "https://ethereum-rpc.publicnode.com",
         "https://ethereum-rpc.publicnode.com", ETH, tier=1),
    _evm("llamarpc", "LlamaRPC", "https://eth.llamarpc.com", "https://llamarpc.com", ETH),
    _evm("infura", "Infura", "https://mainnet.infura.io/v3",
         "https://docs.metamask.io/services/reference/ethereum/json-rpc-methods/eth_blocknumber/",
         ETH, auth=_path_key("INFURA_KEY", "https://developer.metamask.io/register"),
         limits=(RateLimit(6, 1), RateLimit(37_500, 86400)), tier=1),
    _evm("alchemy", "Alchemy", "https://eth-mainnet.g.alchemy.com/v2",
         "https://www.alchemy.com/docs/reference/eth-blocknumber", ETH,
         auth=_path_key("ALCHEMY_KEY", "https://dashboard.alchemy.com/signup"),
         limits=(RateLimit(33, 1),), tier=1),
    _evm("bsc_dataseed", "BNB Chain data seed", "https://bsc-dataseed.bnbchain.org",
         "https://docs.bnbchain.org/bnb-smart-chain/developers/json_rpc/json-rpc-endpoint/",
         "bsc", limits=(RateLimit(10_000, 300),)),
    _evm("polygon_rpc", "Polygon PoS RPC (PublicNode)", "https://polygon-bor-rpc.publicnode.com",
         "https://docs.polygon.technology/pos/reference/rpc-endpoints/", "polygon"),
    Provider(_spec("trongrid", "TronGrid", "https://api.trongrid.io",
                   "https://developers.tron.network/reference/getnowblock", "tron"),
             _tron_collect),
]  # fmt: skip
