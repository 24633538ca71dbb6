"""Blockchain.com Stats API: bitcoin network statistics (GET https://api.blockchain.info/stats).

Docs: https://www.blockchain.com/explorer/api/charts_api ("Stats API").
Fields used: hash_rate (GH/s), difficulty, n_tx and n_blocks_mined (last 24 h),
n_blocks_total, minutes_between_blocks, totalbc and total_fees_btc (satoshis),
trade_volume_btc, trade_volume_usd, estimated_transaction_volume_usd,
miners_revenue_usd, market_price_usd, nextretarget, timestamp (milliseconds).
Keyless. Blockchain.com documents no limit for the Stats API itself; its query API asks
for at most one request every 10 seconds, and that is the declared limit here too.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import OnchainMetric
from cryptohub_desktop.core.time import from_ms, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="blockchain_info",
    name="Blockchain.com stats",
    category="onchain_analytics",
    base_url="https://api.blockchain.info",
    docs_url="https://www.blockchain.com/explorer/api/charts_api",
    gives="bitcoin hash rate, difficulty, 24h transactions, supply, miner revenue",
    rate_limits=(RateLimit(1, 10),),
    tier=1,
)

SATS_PER_BTC = 100_000_000
CHAIN = "Bitcoin"
#: answer field -> (stored metric name, divisor)
FIELDS: dict[str, tuple[str, float]] = {
    "hash_rate": ("hash_rate_ghs", 1.0),
    "difficulty": ("difficulty", 1.0),
    "n_tx": ("n_tx_24h", 1.0),
    "n_blocks_mined": ("n_blocks_mined_24h", 1.0),
    "n_blocks_total": ("n_blocks_total", 1.0),
    "minutes_between_blocks": ("minutes_between_blocks", 1.0),
    "totalbc": ("total_btc", SATS_PER_BTC),
    "total_fees_btc": ("total_fees_btc_24h", SATS_PER_BTC),
    "trade_volume_btc": ("trade_volume_btc_24h", 1.0),
    "trade_volume_usd": ("trade_volume_usd_24h", 1.0),
    "estimated_transaction_volume_usd": ("estimated_tx_volume_usd_24h", 1.0),
    "miners_revenue_usd": ("miners_revenue_usd_24h", 1.0),
    "market_price_usd": ("market_price_usd", 1.0),
    "nextretarget": ("next_retarget_height", 1.0),
}
REQUIRED = ("hash_rate", "difficulty", "n_blocks_total")


def parse_stats(answer: Any) -> list[OnchainMetric]:
    """``/stats``: one metric per known field present in the answer."""
    data = as_dict(answer)
    missing = [f for f in REQUIRED if num(data.get(f)) is None]
    if missing:
        raise UpstreamParseError(f"stats answer lacks {', '.join(missing)}")
    stamp = num(data.get("timestamp"))
    when = from_ms(stamp) if stamp else utcnow()
    out = []
    for field, (name, divisor) in FIELDS.items():
        value = num(data.get(field))
        if value is not None:
            out.append(
                OnchainMetric(metric=name, chain=CHAIN, value=value / divisor, timestamp=when)
            )
    return out


async def collect(api: Upstream, ctx: Context) -> list[OnchainMetric]:
    return parse_stats(await api.get_json("/stats"))


PROVIDER = Provider(SPEC, collect)
