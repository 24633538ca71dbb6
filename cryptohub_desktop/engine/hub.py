"""The hub: owns config, keys, store, bus, limits, health, pools and schedules,
and runs providers. It starts and stops cleanly on any running asyncio loop
(qasync in the GUI, plain asyncio headless) and imports no Qt.

One provider run (:meth:`Hub.run_provider`)::

    enabled? key? circuit closed? room in the rate limit?
      -> collect (the provider's requests through Upstream) -> records
      -> one writer transaction: attempts, failure, data_collections, records,
         consensus flags, provider state, compliance
      -> health + pool bookkeeping -> bus events (the category's service,
         health_checker, scheduler, alerts)
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import (
    StoreError,
    UpstreamError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from cryptohub_desktop.core.records import Candle, NewsArticle, Price, Record, as_dict
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.core.topics import CATEGORIES, CATEGORY_SERVICE
from cryptohub_desktop.engine import bookkeeping as persist
from cryptohub_desktop.engine.bus import Bus
from cryptohub_desktop.engine.health import HealthMonitor
from cryptohub_desktop.engine.pools import Member, Pool, Rotation
from cryptohub_desktop.engine.scheduler import Compliance, Scheduler
from cryptohub_desktop.providers.ratelimit import RateLimiter, Usage
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.providers.upstream import Attempt, Context, Upstream
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage.store import Store, rotate_backups

log = logging.getLogger("cryptohub.hub")

RUN_TIMEOUT = 90.0
MAX_PARALLEL = 8
PARSE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


@dataclass
class RunResult:
    """What ``collect --once`` prints for a provider."""

    provider_id: str
    category: str
    status: str  # success / failure / skipped / needs_key / disabled
    records: int = 0
    ms: float = 0.0
    error_type: str | None = None
    error: str | None = None


def http_client() -> httpx.AsyncClient:
    """The shared HTTP client; works whether or not SSL_CERT_FILE points anywhere."""
    ctx = ssl.create_default_context()
    try:
        import certifi
        ctx.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    extra = os.environ.get("SSL_CERT_FILE")
    if extra and os.path.isfile(extra):
        ctx.load_verify_locations(extra)
    return httpx.AsyncClient(verify=ctx, follow_redirects=True,
                             limits=httpx.Limits(max_connections=50,
                                                 max_keepalive_connections=20),
                             timeout=httpx.Timeout(15.0, connect=10.0))


class Hub:
    """The engine.

    Args:
        config: the loaded configuration.
        providers: the catalogue (``collectors.all_providers()``).
        secrets: key access.
        clock: monotonic seconds (rate limits, circuit breaker); tests pass a fake.

    Attributes:
        bus: events for the server and the UI (topics = WebSocket services).
        store: the database, once :meth:`start` ran.
    """

    def __init__(self, config: Config, providers: Sequence[Provider], secrets: Secrets,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.providers = {p.id: p for p in providers}
        self.secrets = secrets
        self.bus = Bus()
        self.health = HealthMonitor(clock=clock, on_change=self._on_status_change)
        self.compliance = Compliance()
        self.scheduler = Scheduler(on_missed=self._on_missed)
        self.symbol_map = SymbolMap.bundled()
        self.limiters: dict[str, RateLimiter] = {}
        for pid, p in self.providers.items():  # a limit_group shares one account's limiter
            group = p.spec.limit_group or pid
            shared = next((self.limiters[o] for o, q in self.providers.items()
                           if o in self.limiters and (q.spec.limit_group or o) == group), None)
            self.limiters[pid] = shared or RateLimiter(group, p.spec.rate_limits, clock=clock,
                                                       on_warning=self._on_rate_warning)
        self.keys: dict[str, list[str]] = {}
        self.enabled: dict[str, bool] = {}
        self.pools: dict[str, Pool] = {}
        self.prices: dict[str, float] = {}
        self.store: Store | None = None
        self.client: httpx.AsyncClient | None = None
        self.started_at: datetime | None = None
        self.text_model: Any = None
        self.server_clients: Callable[[], int] = lambda: 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending_alerts: set[str] = set()
        self._requests: list[tuple[float, bool]] = []
        self._sem = asyncio.Semaphore(MAX_PARALLEL)
        self._running = False
        self.request_timeout = 15.0

    # --- lifecycle -----------------------------------------------------------------
    async def start(self, *, schedule: bool = True) -> None:
        """Open the store, resolve keys, sync the catalogue and (optionally) schedule.

        Raises:
            StoreError: the database cannot be opened.
        """
        self.started_at = utcnow()
        self.store = await asyncio.to_thread(Store.open, self.config.database_url)
        self.keys = await asyncio.to_thread(self._resolve_keys)
        self.text_model = await asyncio.to_thread(_load_text_model)
        self._build_pools()
        intervals = {pid: self._interval(pid) for pid in self.providers}
        stored = await self.store.write(
            persist.sync_catalogue, list(self.providers.values()),
            {pid: self._config_enabled(pid, self.providers[pid].spec.enabled_by_default)
             for pid in self.providers},
            {pid: bool(self.keys.get(pid)) for pid in self.providers}, intervals,
            list(self.pools.values()))
        for pid in self.providers:
            st = stored.get(pid, {})
            self.enabled[pid] = self._config_enabled(
                pid, st.get("enabled", self.providers[pid].spec.enabled_by_default))
            h = self.health.get(pid)
            h.last_success, h.last_data_time = st.get("last_success"), st.get("last_data_time")
            self.health.set_status(pid, self._idle_status(pid))
            self.compliance.ensure(pid, intervals[pid][1])
        self.client = http_client()
        if schedule:
            self.scheduler.start()
            self._schedule_all()
        self._running = True
        log.info("hub started: %d providers, %d enabled, database %s", len(self.providers),
                 sum(self.is_active(p) for p in self.providers), self.config.database_url)

    async def stop(self) -> None:
        """Stop schedules, wait briefly for runs in flight, close HTTP and the store.
        Idempotent."""
        if not self._running and self.store is None:
            return
        self._running = False
        self.scheduler.shutdown()
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self.client:
            await self.client.aclose()
            self.client = None
        if self.store:
            store, self.store = self.store, None
            await asyncio.to_thread(store.close)
        log.info("hub stopped")

    # --- configuration views ---------------------------------------------------------
    def _resolve_keys(self) -> dict[str, list[str]]:
        return {pid: self.secrets.keys_for(p.spec) for pid, p in self.providers.items()
                if p.spec.auth.key_names}

    async def reload_keys(self) -> None:
        """Re-read keys (after the user saved one) and re-schedule what changed."""
        self.secrets._cache.clear()
        self.keys = await asyncio.to_thread(self._resolve_keys)
        for pid in self.providers:
            self.health.set_status(pid, self._idle_status(pid)
                                   if self.health.get(pid).status in ("needs_key", "disabled",
                                                                      "unknown")
                                   else self.health.get(pid).status)
        if self.scheduler.has("__maintenance__"):
            self._schedule_all()

    def _config_enabled(self, pid: str, default: bool) -> bool:
        explicit = self.config.provider(pid).enabled
        return default if explicit is None else explicit

    def _interval(self, pid: str) -> tuple[str, int]:
        spec = self.providers[pid].spec
        pc = self.config.provider(pid)
        name = pc.interval or spec.interval or self.config.schedule[spec.category]
        return name, self.config.interval_seconds(pid, spec.category, spec.interval)

    def key_state(self, pid: str) -> str:
        """"not_needed", "present" or "missing"."""
        auth = self.providers[pid].spec.auth
        if not auth.key_names:
            return "not_needed"
        return "present" if self.keys.get(pid) else ("not_needed" if auth.optional else "missing")

    def is_active(self, pid: str) -> bool:
        """Enabled and not waiting for a key."""
        return self.enabled.get(pid, True) and self.key_state(pid) != "missing"

    def _idle_status(self, pid: str) -> str:
        if not self.enabled.get(pid, True):
            return "disabled"
        if self.key_state(pid) == "missing":
            return "needs_key"
        return "unknown"

    def base_url(self, pid: str) -> str:
        return self.config.provider(pid).base_url or self.providers[pid].spec.base_url

    def upstream(self, pid: str, attempts: list[Attempt] | None = None) -> Upstream:
        assert self.client is not None, "start() first"
        return Upstream(self.providers[pid].spec, self.client, base_url=self.base_url(pid),
                        keys=self.keys.get(pid, []), limiter=self.limiters[pid],
                        on_attempt=attempts.append if attempts is not None else None,
                        timeout=self.request_timeout)

    def context(self, pid: str) -> Context:
        return Context(symbols=list(self.config.watchlist), symbol_map=self.symbol_map,
                       prices=dict(self.prices), options=self.config.provider(pid).options,
                       score_text=(self.text_model or _lexicon()).score,
                       recent_news=self._recent_news)

    async def _recent_news(self) -> list[dict[str, Any]]:
        from cryptohub_desktop.core.time import to_db
        from cryptohub_desktop.storage.models import NewsArticleRow
        assert self.store is not None
        since = to_db(utcnow() - timedelta(hours=24))

        def q() -> list[dict[str, Any]]:
            return list(NewsArticleRow.select(
                NewsArticleRow.title, NewsArticleRow.sentiment, NewsArticleRow.sentiment_score,
                NewsArticleRow.published_at).where(NewsArticleRow.published_at >= since).dicts())
        return await self.store.read(q)

    # --- pools -------------------------------------------------------------------------
    def _build_pools(self) -> None:
        by_pool: dict[str, list[Provider]] = {}
        for p in self.providers.values():
            by_pool.setdefault(p.spec.pool_name, []).append(p)
        for name, members in by_pool.items():
            members.sort(key=lambda p: p.spec.tier)
            self.pools[name] = Pool(name, members[0].spec.category,
                                    [Member(p.id) for p in members], healthy=self._usable,
                                    on_rotate=self._on_rotate)

    def _usable(self, pid: str) -> bool:
        return (self.is_active(pid) and not self.health.circuit_open(pid)
                and self.health.get(pid).status != "offline"
                and self.limiters[pid].blocked_for == 0)

    def _on_rotate(self, rot: Rotation) -> None:
        pool = self.pools[rot.pool]
        if self.store:
            self._spawn(self.store.write(persist.persist_rotation, rot, pool))
        self.bus.publish("health_checker", {"event": "rotation", "pool": rot.pool,
                                            "from": rot.from_provider, "to": rot.to_provider,
                                            "reason": rot.reason})

    async def save_pool(self, name: str) -> None:
        assert self.store is not None
        await self.store.write(persist.persist_pool, self.pools[name])

    # --- scheduling ----------------------------------------------------------------------
    def _schedule_all(self) -> None:
        active = [pid for pid in self.providers if self.is_active(pid)]
        # spread first runs so 40 providers do not start in the same second
        for i, pid in enumerate(active):
            self._schedule(pid, first_in=1.0 + (i * 0.37) % 15)
        for pid in self.providers:
            if not self.is_active(pid):
                self.scheduler.remove(pid)
        self.scheduler.add("__maintenance__", 60, self._maintenance, first_in=30)
        self.scheduler.add("__retention__", 3600, self._retention_job, first_in=120)
        if self.config.backup_daily:
            self.scheduler.add("__backup__", 86400, self._backup_job, first_in=600)
        self.scheduler.add("__gaps__", 3600, self._gap_job, first_in=300)

    def _schedule(self, pid: str, first_in: float = 1.0) -> None:
        seconds = self._interval(pid)[1]

        async def job(slot: datetime) -> None:
            await self.run_provider(pid, scheduled=slot)

        self.scheduler.add(pid, seconds, job, first_in=first_in)

    def _on_missed(self, job_id: str, when: datetime, reason: str) -> None:
        if job_id not in self.providers:
            return
        ev = self.compliance.on_skip(job_id, when, reason, self._interval(job_id)[1])
        if self.store:
            self._spawn(self.store.write(persist.persist_compliance, ev))
        self.bus.publish("scheduler", _compliance_data(ev, self.compliance))

    async def set_enabled(self, pid: str, enabled: bool) -> None:
        """Enable or disable a provider now and remember it."""
        self.enabled[pid] = enabled
        assert self.store is not None
        await self.store.write(persist.set_provider_enabled, pid, enabled)
        self.health.set_status(pid, self._idle_status(pid) if not self.is_active(pid)
                               else "unknown")
        if self.scheduler.has("__maintenance__"):
            if self.is_active(pid):
                self._schedule(pid)
            else:
                self.scheduler.remove(pid)

    # --- running providers ---------------------------------------------------------------
    async def run_provider(self, pid: str, scheduled: datetime | None = None) -> RunResult:
        """One run of one provider, written to the store and published."""
        provider = self.providers[pid]
        spec = provider.spec
        seconds = self._interval(pid)[1]
        started = utcnow()
        if not self.enabled.get(pid, True):
            return RunResult(pid, spec.category, "disabled")
        if self.key_state(pid) == "missing":
            self.health.set_status(pid, "needs_key")
            return RunResult(pid, spec.category, "needs_key",
                             error=f"needs {spec.auth.key_names[0]}")
        allowed, why = self.health.allow(pid)
        if allowed and self.limiters[pid].wait_time() > 5.0:
            allowed, why = False, "rate_limited"
        if not allowed:
            return await self._skip(pid, spec.category, scheduled, why or "skipped", seconds)
        attempts: list[Attempt] = []
        api = self.upstream(pid, attempts)
        t0 = time.perf_counter()
        records: list[Record] = []
        error: UpstreamError | None = None
        async with self._sem:
            try:
                records = list(await asyncio.wait_for(provider.collect(api, self.context(pid)),
                                                      RUN_TIMEOUT))
                records = _sane(pid, records)
                if any(isinstance(r, NewsArticle) for r in records):
                    await asyncio.to_thread(self._prepare, records)
            except UpstreamRateLimited as exc:
                if exc.status is None and not attempts:  # our own limiter: never sent
                    return await self._skip(pid, spec.category, scheduled, "rate_limited",
                                            seconds)
                error = exc
            except UpstreamError as exc:
                error = exc
            except TimeoutError:
                error = UpstreamError(f"{pid}: run took longer than {RUN_TIMEOUT:.0f}s")
                error.error_type = "timeout"
            except PARSE_ERRORS as exc:
                error = UpstreamParseError(f"{pid}: answer not in the documented format "
                                           f"({type(exc).__name__}: {exc})")
            except Exception as exc:  # noqa: BLE001 - a collector bug must not stop the hub
                log.exception("%s: collector failed unexpectedly", pid)
                error = UpstreamError(f"{pid}: internal error {type(exc).__name__}: {exc}")
                error.error_type = "internal_error"
        ms = (time.perf_counter() - t0) * 1000.0
        compliance = (self.compliance.on_run(pid, scheduled, started, seconds)
                      if scheduled else None)
        self._count_requests(attempts)
        if error is not None:
            records = []
            log.log(logging.INFO if error.error_type != "internal_error" else logging.ERROR,
                    "%s failed: %s (%s)", pid, error, error.error_type)
        status = self.health.record(pid, ok=error is None, when=started,
                                    response_time_ms=ms if error is None else None,
                                    error_type=error.error_type if error else None,
                                    data_time=persist.data_time(records) if records else None)
        h = self.health.get(pid)
        pool = self.pools.get(spec.pool_name)
        if pool:
            pool.report(pid, error is None, error.error_type if error else None)
            if pool.current is None:
                pool.pick()
        outcome = persist.Outcome(
            provider_id=pid, category=spec.category, started=started,
            status="failure" if error else "success", duration_ms=ms, records=records,
            attempts=attempts, error_type=error.error_type if error else None,
            error_message=str(error) if error else None,
            http_status=error.status if error else None, scheduled=scheduled,
            compliance=compliance, provider_status=status, success_rate=h.success_rate,
            response_time_ms=h.response_time_ms, consecutive_failures=h.consecutive_failures)
        assert self.store is not None
        try:
            outcome = await self.store.write(
                persist.persist_outcome, self.store, outcome,
                self.config.consensus_deviation_pct, self.config.consensus_max_age_seconds)
        except StoreError as exc:
            log.error("%s: could not store the run: %s", pid, exc)
            await self.alert("storage_error", "critical", f"could not store data: {exc}", pid,
                             dedupe="storage_error")
            return RunResult(pid, spec.category, "failure", 0, ms, "storage_error", str(exc))
        self._pending_alerts.discard("storage_error")  # writable again: alert next time
        self._publish_run(pid, outcome)
        return RunResult(pid, spec.category, outcome.status, sum(outcome.counts.values()),
                         round(ms, 1), outcome.error_type, outcome.error_message)

    def _prepare(self, records: list[Record]) -> None:
        """Score headlines that came without sentiment with the active text model."""
        if not self.text_model:
            return
        for r in records:
            if isinstance(r, NewsArticle) and r.sentiment is None:
                r.sentiment, r.sentiment_score = self.text_model.score(r.title)

    async def _skip(self, pid: str, category: str, scheduled: datetime | None, reason: str,
                    seconds: int) -> RunResult:
        if scheduled is not None:
            ev = self.compliance.on_skip(pid, scheduled, reason, seconds)
            assert self.store is not None
            await self.store.write(persist.persist_compliance, ev)
            self.bus.publish("scheduler", _compliance_data(ev, self.compliance))
        pool = self.pools.get(self.providers[pid].spec.pool_name)
        if pool and pool.current == pid:
            pool.report(pid, False, reason)
        return RunResult(pid, category, "skipped", error_type=reason, error=reason)

    def _publish_run(self, pid: str, o: persist.Outcome) -> None:
        service = CATEGORY_SERVICE[o.category]
        if o.status == "success" and o.records:
            self.bus.publish(service, {
                "provider": pid, "category": o.category,
                "records": [_jsonable(r) for r in o.records[:500]],
                "counts": o.counts})
            if o.category == "market_data":
                self._refresh_prices()
        if o.compliance:
            self.bus.publish("scheduler", _compliance_data(o.compliance, self.compliance))
        for symbol in o.inline:  # back within the threshold: a new deviation alerts again
            self._pending_alerts.discard(f"{symbol}:{pid}")
        for out in o.outliers:
            key = f"{out['symbol']}:{out['source']}"
            self._spawn(self.alert(
                "price_deviation", "warning",
                f"{out['source']} quotes {out['symbol']} at {out['price']:.6g}, "
                f"{out['deviation_pct']:+.2f}% from the consensus {out['consensus']:.6g}", pid,
                dedupe=key))

    def _refresh_prices(self) -> None:
        from cryptohub_desktop.storage.queries import latest_consensus
        assert self.store is not None
        store = self.store

        async def refresh() -> None:
            cons = await store.read(latest_consensus, list(self.config.watchlist),
                                    self.config.consensus_max_age_seconds,
                                    self.config.consensus_deviation_pct)
            self.prices.update({c.symbol: c.price for c in cons if c.price})
        self._spawn(refresh())

    async def collect_once(self, ids: Sequence[str] | None = None) -> list[RunResult]:
        """One pass over the selected (default: all active) providers.

        Market data runs first (whale thresholds need prices), news before the
        headline sentiment that reads it.
        """
        chosen = list(ids) if ids else [p for p in self.providers if self.enabled.get(p, True)]
        cat = {pid: self.providers[pid].spec.category for pid in chosen}
        phases = [[p for p in chosen if cat[p] == "market_data"],
                  [p for p in chosen if cat[p] not in ("market_data", "whale_tracking")
                   and p != "news_sentiment"],
                  [p for p in chosen if cat[p] == "whale_tracking" or p == "news_sentiment"]]
        results: dict[str, RunResult] = {}
        for phase in phases:
            for r in await asyncio.gather(*(self.run_provider(p) for p in phase)):
                results[r.provider_id] = r
            if phase is phases[0] and phase:
                from cryptohub_desktop.storage.queries import latest_consensus
                assert self.store is not None
                cons = await self.store.read(latest_consensus, list(self.config.watchlist),
                                             self.config.consensus_max_age_seconds,
                                             self.config.consensus_deviation_pct)
                self.prices.update({c.symbol: c.price for c in cons if c.price})
        for pool in self.pools.values():
            if pool.current is None:
                pool.pick()
        return [results[p] for p in chosen]

    # --- alerts, metrics, maintenance ------------------------------------------------------
    async def alert(self, alert_type: str, severity: str, message: str,
                    provider_id: str | None = None, dedupe: str | None = None) -> None:
        """Store an alert and publish it (once per ``dedupe`` key until cleared)."""
        if dedupe:
            if dedupe in self._pending_alerts:
                return
            self._pending_alerts.add(dedupe)
        if self.store is None:
            return
        from cryptohub_desktop.core.time import iso, to_db
        try:
            row = await self.store.write(persist.add_alert, alert_type, severity, message,
                                         provider_id)
        except StoreError as exc:  # disk full / read-only: still tell the UI and clients
            log.error("alert %s could not be stored (%s): %s", alert_type, exc, message)
            row = {"id": None, "timestamp": to_db(utcnow()), "provider_id": provider_id,
                   "alert_type": alert_type, "severity": severity, "message": message,
                   "acknowledged": False}
        row["timestamp"] = iso(row["timestamp"])
        self.bus.publish("alerts", row)

    def _on_status_change(self, pid: str, old: str, new: str) -> None:
        self.bus.publish("health_checker", {"event": "status", "provider": pid, "old": old,
                                            "new": new})
        if new == "offline":
            self._spawn(self.alert("provider_down", "critical",
                                   f"{self.providers[pid].spec.name} is offline "
                                   f"({self.health.get(pid).last_error})", pid,
                                   dedupe=f"down:{pid}"))
        elif old == "offline" and new in ("online", "degraded"):
            self._pending_alerts.discard(f"down:{pid}")
            self._spawn(self.alert("provider_recovered", "info",
                                   f"{self.providers[pid].spec.name} is back ({new})", pid))

    def _on_rate_warning(self, usage: Usage) -> None:
        self._spawn(self.alert(
            "rate_limit_warning", "warning",
            f"{usage.provider} used {usage.current_usage}/{usage.limit_value} calls "
            f"{usage.limit_type.replace('_', ' ')} ({usage.percentage:.0f}%)", usage.provider))

    def _count_requests(self, attempts: Sequence[Attempt]) -> None:
        now = time.monotonic()
        self._requests.extend((now, a.ok) for a in attempts)
        cutoff = now - 3600
        while self._requests and self._requests[0][0] < cutoff:
            self._requests.pop(0)

    def status_counts(self) -> dict[str, int]:
        counts = {"online": 0, "degraded": 0, "offline": 0}
        for pid in self.providers:
            s = self.health.get(pid).status
            if s in counts:
                counts[s] += 1
        return counts

    def system_metrics(self) -> dict[str, Any]:
        counts = self.status_counts()
        times = [h.response_time_ms for h in self.health.providers.values() if h.response_time_ms]
        failed = sum(1 for _, ok in self._requests if not ok)
        health = ("healthy" if counts["offline"] == 0 else
                  "degraded" if counts["online"] >= counts["offline"] else "unhealthy")
        return {"total_providers": len(self.providers), "online_count": counts["online"],
                "degraded_count": counts["degraded"], "offline_count": counts["offline"],
                "avg_response_time_ms": round(sum(times) / len(times), 1) if times else None,
                "total_requests_hour": len(self._requests), "failed_requests_hour": failed,
                "system_health": health,
                "db_size_bytes": self.store.size_bytes() if self.store else 0,
                "memory_rss_mb": _rss_mb()}

    async def _maintenance(self, _slot: datetime) -> None:
        assert self.store is not None
        now = utcnow()
        usages = [u for lim in self.limiters.values() for u in lim.usage() if u.current_usage]
        metrics = self.system_metrics()
        from cryptohub_desktop.core.time import to_db
        await self.store.write(persist.persist_usage, usages, now)
        await self.store.write(persist.persist_metrics, {"timestamp": to_db(now), **metrics})
        for pool in self.pools.values():
            await self.store.write(persist.persist_pool, pool)
        for pid in self.providers:
            if not self.is_active(pid):
                continue
            _, seconds = self._interval(pid)
            minutes, state = self.health.freshness(pid, seconds, now)
            if state == "stale" and minutes and minutes > max(30, 6 * seconds / 60):
                await self.alert("staleness", "warning",
                                 f"{pid} has sent no new data for {minutes:.0f} minutes", pid,
                                 dedupe=f"stale:{pid}")
            elif state == "fresh":
                self._pending_alerts.discard(f"stale:{pid}")
        self.bus.publish("health_checker", {"event": "metrics", **metrics})

    async def _retention_job(self, _slot: datetime) -> None:
        assert self.store is not None
        deleted = await self.store.maintain(self.store.retention, self.config.retention_days)
        if deleted:
            log.info("retention removed %d rows older than %d days", deleted,
                     self.config.retention_days)

    async def _gap_job(self, _slot: datetime) -> None:
        """Hourly: find and fill gaps (sleep, outage) in the last 2 days of 1h candles."""
        from cryptohub_desktop.engine.backfill import backfill
        report = await backfill(self, symbols=self.config.watchlist, days=2, intervals=("1h",))
        if report.inserted:
            log.info("gap fill: %d candles in %d gaps", report.inserted, report.gaps)

    async def _backup_job(self, _slot: datetime) -> None:
        await self.backup()

    async def backup(self, dest: Any = None) -> Any:
        """Online backup into ``backups/`` (or ``dest``), keeping the newest N."""
        from pathlib import Path
        assert self.store is not None
        folder = self.config.data_dir / "backups"
        target = Path(dest) if dest else folder / f"api_monitor-{utcnow():%Y%m%d-%H%M%S}.db"
        out = await asyncio.to_thread(self.store.backup_to, target)
        if not dest:
            await asyncio.to_thread(rotate_backups, folder, self.config.backup_keep)
        log.info("backup written to %s", out)
        return out

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.error("background task failed: %s", task.exception())

    async def settle(self) -> None:
        """Wait for background writes and alerts spawned so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


def _sane(pid: str, records: list[Record]) -> list[Record]:
    """Drop values no market can have (a zero or negative price or volume): a provider
    glitch must not reach charts and the consensus. Logged, the rest is kept."""
    out = []
    for r in records:
        bad = (isinstance(r, Price) and (r.price_usd <= 0 or (r.volume_24h or 0) < 0)) or (
            isinstance(r, Candle) and (min(r.open, r.high, r.low, r.close) <= 0
                                       or r.volume < 0 or r.high < r.low))
        if bad:
            log.info("%s: dropped an impossible value: %s", pid, r)
        else:
            out.append(r)
    return out


def _compliance_data(ev: Any, comp: Compliance) -> dict[str, Any]:
    from cryptohub_desktop.core.time import iso
    st = comp.stats.get(ev.provider_id)
    return {"provider": ev.provider_id, "expected": iso(ev.expected), "actual": iso(ev.actual),
            "on_time": ev.on_time, "delay_seconds": ev.delay_seconds,
            "skip_reason": ev.skip_reason,
            "on_time_percentage": st.on_time_percentage if st else None}


def _jsonable(record: Record) -> dict[str, Any]:
    return {**as_dict(record), "type": record.TABLE}


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        try:
            import resource
            return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        except Exception:  # noqa: BLE001
            return None


def _lexicon() -> Any:
    from cryptohub_desktop.engine.textsentiment import default_lexicon_model
    return default_lexicon_model()


def _load_text_model() -> Any:
    try:
        from cryptohub_desktop.engine.textsentiment import load_text_model
    except ImportError:
        return None
    try:
        return load_text_model()
    except Exception as exc:  # noqa: BLE001 - sentiment is optional, never a crash
        log.warning("text sentiment model unavailable: %s", exc)
        return None


__all__ = ["Hub", "RunResult", "CATEGORIES"]
