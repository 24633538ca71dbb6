"""Alerts: stored in ``alerts``, published on the ``alerts`` service, deduplicated.

Every alert the engine raises goes through :meth:`Alerts.fire`. An alert with a
``dedupe`` key is raised once and then held back until the key is cleared (the
condition ended): a provider that stays offline alerts once, not every run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.time import iso, to_db, utcnow
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.ports import EventBus
from cryptohub_desktop.engine.tasks import Background
from cryptohub_desktop.providers.ratelimit import Usage
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.hub")


class Alerts:
    """Raises, stores and publishes alerts.

    Args:
        bus: where stored alerts are published (service ``alerts``).
        tasks: runs alerts raised from synchronous callbacks.
        name_of: provider id -> display name, for messages.

    Attributes:
        store: the database, once the engine started (alerts before that are dropped).
    """

    def __init__(self, bus: EventBus, tasks: Background,
                 name_of: Callable[[str], str] = lambda pid: pid) -> None:
        self.bus = bus
        self.tasks = tasks
        self.name_of = name_of
        self.store: Store | None = None
        self._pending: set[str] = set()

    async def fire(self, alert_type: str, severity: str, message: str,
                   provider_id: str | None = None, dedupe: str | None = None) -> None:
        """Store an alert and publish it (once per ``dedupe`` key until cleared).

        A database that cannot be written (disk full) does not swallow the alert: it is
        still published, with ``id`` None.
        """
        if dedupe:
            if dedupe in self._pending:
                return
            self._pending.add(dedupe)
        if self.store is None:
            return
        try:
            row = await self.store.write(bookkeeping.add_alert, alert_type, severity, message,
                                         provider_id)
        except StoreError as exc:
            log.error("alert %s could not be stored (%s): %s", alert_type, exc, message)
            row = {"id": None, "timestamp": to_db(utcnow()), "provider_id": provider_id,
                   "alert_type": alert_type, "severity": severity, "message": message,
                   "acknowledged": False}
        row["timestamp"] = iso(row["timestamp"])
        self.bus.publish("alerts", row)

    def fire_soon(self, alert_type: str, severity: str, message: str,
                  provider_id: str | None = None, dedupe: str | None = None) -> None:
        """:meth:`fire` from synchronous code (runs in the background)."""
        self.tasks.spawn(self.fire(alert_type, severity, message, provider_id, dedupe))

    def clear(self, dedupe: str) -> None:
        """The condition behind ``dedupe`` ended: the next occurrence alerts again."""
        self._pending.discard(dedupe)

    def active(self, dedupe: str) -> bool:
        return dedupe in self._pending

    # --- the engine's own conditions ---------------------------------------------------
    def on_status_change(self, pid: str, old: str, new: str, detail: Any = None) -> None:
        """A provider going offline alerts once; coming back says so."""
        if new == "offline":
            self.fire_soon("provider_down", "critical",
                           f"{self.name_of(pid)} is offline ({detail})", pid,
                           dedupe=f"down:{pid}")
        elif old == "offline" and new in ("online", "degraded"):
            self.clear(f"down:{pid}")
            self.fire_soon("provider_recovered", "info",
                           f"{self.name_of(pid)} is back ({new})", pid)

    def on_rate_warning(self, usage: Usage) -> None:
        """A rate-limit window passed 80 %."""
        self.fire_soon(
            "rate_limit_warning", "warning",
            f"{usage.provider} used {usage.current_usage}/{usage.limit_value} calls "
            f"{usage.limit_type.replace('_', ' ')} ({usage.percentage:.0f}%)", usage.provider)
