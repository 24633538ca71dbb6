"""Writer-side bookkeeping: what one collection, a usage snapshot or a status
change writes to the monitoring tables. Every function here runs on the store's
writer thread inside one transaction (``await store.write(fn, ...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptohub_desktop.core.errors import FencedOut
from cryptohub_desktop.core.records import Candle, Price, Record
from cryptohub_desktop.core.time import from_db, to_db, utcnow
from cryptohub_desktop.engine.pools import Pool, Rotation
from cryptohub_desktop.engine.scheduler import ComplianceEvent
from cryptohub_desktop.providers.ratelimit import Usage
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.providers.upstream import Attempt
from cryptohub_desktop.storage import queries
from cryptohub_desktop.storage.models import (
    Alert,
    ConnectionAttempt,
    DataCollection,
    FailureLog,
    MarketPrice,
    PoolMember,
    ProviderRow,
    RateLimitUsage,
    RotationHistory,
    RotationState,
    ScheduleCompliance,
    ScheduleConfig,
    SourcePool,
    SystemMetric,
)
from cryptohub_desktop.storage.store import Store


@dataclass
class Outcome:
    """Everything one provider run produced, to be written in one transaction."""

    provider_id: str
    category: str
    started: datetime
    status: str  # success / failure / skipped / needs_key / disabled
    duration_ms: float = 0.0
    records: Sequence[Record] = ()
    attempts: Sequence[Attempt] = ()
    error_type: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    scheduled: datetime | None = None
    instance_id: str | None = None  # the team-hub instance that ran it
    fence: Callable[[], None] | None = None  # raises FencedOut when the lease was lost
    compliance: ComplianceEvent | None = None
    provider_status: str | None = None
    success_rate: float | None = None
    response_time_ms: float | None = None
    consecutive_failures: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    outliers: list[dict[str, Any]] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)  # symbols where the source agrees


def data_time(records: Iterable[Record]) -> datetime | None:
    """The newest timestamp among the records (what their data is as of)."""
    best = None
    for r in records:
        t = getattr(r, "timestamp", None) or getattr(r, "published_at", None) or getattr(
            r, "open_time", None)
        if t is not None and (best is None or t > best):
            best = t
    return best


def persist_outcome(store: Store, o: Outcome, deviation_pct: float,
                    max_age_seconds: float) -> Outcome:
    """Write a run: attempts, failure, collection row, records, provider state.

    Raises:
        FencedOut: (team hub) the lease of the provider was lost, or another instance
            already stored this scheduled slot; nothing of the run is written.
    """
    now = utcnow()
    if o.fence is not None:
        o.fence()
    for a in o.attempts:
        ConnectionAttempt.create(
            provider_id=a.provider_id, timestamp=to_db(a.started), endpoint=a.endpoint,
            status="success" if a.ok else "failure", response_time_ms=round(a.response_time_ms, 2),
            http_status_code=a.status_code, error_type=a.error_type,
            error_message=a.error_message, payload_bytes=a.payload_bytes)
    if o.status == "failure":
        FailureLog.create(provider_id=o.provider_id, timestamp=to_db(o.started),
                          error_type=o.error_type or "unknown",
                          error_message=(o.error_message or "")[:2000],
                          http_status_code=o.http_status,
                          endpoint=o.attempts[-1].endpoint if o.attempts else "",
                          retry_attempted=len(o.attempts) > 1)
    if o.records:
        o.counts = store.insert_records(o.provider_id, o.records)
        if o.counts.get("market_prices"):
            symbols = {r.symbol.upper() for r in o.records if isinstance(r, Price)}
            o.outliers = update_consensus(o.provider_id, symbols, deviation_pct,
                                          max_age_seconds, now)
            o.inline = sorted(symbols - {x["symbol"] for x in o.outliers})
    if o.status in ("success", "failure"):
        dt = data_time(o.records)
        stored = DataCollection.insert(
            provider_id=o.provider_id, category=o.category, scheduled_time=to_db(o.scheduled),
            actual_fetch_time=to_db(o.started), data_timestamp=to_db(dt),
            staleness_minutes=round((now - dt).total_seconds() / 60.0, 2) if dt else None,
            record_count=sum(o.counts.values()) if o.counts else 0,
            payload_size_bytes=sum(a.payload_bytes for a in o.attempts),
            on_schedule=o.compliance.on_time if o.compliance else True,
            status=o.status, error_type=o.error_type, duration_ms=round(o.duration_ms, 1),
            instance_id=o.instance_id).on_conflict_ignore().execute()
        if not stored and o.scheduled is not None:
            raise FencedOut(f"{o.provider_id}: the {o.scheduled:%H:%M:%S} slot was already "
                            "stored (by another instance); this run is not stored")
    if o.compliance:
        persist_compliance(o.compliance)
    upd: dict[Any, Any] = {ProviderRow.updated_at: to_db(now)}
    if o.status in ("success", "failure"):
        upd.update({ProviderRow.last_check: to_db(o.started),
                    ProviderRow.success_rate: o.success_rate,
                    ProviderRow.response_time_ms: o.response_time_ms,
                    ProviderRow.consecutive_failures: o.consecutive_failures})
    if o.status == "success":
        upd[ProviderRow.last_success] = to_db(o.started)
        upd[ProviderRow.last_data_time] = to_db(data_time(o.records) or o.started)
    if o.provider_status:
        upd[ProviderRow.status] = o.provider_status
    ProviderRow.update(upd).where(ProviderRow.id == o.provider_id).execute()
    return o


@dataclass
class StreamBatch:
    """What one provider's live stream brought since the last write (prices already
    thinned to one a second per symbol; the newest values of each candle)."""

    provider_id: str
    prices: Sequence[Price]
    candles: Sequence[Candle]
    fence: Callable[[], None] | None = None  # raises FencedOut when the lease was lost


def persist_streams(store: Store, batches: Sequence[StreamBatch], deviation_pct: float,
                    max_age_seconds: float) -> list[str]:
    """Write the live streams' batches in one transaction: each provider's prices with
    the consensus flags of their symbols, and its candles upserted (a re-sent open candle
    keeps its last values). Returns the providers whose lease was lost (team hub): their
    fence refused before anything of theirs was written; the others are written."""
    fenced = []
    for b in batches:
        if b.fence is not None:
            try:
                b.fence()
            except FencedOut:
                fenced.append(b.provider_id)
                continue
        if b.prices:
            store.insert_records(b.provider_id, b.prices)
            update_consensus(b.provider_id, {p.symbol.upper() for p in b.prices},
                             deviation_pct, max_age_seconds, utcnow())
            newest = max(p.timestamp for p in b.prices)
            ProviderRow.update(last_data_time=to_db(newest)).where(
                ProviderRow.id == b.provider_id).execute()
        if b.candles:
            store.upsert_candles(b.provider_id, b.candles)
    return fenced


def persist_stream_failure(pid: str, error_type: str, message: str, when: datetime) -> None:
    """One ``failure_logs`` row for what a live stream reported (``parse_error``,
    ``subscription_rejected``, ``stale``, ...); the endpoint is ``stream``."""
    FailureLog.create(provider_id=pid, timestamp=to_db(when), error_type=error_type,
                      error_message=message[:2000], endpoint="stream")


def update_consensus(source: str, symbols: set[str], deviation_pct: float,
                     max_age_seconds: float, now: datetime) -> list[dict[str, Any]]:
    """Recompute consensus for ``symbols`` from each source's latest fresh price and
    mark the rows just written by ``source``; returns the outliers among them."""
    out = []
    since = now - timedelta(seconds=max_age_seconds)
    for symbol in symbols:
        rows = queries.latest_source_prices(symbol, since)
        c = queries.consensus_of(symbol, rows, now, max_age_seconds, deviation_pct)
        by_source = {s.source: s for s in c.sources}
        for r in rows:
            s = by_source.get(r.source)
            if s is None:
                continue
            if r.deviation_pct != s.deviation_pct or r.outlier != s.outlier:
                MarketPrice.update(deviation_pct=s.deviation_pct, outlier=s.outlier).where(
                    MarketPrice.id == r.id).execute()
            if s.outlier and r.source == source:
                out.append({"symbol": symbol, "source": source, "price": s.price,
                            "consensus": c.price, "deviation_pct": s.deviation_pct})
    return out


def persist_compliance(ev: ComplianceEvent) -> None:
    ScheduleCompliance.create(provider_id=ev.provider_id, expected_time=to_db(ev.expected),
                              actual_time=to_db(ev.actual), delay_seconds=ev.delay_seconds,
                              on_time=ev.on_time, skip_reason=ev.skip_reason,
                              timestamp=to_db(ev.actual or ev.expected))
    sc = ScheduleConfig.get_or_none(ScheduleConfig.provider_id == ev.provider_id)
    if sc is None:
        return
    if ev.skip_reason:
        sc.skip_count += 1
    elif ev.on_time:
        sc.on_time_count += 1
    else:
        sc.late_count += 1
    if ev.actual:
        sc.last_run = to_db(ev.actual)
    sc.next_run = to_db(ev.expected + timedelta(seconds=sc.interval_seconds))
    sc.save()


def sync_catalogue(providers: Sequence[Provider], enabled: dict[str, bool],
                   key_present: dict[str, bool], intervals: dict[str, tuple[str, int]],
                   pools: Sequence[Pool]) -> dict[str, dict[str, Any]]:
    """Upsert the catalogue into ``providers``, ``schedule_config`` and the pool
    tables; returns the stored per-provider state (to resume health and toggles).

    Every row is written with ``INSERT ... ON CONFLICT (its unique key)``, so instances
    starting at once on one database cannot race into duplicate rows: the catalogue's
    own fields are refreshed, what the user or the engine set (enabled, strategy,
    member order and counts, rotation state) is kept.
    """
    now = to_db(utcnow())
    for p in providers:
        s = p.spec
        limits = ", ".join(f"{r.calls}/{r.label.replace('per_', '')}" for r in s.rate_limits)
        row = {"name": s.name, "category": s.category, "base_url": s.base_url,
               "docs_url": s.docs_url, "requires_key": s.auth.requires_key,
               "key_configured": key_present.get(s.id, False), "priority_tier": s.tier,
               "pool": s.pool_name, "rate_limit": limits, "updated_at": now}
        (ProviderRow.insert(id=s.id, enabled=enabled.get(s.id, True), **row)
         .on_conflict(conflict_target=[ProviderRow.id],
                      preserve=[getattr(ProviderRow, k) for k in row]).execute())
        name, seconds = intervals[s.id]
        (ScheduleConfig.insert(provider_id=s.id, schedule_interval=name,
                               interval_seconds=seconds, enabled=enabled.get(s.id, True))
         .on_conflict(conflict_target=[ScheduleConfig.provider_id],
                      preserve=[ScheduleConfig.schedule_interval,
                                ScheduleConfig.interval_seconds]).execute())
    for pool in pools:
        (SourcePool.insert(name=pool.name, category=pool.category, strategy=pool.strategy)
         .on_conflict(action="nothing", conflict_target=[SourcePool.name]).execute())
        pool.strategy = SourcePool.get(SourcePool.name == pool.name).strategy
        stored = {m.provider_id: m for m in PoolMember.select().where(
            PoolMember.pool_name == pool.name)}
        if stored:
            pool.reorder(sorted(stored, key=lambda pid: stored[pid].priority))
        for i, m in enumerate(pool.members):
            st = stored.get(m.provider_id)
            if st is None:
                (PoolMember.insert(pool_name=pool.name, provider_id=m.provider_id, priority=i)
                 .on_conflict(action="nothing",
                              conflict_target=[PoolMember.pool_name, PoolMember.provider_id])
                 .execute())
            else:
                m.enabled, m.use_count = st.enabled, st.use_count
                m.success_count, m.failure_count = st.success_count, st.failure_count
        (RotationState.insert(pool_name=pool.name)
         .on_conflict(action="nothing", conflict_target=[RotationState.pool_name]).execute())
        pool.rotation_count = RotationState.get(RotationState.pool_name == pool.name
                                                ).rotation_count
    return {r.id: {"enabled": r.enabled, "last_success": from_db(r.last_success),
                   "last_data_time": from_db(r.last_data_time), "status": r.status,
                   "last_check": from_db(r.last_check),
                   "consecutive_failures": r.consecutive_failures}
            for r in ProviderRow.select()}


def persist_rotation(rot: Rotation, pool: Pool) -> None:
    RotationHistory.create(pool_name=rot.pool, from_provider=rot.from_provider,
                           to_provider=rot.to_provider, reason=rot.reason,
                           timestamp=to_db(rot.timestamp))
    RotationState.update(current_provider=rot.to_provider, last_rotation=to_db(rot.timestamp),
                         rotation_count=pool.rotation_count).where(
        RotationState.pool_name == rot.pool).execute()


def persist_pool(pool: Pool) -> None:
    SourcePool.update(strategy=pool.strategy).where(SourcePool.name == pool.name).execute()
    for i, m in enumerate(pool.members):
        PoolMember.update(priority=i, enabled=m.enabled, use_count=m.use_count,
                          success_count=m.success_count, failure_count=m.failure_count,
                          last_used=to_db(m.last_used)).where(
            PoolMember.pool_name == pool.name, PoolMember.provider_id == m.provider_id).execute()


def persist_usage(usages: Sequence[Usage], now: datetime) -> None:
    rows = [{"provider_id": u.provider, "timestamp": to_db(now), "limit_type": u.limit_type,
             "limit_value": u.limit_value, "current_usage": u.current_usage,
             "percentage": u.percentage,
             "reset_time": to_db(now + timedelta(seconds=u.reset_in_seconds))} for u in usages]
    if rows:
        RateLimitUsage.insert_many(rows).execute()


def add_alert(alert_type: str, severity: str, message: str,
              provider_id: str | None = None) -> dict[str, Any]:
    row = Alert.create(timestamp=to_db(utcnow()), provider_id=provider_id,
                       alert_type=alert_type, severity=severity, message=message)
    return {"id": row.id, "timestamp": row.timestamp, "provider_id": provider_id,
            "alert_type": alert_type, "severity": severity, "message": message,
            "acknowledged": False}


def acknowledge_alert(alert_id: int) -> bool:
    return Alert.update(acknowledged=True, acknowledged_at=to_db(utcnow())).where(
        Alert.id == alert_id).execute() > 0


def set_provider_enabled(provider_id: str, enabled: bool) -> None:
    ProviderRow.update(enabled=enabled).where(ProviderRow.id == provider_id).execute()
    ScheduleConfig.update(enabled=enabled).where(
        ScheduleConfig.provider_id == provider_id).execute()


def persist_metrics(row: dict[str, Any]) -> None:
    SystemMetric.create(**row)
