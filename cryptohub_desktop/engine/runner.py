"""The run pipeline: one run of one provider, from the decision to call it to the
update its subscribers get.

One run (:meth:`Runner.run_provider`)::

    enabled? key? circuit closed? room in the rate limit?
      -> collect (the provider's requests through the HTTP door) -> records
      -> sanity filter, headline scoring
      -> what came of it: success (records), empty (it answered, nothing usable:
         a not-success with its reason), idle (no input, nobody asked), failure
      -> one writer transaction (bookkeeping.persist_outcome): attempts, failure,
         data_collections, records, consensus flags, provider state, compliance
      -> health + pool bookkeeping -> updates on the bus (the category's service,
         scheduler) and alerts (deviation, storage)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import (
    FencedOut,
    StoreError,
    UpstreamError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from cryptohub_desktop.core.records import Candle, NewsArticle, Price, Record, as_dict
from cryptohub_desktop.core.time import iso, utcnow
from cryptohub_desktop.core.topics import CATEGORY_SERVICE
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.alerts import Alerts
from cryptohub_desktop.engine.catalogue import Catalogue
from cryptohub_desktop.engine.connectivity import UNREACHABLE, Connectivity
from cryptohub_desktop.engine.health import HealthMonitor
from cryptohub_desktop.engine.pools import Pool
from cryptohub_desktop.engine.ports import Coordinator, EventBus, SoleCoordinator
from cryptohub_desktop.engine.scheduler import Compliance, ComplianceEvent
from cryptohub_desktop.engine.status import RequestLog
from cryptohub_desktop.providers.ratelimit import Limiter
from cryptohub_desktop.providers.upstream import Attempt, Context, UpstreamFactory
from cryptohub_desktop.storage import queries
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.hub")

RUN_TIMEOUT = 90.0
MAX_PARALLEL = 8
PARSE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)
MAX_PUBLISHED_RECORDS = 500
#: categories where an answer without records is normal (no whale moved: nothing to say)
EMPTY_IS_NORMAL = frozenset({"whale_tracking"})
#: why a run that asked nobody and got nothing had no input, per category
NO_INPUT = {
    "sentiment": "no input: no stored headline of the last 24 h to score yet",
    "whale_tracking": "no input: waiting for a consensus price to value transfers",
}
NO_INPUT_DEFAULT = "no input: none of the watched symbols is listed by this provider"


@dataclass
class RunResult:
    """What ``collect --once`` prints for a provider."""

    provider_id: str
    category: str
    status: str  # success / failure / empty / idle / skipped / needs_key / disabled
    records: int = 0
    ms: float = 0.0
    error_type: str | None = None
    error: str | None = None




class Runner:
    """Runs providers and turns their answers into stored rows and published updates.

    Args:
        catalogue: providers, their toggles, keys and intervals.
        store: the database.
        bus: where updates go.
        alerts: deviation and storage alerts.
        health: status, circuit breaker and freshness per provider.
        compliance: on-time / late / skipped accounting.
        pools: category pools (reported to after each run).
        limiters: provider id -> its rate limiter.
        upstream: provider id, attempt list -> an HTTP door bound to the provider.
        context: provider id -> what its collector may know (watchlist, prices ...).
        requests: the last hour's requests, for system metrics.
        prices: the consensus price per symbol, kept current here (shared with the
            collectors' context).
        text_model: scores headlines that arrive without sentiment (None: leave them).
        coordinator: in a team hub, whether this instance holds a provider's lease; a
            scheduled run of a provider it does not hold is not made, and the write of
            one it held is fenced (checked against the lease in the same transaction).
        on_prices: called with the consensus prices after each refresh (price rules).
        connectivity: hears every run's requests to tell when this machine is offline.
    """

    def __init__(self, *, catalogue: Catalogue, config: Config, store: Store, bus: EventBus,
                 alerts: Alerts, health: HealthMonitor, compliance: Compliance,
                 pools: dict[str, Pool], limiters: dict[str, Limiter],
                 upstream: UpstreamFactory, context: Callable[[str], Context],
                 requests: RequestLog, prices: dict[str, float], text_model: Any = None,
                 coordinator: Coordinator | None = None,
                 on_prices: Callable[[dict[str, float]], None] = lambda prices: None,
                 connectivity: Connectivity | None = None) -> None:
        self.catalogue = catalogue
        self.config = config
        self.store = store
        self.bus = bus
        self.alerts = alerts
        self.health = health
        self.compliance = compliance
        self.pools = pools
        self.limiters = limiters
        self.upstream = upstream
        self.context = context
        self.requests = requests
        self.prices = prices
        self.text_model = text_model
        self.coordinator = coordinator or SoleCoordinator("")
        self.on_prices = on_prices
        self.connectivity = connectivity or Connectivity()
        self._sem = asyncio.Semaphore(MAX_PARALLEL)

    async def run_provider(self, pid: str, scheduled: datetime | None = None) -> RunResult:
        """One run of one provider, written to the store and published."""
        provider = self.catalogue[pid]
        spec = provider.spec
        seconds = self.catalogue.interval(pid)[1]
        started = utcnow()
        if not self.catalogue.enabled.get(pid, True):
            return RunResult(pid, spec.category, "disabled")
        fence = None
        if scheduled is not None:
            if not self.coordinator.owns(pid):
                return RunResult(pid, spec.category, "skipped", error_type="not_owner",
                                 error="another instance of the team collects it")
            fence = self.coordinator.fence(pid)
        if self.catalogue.key_state(pid) == "missing":
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
                records = sane(pid, records)
                if any(isinstance(r, NewsArticle) for r in records):
                    await asyncio.to_thread(self._score_headlines, records)
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
        self.requests.add(attempts)
        self.connectivity.observe(pid, attempts)
        kind = "failure" if error is not None else "success"
        reason: str | None = None
        if error is not None:
            records = []
            log.log(logging.INFO if error.error_type != "internal_error" else logging.ERROR,
                    "%s failed: %s (%s)", pid, error, error.error_type)
        elif not records and not attempts:
            kind, reason = "idle", NO_INPUT.get(spec.category, NO_INPUT_DEFAULT)
        elif not records and spec.category not in EMPTY_IS_NORMAL:
            kind, reason = "empty", empty_reason(attempts)
            log.info("%s: %s", pid, reason)
        if kind == "empty":
            status = self.health.record_empty(pid, when=started, response_time_ms=ms,
                                              reason=reason or "")
        elif kind == "idle":
            status = self.health.record_idle(pid, when=started, reason=reason or "")
        else:
            status = self.health.record(
                pid, ok=error is None, when=started,
                response_time_ms=ms if error is None else None,
                error_type=error.error_type if error else None,
                data_time=bookkeeping.data_time(records) if records else None,
                unreachable=bool(error and error.status is None
                                 and error.error_type in UNREACHABLE),
                error=str(error) if error else None)
        h = self.health.get(pid)
        pool = self.pools.get(spec.pool_name)
        if pool and kind != "idle":
            pool.report(pid, kind == "success",
                        "empty_answer" if kind == "empty" else
                        error.error_type if error else None)
            if pool.current is None:
                pool.pick()
        outcome = bookkeeping.Outcome(
            provider_id=pid, category=spec.category, started=started,
            status="failure" if kind == "empty" else kind, duration_ms=ms, records=records,
            attempts=attempts,
            error_type="empty_answer" if kind == "empty" else error.error_type if error else None,
            error_message=reason if kind == "empty" else str(error) if error else None,
            http_status=error.status if error else None, scheduled=scheduled,
            compliance=compliance, provider_status=status, success_rate=h.success_rate,
            response_time_ms=h.response_time_ms, consecutive_failures=h.consecutive_failures,
            instance_id=self.coordinator.instance_id or None, fence=fence)
        try:
            outcome = await self.store.write(
                bookkeeping.persist_outcome, self.store, outcome,
                self.config.consensus_deviation_pct, self.config.consensus_max_age_seconds)
        except FencedOut as exc:
            log.info("%s", exc)
            return RunResult(pid, spec.category, "skipped", 0, ms, "lease_lost", str(exc))
        except StoreError as exc:
            log.error("%s: could not store the run: %s", pid, exc)
            await self.alerts.fire("storage_error", "critical", f"could not store data: {exc}",
                                   pid, dedupe="storage_error")
            return RunResult(pid, spec.category, "failure", 0, ms, "storage_error", str(exc))
        self.alerts.clear("storage_error")  # writable again: alert next time
        await self._publish(pid, outcome)
        return RunResult(pid, spec.category, kind, sum(outcome.counts.values()),
                         round(ms, 1), outcome.error_type, outcome.error_message or reason)

    async def collect_once(self, ids: Sequence[str] | None = None,
                           on_done: Callable[[RunResult], None] | None = None
                           ) -> list[RunResult]:
        """One pass over the selected (default: every enabled) provider; ``on_done`` is
        called with each provider's result as it finishes.

        Market data runs first (whale thresholds need prices), news before the
        headline sentiment that reads it.
        """
        chosen = list(ids) if ids else [p for p in self.catalogue.providers
                                        if self.catalogue.enabled.get(p, True)]
        cat = {pid: self.catalogue[pid].spec.category for pid in chosen}
        phases = [[p for p in chosen if cat[p] == "market_data"],
                  [p for p in chosen if cat[p] not in ("market_data", "whale_tracking")
                   and p != "news_sentiment"],
                  [p for p in chosen if cat[p] == "whale_tracking" or p == "news_sentiment"]]
        results: dict[str, RunResult] = {}
        async def run(pid: str) -> RunResult:
            result = await self.run_provider(pid)
            if on_done is not None:
                on_done(result)
            return result
        for phase in phases:
            for r in await asyncio.gather(*(run(p) for p in phase)):
                results[r.provider_id] = r
            if phase is phases[0] and phase:
                await self.refresh_prices()
        for pool in self.pools.values():
            if pool.current is None:
                pool.pick()
        return [results[p] for p in chosen]

    async def refresh_prices(self) -> None:
        """Re-read the consensus price of every watched symbol."""
        cons = await self.store.read(queries.latest_consensus, list(self.config.watchlist),
                                     self.config.consensus_max_age_seconds,
                                     self.config.consensus_deviation_pct)
        self.prices.update({c.symbol: c.price for c in cons if c.price})
        self.on_prices(self.prices)

    def _score_headlines(self, records: list[Record]) -> None:
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
            await self.store.write(bookkeeping.persist_compliance, ev)
            self.bus.publish("scheduler", compliance_update(ev, self.compliance))
        pool = self.pools.get(self.catalogue[pid].spec.pool_name)
        if pool and pool.current == pid:
            pool.report(pid, False, reason)
        return RunResult(pid, category, "skipped", error_type=reason, error=reason)

    async def _publish(self, pid: str, o: bookkeeping.Outcome) -> None:
        """Publish a stored run: ``{provider, category, records, counts}`` on the
        category's service; a market_data update also carries the consensus after this
        write of every symbol it touched and its price records' outlier flags."""
        if o.status == "success" and o.records:
            records = [{**as_dict(r), "type": r.TABLE} for r in o.records[:MAX_PUBLISHED_RECORDS]]
            update: dict[str, Any] = {"provider": pid, "category": o.category,
                                      "records": records, "counts": o.counts}
            if o.category == "market_data":
                update.update(await self._consensus_update(pid, o, records))
            self.bus.publish(CATEGORY_SERVICE[o.category], update)
        if o.compliance:
            self.bus.publish("scheduler", compliance_update(o.compliance, self.compliance))
        for symbol in o.inline:  # back within the threshold: a new deviation alerts again
            self.alerts.clear(f"{symbol}:{pid}")
        for out in o.outliers:
            self.alerts.fire_soon(
                "price_deviation", "warning",
                f"{out['source']} quotes {out['symbol']} at {out['price']:.6g}, "
                f"{out['deviation_pct']:+.2f}% from the consensus {out['consensus']:.6g}", pid,
                dedupe=f"{out['symbol']}:{out['source']}")

    async def _consensus_update(self, pid: str, o: bookkeeping.Outcome,
                                records: list[dict[str, Any]]) -> dict[str, Any]:
        """The consensus (read after the write) of the symbols the run touched, its outlier
        flags on ``records`` (in place), and the watched symbols' prices refreshed."""
        touched = sorted({r.symbol.upper() for r in o.records if isinstance(r, Price)})
        watched = [s.upper() for s in self.config.watchlist]
        cons = await self.store.read(queries.latest_consensus,
                                     list(dict.fromkeys([*touched, *watched])),
                                     self.config.consensus_max_age_seconds,
                                     self.config.consensus_deviation_pct)
        by_symbol = {c.symbol: c for c in cons}
        self.prices.update({c.symbol: c.price for c in cons if c.price and c.symbol in watched})
        self.on_prices(self.prices)
        mine = {c.symbol: s for c in cons for s in c.sources if s.source == pid}
        for rec in records:
            if rec["type"] == "market_prices":
                src = mine.get(str(rec["symbol"]).upper())
                rec["outlier"] = bool(src and src.outlier)
                rec["deviation_pct"] = src.deviation_pct if src else None
        return {"consensus": [{"symbol": c.symbol, "consensus_price": c.price,
                               "source_count": len(c.sources),
                               "outliers": [s.source for s in c.outliers]}
                              for c in (by_symbol[s] for s in touched)],
                "outliers": list(o.outliers)}


def sane(pid: str, records: list[Record]) -> list[Record]:
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


def empty_reason(attempts: Sequence[Attempt]) -> str:
    """Why an answered run counts as "empty", in one line."""
    codes = sorted({a.status_code for a in attempts if a.status_code is not None})
    size = sum(a.payload_bytes for a in attempts)
    shown = f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"
    http = f"HTTP {', '.join(map(str, codes))}, " if codes else ""
    calls = f" in {len(attempts)} requests" if len(attempts) > 1 else ""
    return f"answered ({http}{shown}{calls}) but with no usable records"


def compliance_update(ev: ComplianceEvent, comp: Compliance) -> dict[str, Any]:
    """The ``scheduler`` service's update for one compliance event."""
    st = comp.stats.get(ev.provider_id)
    return {"provider": ev.provider_id, "expected": iso(ev.expected), "actual": iso(ev.actual),
            "on_time": ev.on_time, "delay_seconds": ev.delay_seconds,
            "skip_reason": ev.skip_reason,
            "on_time_percentage": st.on_time_percentage if st else None}
