"""Large ETH transfers found by scanning the newest Ethereum blocks over public JSON-RPC.

Calls: ``eth_blockNumber``, then ``eth_getBlockByNumber(<hex>, true)`` (full transaction
objects) for each block not scanned yet, at most ``blocks`` (option, default 3) per pass.
Spec: https://ethereum.org/en/developers/docs/apis/json-rpc/#eth_getblockbynumber
Node: PublicNode (https://ethereum-rpc.publicnode.com), keyless; it documents no numeric
limit, so a conservative 5 calls per second is declared.

Only the native ``value`` of a transaction is counted (ERC-20 transfers are not decoded).
A transaction is kept when value (wei / 1e18) * the consensus ETH price is at least
``min_usd`` (option, default 1,000,000). With no ETH price known yet the pass returns no
rows and says so in the log; blocks are then left for a later pass.
"""

from __future__ import annotations

import logging
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, hex_int
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import WhaleTx
from cryptohub_desktop.core.time import from_unix
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

log = logging.getLogger("cryptohub.collectors.eth_whales")

SPEC = ProviderSpec(
    id="eth_whales",
    name="Ethereum whale scanner (PublicNode RPC)",
    category="whale_tracking",
    base_url="https://ethereum-rpc.publicnode.com",
    docs_url="https://ethereum.org/en/developers/docs/apis/json-rpc/",
    gives="native ETH transfers above a USD threshold in the newest blocks",
    rate_limits=(RateLimit(5, 1),),
    tier=2,
)

WEI_PER_ETH = 10**18
DEFAULT_BLOCKS = 3
DEFAULT_MIN_USD = 1_000_000.0

#: Last block height scanned, per base_url, so a later pass only scans newer blocks.
_LAST_SCANNED: dict[str, int] = {}


def parse_block(block: Any, eth_price: float, min_usd: float) -> list[WhaleTx]:
    """One ``eth_getBlockByNumber(..., true)`` result: its transfers worth >= ``min_usd``."""
    b = as_dict(block, "block")
    height = hex_int(b.get("number"), "block.number")
    when = from_unix(hex_int(b.get("timestamp"), "block.timestamp"))
    out = []
    for i, raw in enumerate(as_list(b.get("transactions"), "block.transactions")):
        if not isinstance(raw, dict):  # hashes only: the node ignored the "full" flag
            raise UpstreamParseError(f"block {height} transaction {i} is not an object")
        wei = hex_int(raw.get("value"), f"transactions[{i}].value")
        amount = wei / WEI_PER_ETH
        usd = amount * eth_price
        if usd < min_usd:
            continue
        tx_hash, sender, to = raw.get("hash"), raw.get("from"), raw.get("to")
        if not isinstance(tx_hash, str) or not isinstance(sender, str):
            raise UpstreamParseError(f"block {height} transaction {i} lacks hash/from")
        if to is not None and not isinstance(to, str):
            raise UpstreamParseError(f"block {height} transaction {i} has a bad 'to'")
        out.append(
            WhaleTx(
                blockchain="ethereum",
                transaction_hash=tx_hash,
                symbol="ETH",
                amount=amount,
                amount_usd=usd,
                timestamp=when,
                from_address=sender,
                to_address=to or "",  # null "to": a contract creation
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[WhaleTx]:
    eth_price = ctx.prices.get("ETH")
    if not eth_price or eth_price <= 0:
        log.info("eth_whales: no ETH price known yet; skipping this pass")
        return []
    blocks = max(1, int(ctx.options.get("blocks", DEFAULT_BLOCKS)))
    min_usd = float(ctx.options.get("min_usd", DEFAULT_MIN_USD))
    latest = hex_int(await api.rpc("eth_blockNumber"), "eth_blockNumber")
    first = latest - blocks + 1
    last = _LAST_SCANNED.get(api.base_url)
    if last is not None and last <= latest:  # a node behind the last one: rescan the window
        first = max(first, last + 1)
    out: dict[str, WhaleTx] = {}
    scanned = None
    for height in range(first, latest + 1):
        block = await api.rpc("eth_getBlockByNumber", [hex(height), True])
        if block is None:  # not served by this node yet: stop, retry next pass
            break
        for tx in parse_block(block, eth_price, min_usd):
            out.setdefault(tx.transaction_hash, tx)
        scanned = height
    if scanned is not None:
        _LAST_SCANNED[api.base_url] = scanned
    return list(out.values())


PROVIDER = Provider(SPEC, collect)
