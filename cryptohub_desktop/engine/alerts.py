"""Alerts: stored in ``alerts``, published on the ``alerts`` service, deduplicated and
rate-limited, so the list (and the notifications built on it) stays worth reading.

Every alert the engine raises goes through :meth:`Alerts.fire`:

- **held until cleared**: an alert with a ``dedupe`` key is raised once and then held
  back until the key is cleared (the condition ended): a provider that stays offline
  alerts once, not every run;
- **repeats**: the same alert without a key (type, provider and text with its numbers
  blanked) again within :data:`REPEAT_SECONDS` is counted, not stored (a keyed alert
  raised again after its condition cleared is a new episode and alerts);
- **flood limit**: at most :data:`MAX_ALERTS` per :data:`FLOOD_SECONDS`; beyond that
  alerts are held back and, once the window has room again, one summary alert says how
  many were held back. Critical alerts and the machine's own network alerts
  (:data:`NEVER_HELD`) always pass: a flood of stale-data warnings must not hide that
  the computer went offline.

What the engine alerts on, and when:

- a provider going offline (``provider_down``, once) and coming back
  (``provider_recovered``, only after a ``provider_down``); never while this machine is
  offline: that is said once, as ``network_offline`` (and ``network_online`` when back);
- rate limits: a window of an hour or longer at 80 % is a ``quota`` about to run out; a
  window of a minute up to an hour at 80 % is a ``rate_limit_warning``; a shorter
  window (per second, per 10 s) only when the use is sustained: it crossed 80 % at
  least :data:`SUSTAINED_CROSSINGS` times over at least a minute of the last five.
  A single busy second is not worth anyone's attention.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.time import human_duration, iso, to_db, utcnow
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.connectivity import NetworkState
from cryptohub_desktop.engine.ports import EventBus
from cryptohub_desktop.engine.tasks import Background
from cryptohub_desktop.providers.ratelimit import Usage
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.hub")

REPEAT_SECONDS = 900.0
MAX_ALERTS = 20
FLOOD_SECONDS = 600.0
QUOTA_WINDOW_SECONDS = 3600
SHORT_WINDOW_SECONDS = 60
SUSTAINED_CROSSINGS = 5
SUSTAINED_SPAN_SECONDS = 60.0
SUSTAINED_LOOKBACK_SECONDS = 300.0
NEVER_HELD = frozenset({"network_offline", "network_online"})
_NUMBER = re.compile(r"\d[\d.,]*")
_LABELS = {"per_second": 1, "per_minute": 60, "per_hour": 3600, "per_day": 86400,
           "per_month": 2592000}


def window_seconds(limit_type: str) -> float:
    """The length of a rate-limit window from its label ("per_minute", "per_30s")."""
    if limit_type in _LABELS:
        return float(_LABELS[limit_type])
    m = re.fullmatch(r"per_(\d+)s", limit_type)
    return float(m.group(1)) if m else 0.0


def window_text(limit_type: str) -> str:
    """"per_minute" -> "per minute", "per_30s" -> "per 30 s"."""
    m = re.fullmatch(r"per_(\d+)s", limit_type)
    return f"per {m.group(1)} s" if m else limit_type.replace("_", " ")


class Alerts:
    """Raises, stores and publishes alerts.

    Args:
        bus: where stored alerts are published (service ``alerts``).
        tasks: runs alerts raised from synchronous callbacks.
        name_of: provider id -> display name, for messages.
        clock: monotonic seconds (repeat and flood windows; tests pass a fake).

    Attributes:
        store: the database, once the engine started (alerts before that are dropped).
        network_offline: this machine is offline (provider-down alerts are held back).
        held_back: alerts not stored so far, by reason ("repeat", "flood").
    """

    def __init__(self, bus: EventBus, tasks: Background,
                 name_of: Callable[[str], str] = lambda pid: pid,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.tasks = tasks
        self.name_of = name_of
        self.store: Store | None = None
        self.network_offline = False
        self.held_back = {"repeat": 0, "flood": 0}
        self.clock = clock
        self._pending: set[str] = set()
        self._recent: dict[str, float] = {}
        self._fired: deque[float] = deque()
        self._flooded = 0
        self._crossings: dict[str, deque[float]] = {}

    async def fire(self, alert_type: str, severity: str, message: str,
                   provider_id: str | None = None, dedupe: str | None = None) -> None:
        """Store an alert and publish it (once per ``dedupe`` key until cleared; repeats
        and floods held back, see the module docstring).

        A database that cannot be written (disk full) does not swallow the alert: it is
        still published, with ``id`` None.
        """
        if dedupe:
            if dedupe in self._pending:
                return
            self._pending.add(dedupe)
        now = self.clock()
        same = f"{alert_type}|{provider_id or ''}|{_NUMBER.sub('#', message)}"
        if not dedupe and now - self._recent.get(same, -REPEAT_SECONDS) < REPEAT_SECONDS:
            self.held_back["repeat"] += 1
            log.info("alert held back (repeat within %.0f min): %s", REPEAT_SECONDS / 60,
                     message)
            return
        while self._fired and now - self._fired[0] >= FLOOD_SECONDS:
            self._fired.popleft()
        if (len(self._fired) >= MAX_ALERTS and severity != "critical"
                and alert_type not in NEVER_HELD):
            self._flooded += 1
            self.held_back["flood"] += 1
            log.warning("alert held back (more than %d in %.0f min): %s", MAX_ALERTS,
                        FLOOD_SECONDS / 60, message)
            return
        if self._flooded and len(self._fired) < MAX_ALERTS:  # room again: say what was held
            held, self._flooded = self._flooded, 0
            self._fired.append(now)
            await self._store(
                "alert_flood", "warning", f"{held} more alert{'s' * (held != 1)} held back in "
                f"the last {FLOOD_SECONDS / 60:.0f} min (more than {MAX_ALERTS} at once); "
                "the log has each of them", None)
        self._recent[same] = now
        self._fired.append(now)
        if len(self._recent) > 1000:  # forget repeats older than the window
            self._recent = {k: t for k, t in self._recent.items()
                            if now - t < REPEAT_SECONDS}
        await self._store(alert_type, severity, message, provider_id)

    async def _store(self, alert_type: str, severity: str, message: str,
                     provider_id: str | None) -> None:
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

    def _name(self, pid: str) -> str:
        try:
            return self.name_of(pid)
        except KeyError:  # a limit group shared by several providers
            return pid

    # --- the engine's own conditions ---------------------------------------------------
    def on_status_change(self, pid: str, old: str, new: str, detail: Any = None) -> None:
        """A provider going offline alerts once; coming back says so. While this machine
        is offline, unreachable providers are not alerted one by one."""
        if new == "offline":
            if self.network_offline:
                return
            self.fire_soon("provider_down", "critical",
                           f"{self._name(pid)} is offline ({detail})", pid,
                           dedupe=f"down:{pid}")
        elif old == "offline" and new not in ("offline", "disabled", "needs_key"):
            if self.active(f"down:{pid}"):
                self.clear(f"down:{pid}")
                self.fire_soon("provider_recovered", "info",
                               f"{self._name(pid)} is back ({new})", pid)

    def on_network(self, state: NetworkState) -> None:
        """This machine went offline or came back: said once, not per provider."""
        self.network_offline = not state.online
        if not state.online:
            self.fire_soon("network_offline", "warning", state.detail[:1].upper()
                           + state.detail[1:], None, dedupe="network")
        elif self.active("network"):
            self.clear("network")
            self.fire_soon("network_online", "info", f"This machine is {state.detail}", None)

    def on_rate_warning(self, usage: Usage) -> None:
        """A rate-limit window passed 80 %: a quota about to run out (an hour or longer), a
        rate warning (a minute or longer), or for shorter windows only sustained use."""
        seconds = window_seconds(usage.limit_type)
        name = self._name(usage.provider)
        used = (f"{usage.current_usage:,} of {usage.limit_value:,} calls "
                f"{window_text(usage.limit_type)} ({usage.percentage:.0f} %)")
        if seconds >= QUOTA_WINDOW_SECONDS:
            self.fire_soon("quota", "warning", f"{name} quota nearly used up: {used}; resets "
                           f"in {human_duration(usage.reset_in_seconds)}", usage.provider,
                           dedupe=f"quota:{usage.provider}:{usage.limit_type}:"
                           f"{int(time.time() // max(seconds, 1))}")
            return
        if seconds >= SHORT_WINDOW_SECONDS:
            self.fire_soon("rate_limit_warning", "warning", f"{name} used {used}",
                           usage.provider)
            return
        key = f"{usage.provider}:{usage.limit_type}"
        now = self.clock()
        seen = self._crossings.setdefault(key, deque())
        seen.append(now)
        while seen and now - seen[0] > SUSTAINED_LOOKBACK_SECONDS:
            seen.popleft()
        if len(seen) >= SUSTAINED_CROSSINGS and seen[-1] - seen[0] >= SUSTAINED_SPAN_SECONDS:
            span = human_duration(seen[-1] - seen[0])
            self.fire_soon("rate_limit_warning", "warning",
                           f"{name} has been near its limit of {usage.limit_value:,} calls "
                           f"{window_text(usage.limit_type)} for {span} ({len(seen)} times "
                           "at 80 % or more)", usage.provider)
            seen.clear()
