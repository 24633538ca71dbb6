"""The engine's housekeeping jobs: every minute the usage, metrics, pools and
staleness; hourly retention and gap filling; daily backups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import human_duration, to_db, utcnow
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.alerts import Alerts
from cryptohub_desktop.engine.backfill import backfill
from cryptohub_desktop.engine.catalogue import Catalogue
from cryptohub_desktop.engine.health import HealthMonitor
from cryptohub_desktop.engine.pools import Pool
from cryptohub_desktop.engine.ports import EventBus
from cryptohub_desktop.providers.ratelimit import Limiter
from cryptohub_desktop.providers.upstream import UpstreamFactory
from cryptohub_desktop.storage.store import Store, rotate_backups

log = logging.getLogger("cryptohub.hub")

#: minutes without new data before a staleness alert: at least this, or 6 intervals
STALE_ALERT_MINUTES = 30
GAP_FILL_DAYS = 2


class Jobs:
    """Scheduled housekeeping of one engine (each method is one scheduler job).

    Args:
        metrics: gives the current system metrics row (without timestamp).
        upstream: for gap filling, an HTTP door bound to a provider.
    """

    def __init__(self, *, catalogue: Catalogue, config: Config, store: Store, bus: EventBus,
                 alerts: Alerts, health: HealthMonitor, pools: dict[str, Pool],
                 limiters: dict[str, Limiter], metrics: Callable[[], dict[str, Any]],
                 upstream: UpstreamFactory, symbol_map: SymbolMap) -> None:
        self.catalogue = catalogue
        self.config = config
        self.store = store
        self.bus = bus
        self.alerts = alerts
        self.health = health
        self.pools = pools
        self.limiters = limiters
        self.metrics = metrics
        self.upstream = upstream
        self.symbol_map = symbol_map

    async def maintenance(self, _slot: datetime) -> None:
        """Every minute: rate-limit usage, system metrics and pools to the database, and
        a staleness alert for a provider that sends nothing new (not while this machine
        is offline: that is said once, not once per provider)."""
        now = utcnow()
        usages = [u for lim in set(self.limiters.values()) for u in lim.usage()
                  if u.current_usage]
        metrics = self.metrics()
        await self.store.write(bookkeeping.persist_usage, usages, now)
        await self.store.write(bookkeeping.persist_metrics, {"timestamp": to_db(now), **metrics})
        for pool in self.pools.values():
            await self.store.write(bookkeeping.persist_pool, pool)
        for pid in self.catalogue.providers:
            if not self.catalogue.is_active(pid):
                continue
            _, seconds = self.catalogue.interval(pid)
            minutes, state = self.health.freshness(pid, seconds, now)
            if (state == "stale" and minutes and not self.health.network_offline
                    and minutes > max(STALE_ALERT_MINUTES, 6 * seconds / 60)):
                await self.alerts.fire("staleness", "warning",
                                       stale_text(self.catalogue[pid].spec.name, minutes,
                                                  self.health.get(pid).last_data_time),
                                       pid, dedupe=f"stale:{pid}")
            elif state == "fresh":
                self.alerts.clear(f"stale:{pid}")
        self.bus.publish("health_checker", {"event": "metrics", **metrics})

    async def retention(self, _slot: datetime) -> None:
        """Hourly: delete what is older than ``[retention] days``."""
        deleted = await self.store.maintain(self.store.retention, self.config.retention_days)
        if deleted:
            log.info("retention removed %d rows older than %d days", deleted,
                     self.config.retention_days)

    async def fill_gaps(self, _slot: datetime) -> None:
        """Hourly: find and fill gaps (sleep, outage) in the last 2 days of 1h candles."""
        report = await backfill(self.store, self.catalogue.with_history(), self.upstream,
                                self.symbol_map,
                                symbols=self.config.watchlist, days=GAP_FILL_DAYS,
                                intervals=("1h",))
        if report.inserted:
            log.info("gap fill: %d candles in %d gaps", report.inserted, report.gaps)

    async def daily_backup(self, _slot: datetime) -> None:
        await self.backup()

    async def backup(self, dest: Path | None = None) -> Path:
        """Online backup into ``backups/`` (or ``dest``), keeping the newest N."""
        folder = self.config.data_dir / "backups"
        target = dest or self.store.backup_path(folder)
        out = await asyncio.to_thread(self.store.backup_to, target)
        if dest is None:
            await asyncio.to_thread(rotate_backups, folder, self.config.backup_keep,
                                    self.store.backup_pattern)
        log.info("backup written to %s", out)
        return out


def stale_text(name: str, minutes: float, last: datetime | None) -> str:
    """"Kraken has sent no new data for 3 h 20 min (newest from 2026-12-07 14:02 UTC)"."""
    since = f" (newest from {last:%Y-%m-%d %H:%M} UTC)" if last else ""
    return f"{name} has sent no new data for {human_duration(minutes * 60)}{since}"
