"""Etherscan V2 multichain API: gas oracle and latest block for Ethereum, BSC and Polygon.

One base URL serves every chain, selected by ``chainid``
(``GET https://api.etherscan.io/v2/api?chainid=..&module=..&action=..&apikey=..``):

- ``module=gastracker&action=gasoracle``: Safe/Propose/Fast gas price (gwei, as strings)
  https://docs.etherscan.io/api-reference/endpoint/gasoracle
- ``module=proxy&action=eth_blockNumber``: the latest block, JSON-RPC shaped ("0x...")
  https://docs.etherscan.io/api-reference/endpoint/ethblocknumber

Keys: one Etherscan key serves every chain (``ETHERSCAN_KEY_1``, backup ``ETHERSCAN_KEY_2``;
``BSCSCAN_KEY`` is accepted for bscscan). Free plan (https://docs.etherscan.io/rate-limits):
3 calls/second and 100,000 calls/day, counted per account across all chains, and on
"selected chains only" (https://docs.etherscan.io/supported-chains): Ethereum (1) and
Polygon (137) are covered, BNB Smart Chain (56) is NOT ("Free API access is not supported
for this chain"), so bscscan needs a paid plan. The gas oracle itself is documented for
Ethereum, BSC, Polygon and a few other chains.

Errors arrive inside a 200 as ``{"status": "0", "message": "NOTOK", "result": "<reason>"}``
(https://docs.etherscan.io/resources/common-error-messages); the proxy module answers
JSON-RPC style, with the same NOTOK envelope when rate limited.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, field, hex_int, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamRateLimited
from cryptohub_desktop.core.records import BlockStat, GasPrice
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

BASE_URL = "https://api.etherscan.io/v2/api"
DOCS_URL = "https://docs.etherscan.io/"
KEY_URL = "https://etherscan.io/myapikey"
#: Free plan: 3 calls/s, 100k calls/day (https://docs.etherscan.io/rate-limits).
FREE_LIMITS = (RateLimit(3, 1), RateLimit(100_000, 86400))

#: Lower-case fragments of the documented ``result`` texts, by what they mean.
_RATE_LIMITED = ("rate limit", "max calls per sec", "too many invalid api key attempts")
_BAD_KEY = ("invalid api key", "missing/invalid api key", "missing or invalid api key")
_PAID_ONLY = ("free api access is not supported", "upgrade your api plan")
_BUSY = ("temporarily unavailable",)


def raise_api_error(answer: dict[str, Any]) -> None:
    """Raise the UpstreamError that a ``status: "0"`` answer stands for."""
    result = answer.get("result")
    reason = result if isinstance(result, str) and result else answer.get("message")
    text = f"Etherscan: {reason or 'NOTOK'}"
    low = str(reason).lower() + " " + str(answer.get("message", "")).lower()
    if any(m in low for m in _RATE_LIMITED):
        raise UpstreamRateLimited(text, retry_after=1.0)
    if any(m in low for m in _BAD_KEY):
        raise UpstreamHTTPError(text, status=401)
    if any(m in low for m in _PAID_ONLY):
        raise UpstreamHTTPError(text, status=403)
    if any(m in low for m in _BUSY):
        raise UpstreamHTTPError(text, status=503)
    raise UpstreamHTTPError(text, status=400)


def _checked(answer: Any) -> dict[str, Any]:
    data = as_dict(answer)
    if str(data.get("status", "1")) == "0":
        raise_api_error(data)
    return data


def parse_gas_oracle(answer: Any, blockchain: str) -> GasPrice:
    """``module=gastracker&action=gasoracle``: gwei values given as strings."""
    result = as_dict(field(_checked(answer), "result"), "result")
    propose = req_num(result.get("ProposeGasPrice"), "result.ProposeGasPrice")
    return GasPrice(
        blockchain=blockchain,
        timestamp=utcnow(),
        gas_price_gwei=propose,
        fast_gas_price=req_num(result.get("FastGasPrice"), "result.FastGasPrice"),
        standard_gas_price=propose,
        slow_gas_price=req_num(result.get("SafeGasPrice"), "result.SafeGasPrice"),
    )


def parse_block_number(answer: Any, blockchain: str) -> BlockStat:
    """``module=proxy&action=eth_blockNumber``: ``{"jsonrpc": "2.0", "id": 83, "result": "0x.."}``."""
    data = _checked(answer)
    error = data.get("error")
    if error is not None:
        message = error.get("message", error) if isinstance(error, dict) else error
        raise_api_error({"status": "0", "message": "NOTOK", "result": str(message)})
    result = field(data, "result")
    if isinstance(result, str) and not result.startswith(("0x", "0X")):
        # an error text in place of the quantity (e.g. an invalid key on the proxy module)
        raise_api_error({"status": "0", "message": "NOTOK", "result": result})
    return BlockStat(
        blockchain=blockchain, timestamp=utcnow(), latest_block=hex_int(result, "result")
    )


def _make_collect(chainid: int, blockchain: str):
    async def collect(api: Upstream, ctx: Context) -> list[GasPrice | BlockStat]:
        gas = await api.get_json(
            "", {"chainid": str(chainid), "module": "gastracker", "action": "gasoracle"},
            check=_checked,  # "Max rate limit reached" in a 200: try the backup key
        )
        records: list[GasPrice | BlockStat] = [parse_gas_oracle(gas, blockchain)]
        block = await api.get_json(
            "", {"chainid": str(chainid), "module": "proxy", "action": "eth_blockNumber"},
            check=_checked,
        )
        records.append(parse_block_number(block, blockchain))
        return records

    return collect


def _spec(
    pid: str, name: str, chainid: int, keys: tuple[str, ...], note: str, tier: int
) -> ProviderSpec:
    return ProviderSpec(
        id=pid,
        name=name,
        category="blockchain_explorers",
        base_url=BASE_URL,
        docs_url=DOCS_URL,
        gives=f"{note} gas oracle (safe/propose/fast gwei) and latest block (chainid {chainid})",
        auth=Auth(kind="query", param="apikey", key_names=keys, key_url=KEY_URL),
        rate_limits=FREE_LIMITS,
        tier=tier,
        limit_group="etherscan_v2",  # the free limit is per account, across chains
    )


ETHERSCAN_KEYS = ("ETHERSCAN_KEY_1", "ETHERSCAN_KEY_2")

ETHERSCAN = _spec("etherscan", "Etherscan", 1, ETHERSCAN_KEYS, "Ethereum", tier=1)
# Etherscan's free plan does not cover chainid 56: a paid plan key is needed.
BSCSCAN = _spec(
    "bscscan",
    "BscScan (Etherscan V2)",
    56,
    ETHERSCAN_KEYS + ("BSCSCAN_KEY",),
    "BNB Smart Chain (paid Etherscan plan)",
    tier=3,
)
POLYGONSCAN = _spec(
    "polygonscan", "PolygonScan (Etherscan V2)", 137, ETHERSCAN_KEYS, "Polygon PoS", tier=2
)

PROVIDERS = [
    Provider(ETHERSCAN, _make_collect(1, "ethereum")),
    Provider(BSCSCAN, _make_collect(56, "bsc")),
    Provider(POLYGONSCAN, _make_collect(137, "polygon")),
]
