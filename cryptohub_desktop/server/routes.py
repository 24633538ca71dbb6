"""The REST route table: path -> HubApi read, query parameters, summary.

The router (``rest.py``) and the OpenAPI document (``openapi.py``) both read this
table, so what is served and what is documented cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptohub_desktop.server.params import Param
from cryptohub_desktop.server.responses import ApiError

SYMBOL_RE = "[A-Za-z0-9]{1,15}"
INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")


@dataclass(frozen=True)
class Route:
    """One GET path answered by a HubApi read.

    Attributes:
        method: the :class:`~cryptohub_desktop.api.protocol.HubApi` method answering it.
        schema: the name of its response schema in ``schemas.py``.
        topics: bus topics whose events change the answer; when given, the encoded
            answer is cached until the next such event (``cache.py``).
        ttl: seconds the encoded answer may be served from the cache at most (default:
            the cache's 2 s when ``topics`` are given; no caching without either).
        offload: the answer can be large (megabytes): encode it on a worker thread.
    """

    path: str
    method: str
    summary: str
    tag: str
    schema: str
    params: Sequence[Param] = ()
    check: Callable[[dict[str, Any]], None] | None = None
    topics: tuple[str, ...] = ()
    ttl: float | None = None
    offload: bool = False


def _start_before_end(kwargs: dict[str, Any]) -> None:
    start, end = kwargs.get("start"), kwargs.get("end")
    if start is not None and end is not None and start > end:
        raise ApiError(400, "bad_parameter", "start must not be after end")


def limit(default: int, maximum: int, what: str) -> Param:
    return Param("limit", "integer", f"How many {what} to return (newest first)",
                 default=default, minimum=1, maximum=maximum)


def build_routes(provider_ids: Sequence[str]) -> dict[str, Route]:
    """The route table for a hub whose providers are ``provider_ids``."""
    source = Param("source", "string", "Only candles from this provider id",
                   enum=tuple(sorted(provider_ids)))
    table = [
        Route("/health", "health", "Liveness: the server answers", "monitoring",
              "Health"),
        Route("/api/status", "status", "Overall status, provider counts, uptime, "
              "system metrics", "monitoring", "Status", topics=("health_checker",), ttl=1.0),
        Route("/api/providers", "providers", "Every provider with its health and key "
              "state", "monitoring", "Providers"),
        Route("/api/rate-limits", "rate_limits", "Rate-limit windows and their use "
              "(warning at 80%)", "monitoring", "RateLimits"),
        Route("/api/schedule", "schedule", "Per provider interval, last/next run and "
              "on-time record", "monitoring", "Schedule"),
        Route("/api/freshness", "freshness", "Per category and provider name (or id): "
              "data staleness (fresh / stale / no_data)", "monitoring", "Freshness",
              (Param("by", "string", "Key the providers by their display name (default, as "
                     "SPEC section 7) or by id", default="name", enum=("name", "id")),)),
        Route("/api/failures", "failures", "Recent failures and counts per error type",
              "monitoring", "Failures", (limit(50, 500, "failures"),)),
        Route("/api/market", "market", "Per symbol: consensus price and each source's "
              "price, age and deviation", "data", "Market",
              (Param("symbols", "string", "Comma-separated symbols (default: the watchlist)",
                     pattern=f"{SYMBOL_RE}(,{SYMBOL_RE}){{0,49}}", upper=True, split=True),),
              topics=("market_data",)),
        Route("/api/history", "history", "OHLCV candles of one symbol", "data",
              "History",
              (Param("symbol", "string", "A symbol like BTC", required=True, pattern=SYMBOL_RE,
                     upper=True),
               Param("interval", "string", "Candle interval", default="1h", enum=INTERVALS),
               Param("start", "time", "First open time (RFC 3339 date-time, date or Unix "
                     "seconds; default: the newest candles)"),
               Param("end", "time", "Last open time (same forms as start)"),
               source, limit(1000, 10000, "candles")), _start_before_end, offload=True),
        Route("/api/news", "news", "Latest articles with sentiment", "data", "News",
              (limit(20, 200, "articles"),
               Param("q", "string", "Text to search in titles and text", max_length=200)),
              topics=("news",)),
        Route("/api/sentiment", "sentiment", "Fear & Greed and text sentiment "
              "aggregates", "data", "Sentiment", topics=("sentiment", "news")),
        Route("/api/whales", "whales", "Recent whale transactions", "data", "Whales",
              (Param("min_usd", "number", "Smallest USD value", minimum=0, maximum=1e15),
               Param("chain", "string", "Only this blockchain (e.g. ethereum, bitcoin)",
                     pattern="[A-Za-z0-9_-]{1,40}"),
               limit(50, 500, "transactions")), topics=("whale_tracking",)),
        Route("/api/gas", "gas", "Latest gas per chain (slow / standard / fast)",
              "data", "Gas", topics=("explorers",)),
        Route("/api/blocks", "blocks", "RPC node heights per chain, lag behind the "
              "highest, response time; explorer chain statistics", "data", "Blocks",
              topics=("rpc_nodes", "explorers")),
        Route("/api/onchain", "onchain", "On-chain metrics (TVL per chain ...)", "data",
              "Onchain", topics=("onchain",)),
        Route("/api/alerts", "alerts", "Recent alerts", "monitoring", "Alerts",
              (limit(50, 500, "alerts"),
               Param("unacknowledged", "boolean", "Only alerts not yet acknowledged",
                     default=False)), topics=("alerts",)),
        Route("/api/pools", "pools", "Source pools: strategy, members, current "
              "provider, rotation history", "monitoring", "Pools"),
        Route("/api/cluster", "cluster", "A team hub's instances and provider leases (a single "
              "instance: itself alone)", "monitoring", "Cluster"),
        Route("/api/chart", "chart", "Price series of one symbol for a chart range, one per "
              "source (candles, or price ticks for short ranges); times in Unix seconds",
              "data", "Chart",
              (Param("symbol", "string", "A symbol like BTC", required=True, pattern=SYMBOL_RE,
                     upper=True),
               Param("seconds", "integer", "The range, ending now", default=86400,
                     minimum=60, maximum=20 * 365 * 86400)), topics=("market_data",)),
        Route("/api/price-history", "price_history", "Average price per symbol in equal "
              "slots of the last hours (sparklines)", "data", "PriceHistory",
              (Param("symbols", "string", "Comma-separated symbols (default: the watchlist)",
                     pattern=f"{SYMBOL_RE}(,{SYMBOL_RE}){{0,49}}", upper=True, split=True),
               Param("hours", "integer", "How far back", default=24, minimum=1, maximum=720),
               Param("buckets", "integer", "How many slots", default=48, minimum=2,
                     maximum=500)), topics=("market_data",)),
        Route("/api/provider-activity", "provider_activity", "One provider's recent requests "
              "(response times, oldest first) and newest failures", "monitoring",
              "ProviderActivity",
              (Param("provider", "string", "A provider id", required=True,
                     enum=tuple(sorted(provider_ids)), arg="provider_id"),
               limit(200, 1000, "requests")), topics=("health_checker",)),
        Route("/api/text-model", "text_model", "The active text-sentiment model and whether "
              "the optional transformer is installed", "data", "TextModel"),
    ]
    return {r.path: r for r in table}
