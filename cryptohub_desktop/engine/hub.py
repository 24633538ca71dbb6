"""The hub: wires the engine's parts together and runs their lifecycle.

It owns nothing clever itself. At :meth:`Hub.start` it opens the store, reads the
keys, syncs the catalogue into the database, builds the :class:`Runner` (the run
pipeline) and the :class:`Jobs` (housekeeping) with their collaborators, and
schedules what this instance collects (all providers on a single machine; its
share of them in a team hub, through the :class:`Coordinator` port). It starts
and stops cleanly on any running asyncio loop (qasync in the GUI, plain asyncio
headless) and imports no Qt.

Example::

    hub = Hub(config, collectors.PROVIDERS, Secrets())
    await hub.start()
    await hub.runner.run_provider("coingecko")
    await hub.stop()
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import human_duration, utcnow
from cryptohub_desktop.core.topics import Event
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.alerts import Alerts
from cryptohub_desktop.engine.bus import Bus
from cryptohub_desktop.engine.catalogue import Catalogue
from cryptohub_desktop.engine.connectivity import Connectivity, NetworkState
from cryptohub_desktop.engine.health import HealthMonitor
from cryptohub_desktop.engine.jobs import Jobs
from cryptohub_desktop.engine.notices import Notices
from cryptohub_desktop.engine.pools import Member, Pool, Rotation
from cryptohub_desktop.engine.ports import (
    TEAM,
    Coordinator,
    EventBus,
    Limits,
    MemoryLimits,
    SoleCoordinator,
)
from cryptohub_desktop.engine.runner import Runner, compliance_update
from cryptohub_desktop.engine.scheduler import Compliance, Scheduler
from cryptohub_desktop.engine.status import RequestLog, status_counts, system_metrics
from cryptohub_desktop.engine.streams import StreamManager
from cryptohub_desktop.engine.tasks import Background
from cryptohub_desktop.engine.textsentiment import (
    TextSentiment,
    default_lexicon_model,
    load_text_model,
)
from cryptohub_desktop.providers.ratelimit import Limiter
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.providers.upstream import Attempt, Context, Upstream, http_client
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage import queries
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.hub")

MAINTENANCE_SECONDS = 60
FIRST_RUNS_SPREAD_SECONDS = 15
#: statuses resumed after a restart when the provider was checked recently enough
RESUMED = ("online", "degraded", "offline", "empty", "idle")


class Hub:
    """The engine of one instance.

    Args:
        config: the loaded configuration.
        providers: the catalogue (``collectors.PROVIDERS``).
        secrets: key access.
        clock: monotonic seconds (rate limits, circuit breaker); tests pass a fake.
        bus: where updates go (default: in-process; a team hub passes its cluster bus).
        coordinator: which providers this instance collects (default: all).
        limits: builds each provider group's rate limiter (default: in memory).

    Attributes:
        catalogue: providers with their toggles, keys and intervals.
        bus, health, compliance, scheduler, pools, limiters: the engine's parts.
        prices: the consensus price per watched symbol, kept current by the runner.
        store, runner, jobs, text_model: set by :meth:`start`.
    """

    def __init__(self, config: Config, providers: Sequence[Provider], secrets: Secrets,
                 *, clock: Callable[[], float] = time.monotonic, bus: EventBus | None = None,
                 coordinator: Coordinator | None = None,
                 limits: Limits | None = None) -> None:
        self.config = config
        self.secrets = secrets
        self.catalogue = Catalogue(config, providers)
        self.providers = self.catalogue.providers
        self.coordinator: Coordinator = coordinator or SoleCoordinator(
            f"{socket.gethostname()}-{config.server.port}")
        self.bus: EventBus = bus or Bus(self.coordinator.instance_id)
        self.tasks = Background()
        self.alerts = Alerts(self.bus, self.tasks, lambda pid: self.providers[pid].spec.name)
        self.notices = Notices(config, self.bus, self.alerts, self.coordinator, secrets)
        self.health = HealthMonitor(clock=clock, on_change=self._on_status_change)
        self.compliance = Compliance()
        self.scheduler = Scheduler(on_missed=self._on_missed)
        self.symbol_map = SymbolMap.bundled()
        self.requests = RequestLog()
        self.limits: Limits = limits or MemoryLimits(clock)
        self.connectivity = Connectivity(on_change=self._on_network)
        self.limiters: dict[str, Limiter] = {}
        groups: dict[str, Limiter] = {}  # a limit_group shares one account's limiter
        for pid, p in self.providers.items():
            group = p.spec.limit_group or pid
            if group not in groups:
                documented = config.provider(pid).rate_limits or p.spec.rate_limits
                groups[group] = self.limits.limiter(group, documented,
                                                    self.alerts.on_rate_warning)
            self.limiters[pid] = groups[group]
        self.pools: dict[str, Pool] = {}
        self.prices: dict[str, float] = {}
        self.store: Store | None = None
        self.runner: Runner | None = None
        self.jobs: Jobs | None = None
        self.streams: StreamManager | None = None
        self.client: httpx.AsyncClient | None = None
        self.started_at: datetime | None = None
        self.text_model: TextSentiment | None = None
        self.server_clients: Callable[[], int] = lambda: 0
        self.request_timeout = 15.0
        self.owned: set[str] = set()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._prices_pending = False
        self._running = False
        self._scheduling = False

    # --- lifecycle -----------------------------------------------------------------
    async def start(self, *, schedule: bool = True) -> None:
        """Open the store, resolve keys, sync the catalogue and (optionally) schedule.

        Raises:
            StoreError: the database cannot be opened.
        """
        self.started_at = utcnow()
        await self.bus.start()
        self.store = store = await asyncio.to_thread(Store.open, self.config.database_url,
                                                     self.secrets.get)
        self.alerts.store = store
        await asyncio.to_thread(self.catalogue.resolve_keys, self.secrets)
        self.text_model = await asyncio.to_thread(_load_text_model)
        self._build_pools()
        cat = self.catalogue
        intervals = {pid: cat.interval(pid) for pid in self.providers}
        stored = await store.write(
            bookkeeping.sync_catalogue, list(self.providers.values()),
            {pid: cat.config_enabled(pid, p.spec.enabled_by_default)
             for pid, p in self.providers.items()},
            {pid: bool(cat.keys.get(pid)) for pid in self.providers}, intervals,
            list(self.pools.values()))
        for pid, p in self.providers.items():
            st = stored.get(pid, {})
            cat.enabled[pid] = cat.config_enabled(pid, st.get("enabled",
                                                              p.spec.enabled_by_default))
            h = self.health.get(pid)
            h.last_success, h.last_data_time = st.get("last_success"), st.get("last_data_time")
            self.health.set_status(pid, cat.idle_status(pid))
            checked = st.get("last_check")
            if (cat.is_active(pid) and st.get("status") in RESUMED and checked is not None
                    and (self.started_at - checked).total_seconds()
                    <= max(600, 2 * intervals[pid][1])):
                self.health.restore(pid, st["status"], checked,
                                    st.get("consecutive_failures") or 0)
            self.compliance.ensure(pid, intervals[pid][1])
        self.client = http_client()
        self.runner = Runner(
            catalogue=cat, config=self.config, store=store, bus=self.bus, alerts=self.alerts,
            health=self.health, compliance=self.compliance, pools=self.pools,
            limiters=self.limiters, upstream=self.upstream, context=self.context,
            requests=self.requests, prices=self.prices, text_model=self.text_model,
            coordinator=self.coordinator, on_prices=self.notices.check_prices,
            connectivity=self.connectivity)
        self.jobs = Jobs(catalogue=cat, config=self.config, store=store, bus=self.bus,
                         alerts=self.alerts, health=self.health, pools=self.pools,
                         limiters=self.limiters, metrics=self.system_metrics,
                         upstream=self.upstream, symbol_map=self.symbol_map)
        await self.notices.start(store)
        self._unsubscribe = self.bus.subscribe("market_data", self._on_market_update)
        self.streams = StreamManager(
            catalogue=cat, config=self.config, store=store, bus=self.bus,
            coordinator=self.coordinator, symbol_map=self.symbol_map, tasks=self.tasks,
            run_rest=self.runner.run_provider, prices=self.prices,
            on_prices=self.notices.check_prices, on_data=self._on_stream_data)
        if schedule:
            await self.streams.start()
            self.scheduler.start()
            self._scheduling = True
            await self.coordinator.start(list(self.providers), self._on_owned,
                                         self._on_instance_lost)
        self._running = True
        log.info("hub started: %d providers, %d enabled, database %s", len(self.providers),
                 sum(cat.is_active(p) for p in self.providers), store.backend.display_url)

    async def stop(self) -> None:
        """Stop schedules, wait briefly for work in flight, close HTTP and the store.
        Idempotent."""
        if not self._running and self.store is None:
            return
        self._running = False
        self._scheduling = False
        self.scheduler.shutdown()
        if self.streams is not None:  # before the leases go: no write after them
            await self.streams.stop()
        await self.coordinator.stop()
        self._unsubscribe()
        await self.notices.stop()
        await self.tasks.cancel()
        if self.client:
            await self.client.aclose()
            self.client = None
        if self.store:
            store, self.store = self.store, None
            self.alerts.store = None
            await asyncio.to_thread(store.close)
        await self.bus.stop()
        await self.limits.close()
        log.info("hub stopped")

    async def settle(self) -> None:
        """Wait for background writes and alerts spawned so far (tests, shutdown)."""
        await self.tasks.settle()

    # --- what collectors get -----------------------------------------------------------
    def upstream(self, pid: str, attempts: list[Attempt] | None = None) -> Upstream:
        """The HTTP door bound to ``pid`` (its base_url, keys and rate limiter)."""
        assert self.client is not None, "start() first"
        return Upstream(self.providers[pid].spec, self.client,
                        base_url=self.catalogue.base_url(pid),
                        keys=self.catalogue.keys.get(pid, []), limiter=self.limiters[pid],
                        on_attempt=attempts.append if attempts is not None else None,
                        timeout=self.request_timeout)

    def context(self, pid: str) -> Context:
        """What ``pid``'s collector may know beyond its own API."""
        return Context(symbols=list(self.config.watchlist), symbol_map=self.symbol_map,
                       prices=dict(self.prices), options=self.config.provider(pid).options,
                       score_text=(self.text_model or default_lexicon_model()).score,
                       recent_news=self._recent_news)

    async def _recent_news(self) -> list[dict[str, Any]]:
        assert self.store is not None
        return await self.store.read(queries.recent_headlines, utcnow() - timedelta(hours=24))

    # --- keys and toggles --------------------------------------------------------------
    async def reload_keys(self) -> None:
        """Re-read keys (after the user saved one) and re-schedule what changed."""
        self.secrets.forget()
        await asyncio.to_thread(self.catalogue.resolve_keys, self.secrets)
        for pid in self.providers:
            current = self.health.get(pid).status
            if current in ("needs_key", "disabled", "unknown"):
                self.health.set_status(pid, self.catalogue.idle_status(pid))
        if self._scheduling:
            if self.streams is not None:
                await self.streams.refresh(self.owned)
            self._schedule_all()

    async def set_enabled(self, pid: str, enabled: bool) -> None:
        """Enable or disable a provider now and remember it."""
        self.catalogue.enabled[pid] = enabled
        assert self.store is not None
        await self.store.write(bookkeeping.set_provider_enabled, pid, enabled)
        active = self.catalogue.is_active(pid)
        self.health.set_status(pid, "unknown" if active else self.catalogue.idle_status(pid))
        if self._scheduling:
            if self.streams is not None:
                self.streams.on_owned(self.owned)
            self._schedule_all()

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
        return (self.catalogue.is_active(pid) and not self.health.circuit_open(pid)
                and self.health.get(pid).status != "offline"
                and self.limiters[pid].blocked_for == 0)

    def _on_rotate(self, rot: Rotation) -> None:
        pool = self.pools[rot.pool]
        if self.store:
            self.tasks.spawn(self.store.write(bookkeeping.persist_rotation, rot, pool))
        self.bus.publish("health_checker", {"event": "rotation", "pool": rot.pool,
                                            "from": rot.from_provider, "to": rot.to_provider,
                                            "reason": rot.reason})

    async def save_pool(self, name: str) -> None:
        """Store a pool's strategy and member order (after the user changed them)."""
        assert self.store is not None
        await self.store.write(bookkeeping.persist_pool, self.pools[name])

    # --- scheduling ----------------------------------------------------------------------
    def _on_owned(self, owned: set[str]) -> None:
        """The coordinator says which providers this instance collects now."""
        gained = owned - self.owned
        self.owned = owned
        if self.streams is not None:
            self.streams.on_owned(owned)
        if self._scheduling:
            self._schedule_all(first_runs=gained)

    def _on_instance_lost(self, instance: str, age: float) -> None:
        """An instance of the team stopped without leaving: one alert for the team."""
        self.tasks.spawn(self.alerts.fire(
            "instance_lost", "warning",
            f"team hub instance {instance} stopped heartbeating {human_duration(age)} ago; "
            "the other instances took over its providers"))

    def _schedule_all(self, first_runs: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Schedule the active providers this instance owns (slots aligned to the wall
        clock) and, when it holds the team's lease, the housekeeping jobs. Providers in
        ``first_runs`` also run once soon (spread over 15 s), not only at their slot."""
        assert self.jobs is not None
        mine = [pid for pid in self.providers
                if pid in self.owned and self.catalogue.is_active(pid)]
        for i, pid in enumerate(mine):
            if not self.scheduler.has(pid):
                self._schedule(pid)
            if pid in first_runs:
                self.scheduler.once(f"{pid}:first", 1.0 + (i * 0.37) % FIRST_RUNS_SPREAD_SECONDS,
                                    self._first_run(pid))
        for pid in self.providers:
            if pid not in mine:
                self.scheduler.remove(pid)
        team = {"__maintenance__": (MAINTENANCE_SECONDS, self.jobs.maintenance, 30),
                "__retention__": (3600, self.jobs.retention, 120),
                "__gaps__": (3600, self.jobs.fill_gaps, 300)}
        if self.config.backup_daily:
            team["__backup__"] = (86400, self.jobs.daily_backup, 600)
        for job_id, (seconds, fn, first_in) in team.items():
            if TEAM in self.owned and not self.scheduler.has(job_id):
                self.scheduler.add(job_id, seconds, fn, first_in=first_in)
            elif TEAM not in self.owned:
                self.scheduler.remove(job_id)

    def _schedule(self, pid: str) -> None:
        seconds = self.catalogue.interval(pid)[1]

        async def job(slot: datetime) -> None:
            assert self.runner is not None
            if self._streamed(pid):
                return  # its live stream serves it; REST runs again in a fallback
            if self.coordinator.owns(pid):  # the lease may have lapsed since
                await self.runner.run_provider(pid, scheduled=slot)

        self.scheduler.add(pid, seconds, job, first_in=None)

    def _first_run(self, pid: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            assert self.runner is not None
            if (self.coordinator.owns(pid) and self.catalogue.is_active(pid)
                    and not self._streamed(pid)):
                await self.runner.run_provider(pid)
        return run

    def _on_stream_data(self, pid: str, when: datetime) -> None:
        """A live stream brought data: the provider's data is as fresh as that."""
        h = self.health.get(pid)
        if h.last_data_time is None or h.last_data_time < when:
            h.last_data_time = when

    def _streamed(self, pid: str) -> bool:
        return self.streams is not None and self.streams.covers(pid)

    def _on_missed(self, job_id: str, when: datetime, reason: str) -> None:
        if job_id not in self.providers:
            return
        ev = self.compliance.on_skip(job_id, when, reason, self.catalogue.interval(job_id)[1])
        if self.store:
            self.tasks.spawn(self.store.write(bookkeeping.persist_compliance, ev))
        self.bus.publish("scheduler", compliance_update(ev, self.compliance))

    def _on_market_update(self, event: Event) -> None:
        """Another instance of the team collected prices: re-read the consensus here too
        (whale thresholds and price rules use it), at most one read at a time."""
        if event.origin == self.coordinator.instance_id or self.runner is None:
            return
        if not self._prices_pending:
            self._prices_pending = True
            self.tasks.spawn(self._refresh_prices())

    async def _refresh_prices(self) -> None:
        try:
            assert self.runner is not None
            await self.runner.refresh_prices()
        finally:
            self._prices_pending = False

    # --- health and status ---------------------------------------------------------------
    def _on_status_change(self, pid: str, old: str, new: str) -> None:
        self.bus.publish("health_checker", {"event": "status", "provider": pid, "old": old,
                                            "new": new})
        h = self.health.get(pid)
        self.alerts.on_status_change(pid, old, new, h.reason or h.last_error)

    def _on_network(self, state: NetworkState) -> None:
        """This machine went offline or came back: say it once; when back, run the
        providers it could not reach at once instead of waiting for their next slot."""
        self.alerts.on_network(state)
        unreached = self.health.on_network(state.online)
        self.bus.publish("health_checker", {"event": "network", **state.as_dict()})
        if state.online and self.runner is not None and self._running:
            for pid in unreached:
                if self.catalogue.is_active(pid):
                    self.tasks.spawn(self.runner.run_provider(pid))

    def network(self) -> dict[str, Any]:
        """This machine's network as the engine sees it (``NetworkState.as_dict``)."""
        return self.connectivity.state.as_dict()

    def status_counts(self) -> dict[str, int]:
        """Providers online / degraded / offline."""
        return status_counts(self.health, self.providers)

    def system_metrics(self) -> dict[str, Any]:
        """The current ``system_metrics`` row (without its timestamp)."""
        return system_metrics(self.health, list(self.providers), self.requests,
                              self.store.size_bytes() if self.store else 0,
                              self.connectivity.online)

    async def backup(self, dest: Path | None = None) -> Path:
        """Online backup into ``backups/`` (or ``dest``), keeping the newest N."""
        assert self.jobs is not None, "start() first"
        return await self.jobs.backup(dest)


def _load_text_model() -> TextSentiment | None:
    try:
        return load_text_model()
    except Exception as exc:  # noqa: BLE001 - sentiment is optional, never a crash
        log.warning("text sentiment model unavailable: %s", exc)
        return None
