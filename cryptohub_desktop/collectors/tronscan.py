"""TRONSCAN API: latest TRON block from the explorer's chain status (GET /api/system/status).

Docs: https://docs.tronscan.org/ (base https://apilist.tronscanapi.com).
The answer reports the explorer's database head and the full / solidity node heads::

    {"database": {"block": 56095588, "confirmedBlock": 56095570},
     "sync": {"progress": 99.99999732599234}, "network": {"type": "mainnet"},
     "full": {"block": 56095588}, "solidity": {"block": 56095570}}

The latest block is the full node's head (the database head when ``full`` is absent).
This endpoint gives no transaction total, so ``total_transactions`` stays empty.

Key: optional, header ``TRON-PRO-API-KEY`` (``TRONSCAN_KEY``); keyless calls work at a lower,
undocumented rate. TRONSCAN publishes no keyless figure, so the limit declared here is a
conservative 1 call per second and 10,000 per day (the collector makes 1 call per pass).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import BlockStat
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="tronscan",
    name="TRONSCAN",
    category="blockchain_explorers",
    base_url="https://apilist.tronscanapi.com",
    docs_url="https://docs.tronscan.org/",
    gives="TRON latest block (full node head) and confirmed block",
    auth=Auth(
        kind="header",
        param="TRON-PRO-API-KEY",
        key_names=("TRONSCAN_KEY",),
        key_url="https://tronscan.org/#/myaccount/apiKeys",
        optional=True,
    ),
    # Undocumented keyless limit: conservative values, see the module docstring.
    rate_limits=(RateLimit(1, 1), RateLimit(10_000, 86400)),
    tier=2,
)

_RATE_WORDS = ("limit", "too many", "frequency")


def _block(obj: Any, what: str) -> int | None:
    """``obj["block"]`` as a non-negative int, None when ``obj`` is absent."""
    if obj is None:
        return None
    value = as_dict(obj, what).get("block")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UpstreamParseError(f"{what}.block is not an integer: {value!r}")
    try:
        height = int(value)
    except ValueError as exc:
        raise UpstreamParseError(f"{what}.block is not an integer: {value!r}") from exc
    if height < 0:
        raise UpstreamParseError(f"{what}.block is negative: {height}")
    return height


def parse_status(answer: Any) -> BlockStat:
    """``GET /api/system/status`` as a TRON BlockStat."""
    data = as_dict(answer)
    if "database" not in data and "full" not in data:
        message = data.get("Error") or data.get("error") or data.get("message")
        if message:
            text = f"TRONSCAN: {message}"
            if any(w in str(message).lower() for w in _RATE_WORDS):
                raise UpstreamRateLimited(text)
            raise UpstreamHTTPError(text, status=400)
    network = data.get("network")
    if network is not None:
        kind = as_dict(network, "network").get("type")
        if kind is not None and kind != "mainnet":
            raise UpstreamParseError(f"TRONSCAN answered for network {kind!r}, not mainnet")
    full = _block(data.get("full"), "full")
    database = _block(data.get("database"), "database")
    latest = full if full is not None else database
    if latest is None:
        raise UpstreamParseError("TRONSCAN status has neither full.block nor database.block")
    return BlockStat(blockchain="tron", timestamp=utcnow(), latest_block=latest)


async def collect(api: Upstream, ctx: Context) -> list[BlockStat]:
    return [parse_status(await api.get_json("/api/system/status"))]


PROVIDER = Provider(SPEC, collect)
