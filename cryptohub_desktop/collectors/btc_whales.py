"""Large unconfirmed bitcoin transactions from mempool.space (GET /mempool/recent).

Docs: https://mempool.space/docs/api/rest#get-mempool-recent
The answer lists the last 10 transactions to enter the mempool, each with ``txid``,
``fee`` (sats), ``vsize`` (vB) and ``value`` (sum of outputs, sats). It carries no
addresses and no time, so the rows have empty addresses and the collection time.
Only 10 transactions are seen per call: this is a sample of the mempool, not a census.
Keyless; mempool.space enforces undocumented limits (HTTP 429 when exceeded), so a
conservative 10 calls per minute is declared.

A transaction is kept when value / 1e8 * the consensus BTC price is at least ``min_usd``
(option, default 1,000,000). With no BTC price known yet the pass returns no rows.
"""

from __future__ import annotations

import logging
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import WhaleTx
from cryptohub_desktop.core.time import from_unix, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

log = logging.getLogger("cryptohub.collectors.btc_whales")

SPEC = ProviderSpec(
    id="btc_whales",
    name="Bitcoin whale watch (mempool.space)",
    category="whale_tracking",
    base_url="https://mempool.space/api",
    docs_url="https://mempool.space/docs/api/rest#get-mempool-recent",
    gives="unconfirmed bitcoin transactions above a USD threshold",
    rate_limits=(RateLimit(10, 60),),
    tier=2,
)

SATS_PER_BTC = 100_000_000
DEFAULT_MIN_USD = 1_000_000.0


def parse_recent(answer: Any, btc_price: float, min_usd: float) -> list[WhaleTx]:
    """``/mempool/recent``: the transactions worth at least ``min_usd``."""
    now = utcnow()
    out = []
    for i, raw in enumerate(as_list(answer)):
        tx = as_dict(raw, f"[{i}]")
        txid = tx.get("txid")
        if not isinstance(txid, str) or not txid:
            raise UpstreamParseError(f"[{i}] has no txid")
        sats = num(tx.get("value"))
        if sats is None:  # Liquid-style answers hide the value (confidential transactions)
            continue
        amount = sats / SATS_PER_BTC
        usd = amount * btc_price
        if usd < min_usd:
            continue
        seen = num(tx.get("time"))  # not documented, used when a server sends it
        out.append(
            WhaleTx(
                blockchain="bitcoin",
                transaction_hash=txid,
                symbol="BTC",
                amount=amount,
                amount_usd=usd,
                timestamp=from_unix(seen) if seen else now,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[WhaleTx]:
    btc_price = ctx.prices.get("BTC")
    if not btc_price or btc_price <= 0:
        log.info("btc_whales: no BTC price known yet; skipping this pass")
        return []
    min_usd = float(ctx.options.get("min_usd", DEFAULT_MIN_USD))
    return parse_recent(await api.get_json("/mempool/recent"), btc_price, min_usd)


PROVIDER = Provider(SPEC, collect)
