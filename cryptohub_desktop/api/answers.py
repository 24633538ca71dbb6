"""The answers of SPEC section 7, built from the in-process engine's state and store.

One ``async def name(hub, **params) -> dict`` per REST path (and per view read):
:class:`~cryptohub_desktop.api.local.LocalApi` serves them to the local server
(REST answers and WebSocket snapshots, :data:`SERVICE_SNAPSHOTS`) and to the
desktop UI, so both see the same shapes. Every
timestamp is a UTC ISO-8601 string ending in ``Z``; every free text that could
carry a key (error messages, endpoints, alert texts) is masked.

Parameters are expected valid (the server validates query strings first); the
functions only normalize (upper-case symbols, clamp limits).

Example::

    data = await answers.market(hub, symbols=["BTC", "ETH"])
    data["market"][0]["consensus_price"]
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptohub_desktop import __version__
from cryptohub_desktop.core.masking import scrub as scrub_text
from cryptohub_desktop.core.time import from_db, iso, utcnow
from cryptohub_desktop.core.topics import CATEGORIES
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.engine.notify_rules import display_url
from cryptohub_desktop.storage import queries

FEAR_GREED = "fear_greed_index"
NEWS_WINDOW_HOURS = 24
FAILURE_WINDOW_HOURS = 24
ROTATIONS_PER_POOL = 20
SAT_CHAINS = {"bitcoin", "btc", "litecoin", "ltc"}
DB_CHECK_SECONDS = 2.0
_db_checks: weakref.WeakKeyDictionary[Hub, tuple[float, bool]] = weakref.WeakKeyDictionary()


def scrub(hub: Hub, text: str | None) -> str | None:
    """``text`` with every known key and key-looking parameter masked."""
    if not text:
        return text
    return scrub_text(text, tuple(hub.secrets.seen))


def _read(hub: Hub, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    if hub.store is None:
        raise RuntimeError("the hub is not started")
    return hub.store.read(fn, *args)


def _num(value: Any, digits: int | None = None) -> Any:
    """A JSON-safe number: NaN and infinities become None."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return round(value, digits) if digits is not None else value
    return value


# --- monitoring -------------------------------------------------------------------------
async def health(hub: Hub) -> dict[str, Any]:
    """``/health``: the server answers (200 whatever else is down); ``degraded`` names
    the team-hub parts that cannot be reached now (Redis, the leases' database)."""
    parts = {"redis": (hub.bus, hub.limits), "leases": (hub.coordinator,)}
    degraded = [name for name, objs in parts.items()
                if any(not getattr(o, "connected", True) for o in objs)]
    return {"status": "healthy", "timestamp": iso(utcnow()), "degraded": degraded}


async def cluster(hub: Hub) -> dict[str, Any]:
    """``/api/cluster``: the team's instances and who holds which provider's lease; a
    single instance is itself alone (``enabled`` false)."""
    now = utcnow()
    me = hub.coordinator.instance_id
    if not hub.config.cluster.enabled:
        started = hub.started_at or now
        return {"enabled": False, "instance_id": me, "timestamp": iso(now), "instances": [{
            "id": me, "host": hub.config.server.host, "port": hub.config.server.port,
            "version": __version__, "started_at": iso(started), "heartbeat_at": iso(now),
            "heartbeat_age_seconds": 0.0}], "leases": []}
    instances, leases = await _read(hub, queries.cluster_state)
    return {"enabled": True, "instance_id": me, "timestamp": iso(now), "instances": [{
        "id": i["id"], "host": i["host"], "port": i["port"], "version": i["version"],
        "started_at": iso(i["started_at"]), "heartbeat_at": iso(i["heartbeat_at"]),
        "heartbeat_age_seconds": round(max(0.0, (now - i["heartbeat_at"]).total_seconds()), 3)}
        for i in instances],
        "leases": [{"provider": r["provider_id"], "owner": r["owner"], "epoch": r["epoch"],
                    "lease_until": iso(r["lease_until"])} for r in leases]}


async def _database_ok(hub: Hub) -> bool:
    """Whether the database answers a read; checked at most every DB_CHECK_SECONDS."""
    now = time.monotonic()
    last = _db_checks.get(hub)
    if last and now - last[0] < DB_CHECK_SECONDS:
        return last[1]
    try:
        ok = bool(await _read(hub, queries.database_ok))
    except Exception:  # noqa: BLE001 - any failure means the database is unavailable
        ok = False
    _db_checks[hub] = (now, ok)
    return ok


async def status(hub: Hub) -> dict[str, Any]:
    """``/api/status``: provider counts, database state, uptime and system metrics.

    ``status`` is ``offline`` when this machine reaches no upstream host (said once,
    here, instead of every provider turning amber), else the overall health of
    :func:`cryptohub_desktop.engine.status.overall`; ``network`` says since when."""
    db_ok = await _database_ok(hub)
    counts = hub.status_counts()
    metrics = {k: _num(v) for k, v in hub.system_metrics().items()}
    metrics["server_clients"] = hub.server_clients()
    now = utcnow()
    started = hub.started_at or now
    return {"status": metrics["system_health"] if db_ok else "unhealthy",
            "timestamp": iso(now), "database": "connected" if db_ok else "unavailable",
            "total_providers": len(hub.providers), "online_providers": counts["online"],
            "degraded_providers": counts["degraded"], "offline_providers": counts["offline"],
            "empty_providers": counts["empty"], "idle_providers": counts["idle"],
            "network": hub.network(),
            "uptime_seconds": round((now - started).total_seconds(), 1),
            "system_metrics": metrics}


async def providers(hub: Hub) -> dict[str, Any]:
    """``/api/providers``: every provider with its health and key state."""
    stored = await _read(hub, queries.provider_rows)
    out = []
    for pid, p in hub.providers.items():
        h = hub.health.get(pid)
        row = stored.get(pid, {})
        spec = p.spec
        key = hub.catalogue.key_state(pid)
        out.append({
            "id": pid, "name": spec.name, "category": spec.category, "status": h.status,
            "status_reason": scrub(hub, h.reason) or "",
            "response_time_ms": _num(h.response_time_ms if h.response_time_ms is not None
                                     else row.get("response_time_ms")),
            "success_rate": _num(h.success_rate if h.success_rate is not None
                                 else row.get("success_rate")),
            "last_check": iso(h.last_check or row.get("last_check")),
            "last_success": iso(h.last_success or row.get("last_success")),
            "last_data_time": iso(h.last_data_time or row.get("last_data_time")),
            "requires_key": spec.auth.requires_key, "key_configured": key == "present",
            "key_state": key, "enabled": bool(hub.catalogue.enabled.get(pid, True)),
            "consecutive_failures": h.consecutive_failures,
            "circuit_open": hub.health.circuit_open(pid), "pool": spec.pool_name,
            "tier": spec.tier, "docs_url": spec.docs_url,
            "stream": hub.streams.state(pid) if hub.streams else None})
    return {"providers": out}


async def rate_limits(hub: Hub) -> dict[str, Any]:
    """``/api/rate-limits``: every documented window and its current use (a team hub's
    windows as the whole team used them)."""
    await asyncio.gather(*(lim.refresh() for lim in set(hub.limiters.values())))
    now = utcnow()
    out = []
    for pid, limiter in hub.limiters.items():
        for u in limiter.usage():
            out.append({"provider": pid, "limit_type": u.limit_type,
                        "limit_value": u.limit_value, "current_usage": u.current_usage,
                        "percentage": u.percentage,
                        "reset_time": iso(now + timedelta(seconds=u.reset_in_seconds))
                        if u.current_usage else None,
                        "warning": u.warning})
    return {"rate_limits": out}


async def schedule(hub: Hub) -> dict[str, Any]:
    """``/api/schedule``: interval, last/next run and on-time record of each provider.

    On time says a run *started* within tolerance of its slot; ``success_rate`` (the
    recent runs that delivered data, percent) and ``last_outcome`` say whether those
    runs brought anything, so "100 % on time" never hides runs that all fail."""
    rows = await _read(hub, queries.schedule_rows)
    out = []
    for pid, p in hub.providers.items():
        r = rows.get(pid, {})
        on_time, late, skip = (r.get("on_time_count", 0), r.get("late_count", 0),
                               r.get("skip_count", 0))
        ran = on_time + late + skip
        nxt = hub.scheduler.next_run(pid) if hub.catalogue.is_active(pid) else None
        h = hub.health.get(pid)
        out.append({"provider": pid, "name": p.spec.name, "category": p.spec.category,
                    "interval": r.get("schedule_interval"),
                    "interval_seconds": r.get("interval_seconds"),
                    "active": hub.catalogue.is_active(pid), "last_run": iso(r.get("last_run")),
                    "last_check": iso(hub.health.get(pid).last_check),
                    "next_run": iso(nxt or (r.get("next_run") if hub.catalogue.is_active(pid) else None)),
                    "on_time_count": on_time, "late_count": late, "skip_count": skip,
                    "on_time_percentage": round(100.0 * on_time / ran, 1) if ran else None,
                    "success_rate": _num(h.success_rate), "last_outcome": h.outcome or None})
    return {"schedule": out}


async def freshness(hub: Hub, by: str = "name") -> dict[str, Any]:
    """``/api/freshness``: per category, per provider name (SPEC §7): staleness and
    fresh/stale/no_data, with the provider ``id`` inside; ``by="id"`` keys the
    providers by id instead (with the ``name`` inside), easier for scripts."""
    now = utcnow()
    rows = await _read(hub, queries.schedule_rows)
    out: dict[str, Any] = {cat: {} for cat in CATEGORIES}
    for pid, p in hub.providers.items():
        seconds = rows.get(pid, {}).get("interval_seconds") or 300
        minutes, state = hub.health.freshness(pid, seconds, now)
        entry = {"staleness_minutes": _num(minutes), "status": state}
        if by == "id":
            out.setdefault(p.spec.category, {})[pid] = {"name": p.spec.name, **entry}
        else:
            out.setdefault(p.spec.category, {})[p.spec.name] = {"id": pid, **entry}
    return out


async def failures(hub: Hub, limit: int = 50) -> dict[str, Any]:
    """``/api/failures``: the newest failures and the count per error type in 24 h."""
    since = utcnow() - timedelta(hours=FAILURE_WINDOW_HOURS)
    rows, counts = await _read(hub, queries.recent_failures, max(1, limit), since)
    return {"failures": [{
        "id": r["id"], "provider": r["provider_id"], "timestamp": iso(r["timestamp"]),
        "error_type": r["error_type"], "error_message": scrub(hub, r["error_message"]),
        "http_status_code": r["http_status_code"], "endpoint": scrub(hub, r["endpoint"]),
        "retry_attempted": bool(r["retry_attempted"])} for r in rows],
        "by_error_type": counts, "window_hours": FAILURE_WINDOW_HOURS}


# --- data -------------------------------------------------------------------------------
async def market(hub: Hub, symbols: Sequence[str] | None = None) -> dict[str, Any]:
    """``/api/market``: per symbol the consensus price and each source's price, age and
    deviation (default symbols: the watchlist)."""
    wanted = [s.upper() for s in (symbols or hub.config.watchlist)]
    streams = hub.streams
    stream_rows = dict(streams.stream_rows) if streams else {}
    rows = await _read(hub, queries.latest_market, wanted, hub.config.consensus_max_age_seconds,
                       hub.config.consensus_deviation_pct,
                       streams.stale_rows() if streams else {})

    def source(s: Any, symbol: str, stale: bool) -> dict[str, Any]:
        via = "stream" if stream_rows.get((s.source, symbol)) == s.timestamp else "rest"
        return {"source": s.source, "price": _num(s.price), "quote": s.quote,
                "timestamp": iso(s.timestamp), "age_seconds": _num(s.age_seconds, 1),
                "deviation_pct": None if stale else _num(s.deviation_pct),
                "outlier": False if stale else s.outlier, "via": via, "stale": stale}

    newest = await _read(hub, _newest_prices, [r["symbol"] for r in rows])
    out = []
    now = utcnow()
    for r in rows:
        c = r["consensus"]
        last = newest.get(r["symbol"])
        out.append({
            "latest": {"price": _num(last.price_usd), "source": last.source,
                       "quote": last.quote, "timestamp": iso(last.timestamp),
                       "age_seconds": _age(now, last.timestamp)} if last else None,
            "symbol": r["symbol"], "consensus_price": _num(c.price),
            "source_count": len(c.sources), "outliers": [s.source for s in c.outliers],
            "price_change_24h": _num(r["price_change_24h"]),
            "market_cap": _num(r["market_cap"]), "volume_24h": _num(r["volume_24h"]),
            "sources": sorted([*(source(s, r["symbol"], False) for s in c.sources),
                               *(source(s, r["symbol"], True) for s in r["stale"])],
                              key=lambda s: s["source"])})
    return {"timestamp": iso(utcnow()), "max_age_seconds": hub.config.consensus_max_age_seconds,
            "deviation_threshold_pct": hub.config.consensus_deviation_pct, "market": out}


def _age(now: datetime, stored: datetime) -> float | None:
    t = from_db(stored)
    return round((now - t).total_seconds(), 1) if t is not None else None


def _newest_prices(symbols: list[str]) -> dict[str, Any]:
    """Each symbol's newest stored price of any source and any age (the last known
    value the UI shows with its age when no source is fresh)."""
    return {s: row for s in symbols if (row := queries.newest_price(s)) is not None}


async def history(hub: Hub, symbol: str, interval: str = "1h", start: datetime | None = None,
                  end: datetime | None = None, source: str | None = None,
                  limit: int = 1000) -> dict[str, Any]:
    """``/api/history``: OHLCV candles, oldest first (without ``start``: the newest
    ``limit``). Read and shaped on a reader thread: 10,000 candles must not hold the
    event loop."""
    return await _read(hub, _history_answer, symbol.upper(), interval, start, end, source,
                       max(1, limit))


def _history_answer(symbol: str, interval: str, start: datetime | None, end: datetime | None,
                    source: str | None, limit: int) -> dict[str, Any]:
    rows = queries.ohlcv_rows(symbol, interval, start, end, source, limit)
    return {"symbol": symbol, "interval": interval, "source": source, "start": iso(start),
            "end": iso(end), "count": len(rows), "history": [{
                "source": r["source"], "open_time": iso(r["open_time"]), "open": _num(r["open"]),
                "high": _num(r["high"]), "low": _num(r["low"]), "close": _num(r["close"]),
                "volume": _num(r["volume"])} for r in rows]}


async def news(hub: Hub, limit: int = 20, q: str | None = None) -> dict[str, Any]:
    """``/api/news``: the newest articles with their sentiment (``q``: text search)."""
    rows = await _read(hub, queries.latest_news, max(1, limit), q or None)
    return {"count": len(rows), "news": [{
        "id": r["id"], "title": r["title"], "url": r["url"], "source": r["source"],
        "published_at": iso(r["published_at"]), "sentiment": r["sentiment"],
        "sentiment_score": _num(r["sentiment_score"]),
        "tags": [t.strip() for t in (r["tags"] or "").split(",") if t.strip()],
        "summary": (r["content"] or "")[:500]} for r in rows]}


async def sentiment(hub: Hub) -> dict[str, Any]:
    """``/api/sentiment``: the latest Fear & Greed value and text sentiment aggregates."""
    metrics = await _read(hub, queries.latest_sentiment_metrics)
    since = utcnow() - timedelta(hours=NEWS_WINDOW_HOURS)
    headlines = await _read(hub, queries.news_sentiment_counts, since)
    fg = next((m for m in metrics if m["metric_name"] == FEAR_GREED), None)
    model = getattr(hub.text_model, "name", None)
    return {"timestamp": iso(utcnow()),
            "fear_greed": {"value": _num(fg["value"]), "classification": fg["classification"],
                           "timestamp": iso(fg["timestamp"]), "source": fg["source"]}
            if fg else None,
            "text": {"model": model if isinstance(model, str) else None,
                     "metrics": [{"metric_name": m["metric_name"], "value": _num(m["value"]),
                                  "classification": m["classification"],
                                  "timestamp": iso(m["timestamp"]), "source": m["source"]}
                                 for m in metrics if m["metric_name"] != FEAR_GREED],
                     "headlines": {**headlines, "average_score": _num(headlines["average_score"]),
                                   "window_hours": NEWS_WINDOW_HOURS}}}


async def whales(hub: Hub, min_usd: float | None = None, chain: str | None = None,
                 limit: int = 50) -> dict[str, Any]:
    """``/api/whales``: the newest large transactions."""
    rows = await _read(hub, queries.whale_rows, min_usd, chain, max(1, limit))
    return {"count": len(rows), "whales": [{
        "blockchain": r["blockchain"], "transaction_hash": r["transaction_hash"],
        "from_address": r["from_address"], "to_address": r["to_address"],
        "amount": _num(r["amount"]), "symbol": r["symbol"], "amount_usd": _num(r["amount_usd"]),
        "timestamp": iso(r["timestamp"]), "source": r["source"]} for r in rows]}


async def gas(hub: Hub) -> dict[str, Any]:
    """``/api/gas``: the newest gas reading of each chain (gwei; sat/vB for bitcoin)."""
    rows = await _read(hub, queries.latest_gas)
    return {"gas": [{
        "blockchain": r["blockchain"],
        "unit": "sat/vB" if r["blockchain"].lower() in SAT_CHAINS else "gwei",
        "slow": _num(r["slow_gas_price"]), "standard": _num(r["standard_gas_price"]),
        "fast": _num(r["fast_gas_price"]), "gas_price": _num(r["gas_price_gwei"]),
        "timestamp": iso(r["timestamp"]), "source": r["source"]} for r in rows]}


async def blocks(hub: Hub) -> dict[str, Any]:
    """``/api/blocks``: per chain each RPC node's height, its lag behind the highest and
    its response time; plus the explorers' newest chain statistics."""
    nodes = await _read(hub, queries.latest_node_heights)
    stats = await _read(hub, queries.latest_chain_stats)
    chains = []
    for chain, rows in sorted(nodes.items()):
        top = max(r["block_height"] for r in rows)
        chains.append({"chain": chain, "highest_block": top, "nodes": [{
            "provider": r["provider"], "block_height": r["block_height"],
            "lag_blocks": top - r["block_height"], "response_time_ms": _num(r["response_time_ms"]),
            "timestamp": iso(r["timestamp"])} for r in rows]})
    return {"blocks": chains, "explorers": [{
        "blockchain": s["blockchain"], "latest_block": s["latest_block"],
        "total_transactions": s["total_transactions"],
        "network_hashrate": _num(s["network_hashrate"]), "difficulty": _num(s["difficulty"]),
        "mempool_size": s["mempool_size"], "timestamp": iso(s["timestamp"]),
        "source": s["source"]} for s in stats]}


async def onchain(hub: Hub) -> dict[str, Any]:
    """``/api/onchain``: the newest value of each on-chain metric per chain and source."""
    rows = await _read(hub, queries.latest_onchain)
    return {"onchain": [{"metric": r["metric"], "chain": r["chain"], "value": _num(r["value"]),
                         "timestamp": iso(r["timestamp"]), "source": r["source"]} for r in rows]}


async def alerts(hub: Hub, limit: int = 50, unacknowledged: bool = False) -> dict[str, Any]:
    """``/api/alerts``: the newest alerts, each with its deliveries to the alert channels,
    and every configured channel with its own state (like a provider's)."""
    rows = await _read(hub, queries.recent_alerts, max(1, limit), unacknowledged)
    ids = [r["id"] for r in rows]
    sent = await _read(hub, queries.notify_deliveries, ids, None, 20 * len(ids)) if ids else []
    recent = await _read(hub, queries.notify_deliveries, None, None, 500)
    by_alert: dict[int, list[dict[str, Any]]] = {}
    for d in sent:
        by_alert.setdefault(d["alert_id"], []).append({
            "channel": d["channel"], "status": d["status"], "reason": scrub(hub, d["reason"]),
            "attempts": d["attempts"], "timestamp": iso(d["timestamp"])})
    return {"alerts": [{
        "id": r["id"], "timestamp": iso(r["timestamp"]), "provider_id": r["provider_id"],
        "alert_type": r["alert_type"], "severity": r["severity"],
        "message": scrub(hub, r["message"]), "acknowledged": bool(r["acknowledged"]),
        "acknowledged_at": iso(r["acknowledged_at"]),
        "deliveries": by_alert.get(r["id"], [])} for r in rows],
        "channels": _channels(hub, recent)}


def _channels(hub: Hub, recent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each configured channel: what it receives and how its deliveries went lately (from
    the database, so every instance of a team answers the same)."""
    out = []
    known = tuple(hub.secrets.seen)
    for name, ch in hub.config.notify_channels.items():
        mine = [d for d in recent if d["channel"] == name]  # newest first
        failures = 0
        for d in mine:
            if d["status"] != "failed":
                break
            failures += 1
        last_ok = next((d for d in mine if d["status"] == "delivered"), None)
        last_bad = next((d for d in mine if d["status"] == "failed"), None)
        out.append({
            "name": name, "url": display_url(ch.url, known), "kinds": list(ch.kinds),
            "min_severity": ch.min_severity, "quiet_hours": ch.quiet_hours_text,
            "status": "unknown" if not mine else ("failed" if failures else "ok"),
            "consecutive_failures": failures,
            "last_delivery": iso(last_ok["timestamp"]) if last_ok else None,
            "last_error": scrub(hub, last_bad["reason"]) if last_bad else None})
    return out


async def pools(hub: Hub) -> dict[str, Any]:
    """``/api/pools``: each pool's strategy, members in order, current provider and
    recent rotations."""
    history_rows = await _read(hub, queries.rotation_rows, list(hub.pools), ROTATIONS_PER_POOL)
    out = []
    for name, pool in hub.pools.items():
        out.append({
            "name": name, "category": pool.category, "strategy": pool.strategy,
            "current_provider": pool.current, "rotation_count": pool.rotation_count,
            "members": [{"provider_id": m.provider_id, "priority": i, "enabled": m.enabled,
                         "healthy": bool(pool.healthy(m.provider_id)),
                         "status": hub.health.get(m.provider_id).status,
                         "use_count": m.use_count, "success_count": m.success_count,
                         "failure_count": m.failure_count, "last_used": iso(m.last_used)}
                        for i, m in enumerate(pool.members)],
            "rotation_history": [{"from_provider": r["from_provider"],
                                  "to_provider": r["to_provider"], "reason": r["reason"],
                                  "timestamp": iso(r["timestamp"])}
                                 for r in history_rows.get(name, [])]})
    return {"pools": out}


# --- WebSocket service snapshots -----------------------------------------------------------
async def explorers(hub: Hub) -> dict[str, Any]:
    """The ``explorers`` service: gas and the explorers' chain statistics."""
    b = await blocks(hub)
    return {"gas": (await gas(hub))["gas"], "explorers": b["explorers"]}


async def health_checker(hub: Hub) -> dict[str, Any]:
    """The ``health_checker`` service: overall status and every provider's health."""
    return {"status": await status(hub), "providers": (await providers(hub))["providers"]}


#: WebSocket service -> the snapshot a new subscriber gets first (SPEC section 8)
SERVICE_SNAPSHOTS: dict[str, Callable[[Hub], Awaitable[dict[str, Any]]]] = {
    "market_data": market,
    "explorers": explorers,
    "news": news,
    "sentiment": sentiment,
    "whale_tracking": whales,
    "rpc_nodes": blocks,
    "onchain": onchain,
    "health_checker": health_checker,
    "scheduler": schedule,
    "alerts": alerts,
}


async def service_snapshot(hub: Hub, service: str) -> dict[str, Any]:
    """The current state of one WebSocket service.

    Raises:
        KeyError: ``service`` is not one of :data:`SERVICE_SNAPSHOTS`.
    """
    return await SERVICE_SNAPSHOTS[service](hub)


# --- desktop UI reads (appended for the UI's dashboard and provider details) ---------------
#: chart range (seconds) -> candle intervals to use, best first
CHART_INTERVALS = {3600: ("1m", "5m", "15m", "1h"), 86400: ("1m", "5m", "15m", "1h"),
                   7 * 86400: ("1h", "15m", "4h", "1m", "1d"), 30 * 86400: ("1h", "4h", "1d"),
                   365 * 86400: ("1d", "4h", "1h"), 20 * 365 * 86400: ("1d", "4h", "1h")}
TICK_RANGE_MAX = 7 * 86400


async def chart(hub: Hub, symbol: str, seconds: int = 86400) -> dict[str, Any]:
    """Price series of ``symbol`` for a chart: the ``seconds`` up to now (so old data
    looks old; ``latest`` is the newest point stored at all, for "no data in the last
    24 h, latest: ..."), one series per source (candles with volume at the best interval
    for the range, else the source's price ticks for ranges up to 7 days). Times are
    Unix seconds (compact, fast to plot)."""
    symbol = symbol.upper()
    seconds = int(seconds)
    data = await _read(hub, queries.chart_series, symbol, seconds,
                       CHART_INTERVALS.get(seconds) or ("1h", "1d"), seconds <= TICK_RANGE_MAX,
                       utcnow())
    return {"symbol": symbol, "seconds": int(seconds), **data}


async def price_history(hub: Hub, symbols: Sequence[str] | None = None, hours: int = 24,
                        buckets: int = 48) -> dict[str, Any]:
    """Average price of each symbol over all sources (price ticks and short candles) in
    ``buckets`` slots of the last ``hours`` (watchlist sparklines):
    ``{"series": {"BTC": [[unix, price], ...]}}``."""
    wanted = [s.upper() for s in (symbols or hub.config.watchlist)]
    since = utcnow() - timedelta(hours=hours)
    data = await _read(hub, queries.price_buckets, wanted, since,
                       max(60, int(hours * 3600 / max(1, buckets))))
    return {"hours": hours, "series": {s: [[t, _num(p)] for t, p in v] for s, v in data.items()}}


async def provider_activity(hub: Hub, provider_id: str, limit: int = 200) -> dict[str, Any]:
    """One provider's recent requests (response-time history, oldest first) and its
    newest failures."""
    attempts, fails = await _read(hub, queries.provider_activity, provider_id, max(1, limit))
    return {"provider": provider_id,
            "attempts": [{"timestamp": iso(a["timestamp"]), "status": a["status"],
                          "response_time_ms": _num(a["response_time_ms"]),
                          "http_status_code": a["http_status_code"],
                          "error_type": a["error_type"]} for a in attempts],
            "failures": [{"timestamp": iso(f["timestamp"]), "error_type": f["error_type"],
                          "error_message": scrub(hub, f["error_message"]),
                          "http_status_code": f["http_status_code"],
                          "endpoint": scrub(hub, f["endpoint"])} for f in fails]}
