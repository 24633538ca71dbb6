"""Coin Metrics Community API v4: daily network metrics (GET /timeseries/asset-metrics).

Docs: https://docs.coinmetrics.io/api-reference/timeseries/timeseries-rest/asset-metrics
Community base: https://community-api.coinmetrics.io/v4 (keyless, CC BY-NC 4.0).
Documented community limit: 10 requests per 6 seconds per IP address.

One call asks for ``AdrActCnt``, ``TxCnt`` and ``CapMrktCurUSD`` at ``frequency=1d``
for the last few days (``paging_from=end``); for each asset and metric the newest
non-null value is kept, since the newest day can still be null while it is computed.
Values arrive as strings; ``time`` is ISO-8601 with nanoseconds. A metric missing from
a row is "not supported for that asset", a ``null`` is "no data yet" (both skipped).
Options: ``assets`` (default "btc,eth"), ``days`` (default 7).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import OnchainMetric
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="coinmetrics",
    name="Coin Metrics (community)",
    category="onchain_analytics",
    base_url="https://community-api.coinmetrics.io/v4",
    docs_url="https://docs.coinmetrics.io/api-reference/timeseries/timeseries-rest/asset-metrics",
    gives="daily active addresses, transaction count and market cap per chain",
    rate_limits=(RateLimit(10, 6),),
    tier=2,
)

#: Coin Metrics metric id -> stored metric name
METRICS = {
    "AdrActCnt": "active_addresses",
    "TxCnt": "tx_count",
    "CapMrktCurUSD": "market_cap_usd",
}
CHAINS = {
    "btc": "Bitcoin",
    "eth": "Ethereum",
    "sol": "Solana",
    "ltc": "Litecoin",
    "doge": "Dogecoin",
    "bch": "Bitcoin Cash",
    "xrp": "XRP",
    "ada": "Cardano",
    "trx": "Tron",
    "bnb": "BNB",
}
DEFAULT_ASSETS = "btc,eth"
DEFAULT_DAYS = 7


def check_error(answer: Any) -> dict[str, Any]:
    """The answer, or its documented ``{"error": {"type", "message"}}`` raised."""
    body = as_dict(answer)
    err = body.get("error")
    if err is not None:
        e = err if isinstance(err, dict) else {"message": err}
        kind, message = str(e.get("type", "")), str(e.get("message", e))
        if "rate" in kind.lower() or "too many" in message.lower():
            raise UpstreamRateLimited(f"Coin Metrics: {message}", status=429)
        raise UpstreamHTTPError(f"Coin Metrics error {kind}: {message}", status=400)
    return body


def parse_asset_metrics(answer: Any) -> list[OnchainMetric]:
    """``/timeseries/asset-metrics``: the newest non-null value per (asset, metric)."""
    rows = as_list(check_error(answer).get("data"), "data")
    latest: dict[tuple[str, str], OnchainMetric] = {}
    for i, raw in enumerate(rows):
        row = as_dict(raw, f"data[{i}]")
        asset, stamp = row.get("asset"), row.get("time")
        if not isinstance(asset, str) or not isinstance(stamp, str):
            raise UpstreamParseError(f"data[{i}] lacks asset/time")
        try:
            when = parse_iso(stamp)
        except ValueError as exc:
            raise UpstreamParseError(f"data[{i}].time is not ISO-8601: {stamp!r}") from exc
        chain = CHAINS.get(asset.lower(), asset.upper())
        for metric_id, name in METRICS.items():
            value = num(row.get(metric_id))
            if value is None:
                continue
            key = (chain, name)
            if key not in latest or latest[key].timestamp <= when:
                latest[key] = OnchainMetric(metric=name, chain=chain, value=value, timestamp=when)
    return list(latest.values())


async def collect(api: Upstream, ctx: Context) -> list[OnchainMetric]:
    days = max(2, int(ctx.options.get("days", DEFAULT_DAYS)))
    start = (utcnow() - timedelta(days=days)).strftime("%Y-%m-%d")
    answer = await api.get_json(
        "/timeseries/asset-metrics",
        {
            "assets": str(ctx.options.get("assets", DEFAULT_ASSETS)),
            "metrics": ",".join(METRICS),
            "frequency": "1d",
            "start_time": start,
            "paging_from": "end",
            "page_size": "1000",
        },
    )
    return parse_asset_metrics(answer)


PROVIDER = Provider(SPEC, collect)
