"""Provider health: status from recent collections, circuit breaker, freshness.

Status rules (per provider, over its last :data:`WINDOW` collections), first match wins:

- ``offline``: :data:`OFFLINE_AFTER` consecutive failures (a 429 is not a failure
  of the provider's availability: it makes it degraded, never offline); or its last
  request got no answer at all while this machine is offline (see
  :mod:`~cryptohub_desktop.engine.connectivity`): a provider that cannot be reached is
  offline at once, not amber for minutes;
- ``empty``: the last run answered but yielded no usable record ("answered, nothing
  usable": an unknown pair, a shape the parser found nothing in). It counts as a
  not-success in the success rate, never as "online 100 %";
- ``degraded``: the last collection failed, the success rate is under 80 %, or
  the average response time is over :data:`SLOW_MS`;
- ``idle``: the last run had no input to work on and asked nobody (a derived provider
  such as news_sentiment with no stored headline, or a whale scanner before any price
  is known); it is neither a success nor a failure and leaves the success rate alone;
- ``online``: otherwise.
- ``needs_key`` / ``disabled`` / ``unknown`` (never checked yet) are set by the hub.

Every status comes with :attr:`ProviderHealth.reason`, one line saying why.

Circuit breaker: after OFFLINE_AFTER consecutive failures the provider is kept
out for a back-off (30 s doubling to 30 min); when it ends one probe run is let
through (half-open); a success closes the circuit. When the machine comes back
online the circuits of the providers it could not reach are closed at once.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("cryptohub.health")

WINDOW = 10
OFFLINE_AFTER = 3
SLOW_MS = 5000.0
BACKOFF_START = 30.0
BACKOFF_MAX = 1800.0


@dataclass
class ProviderHealth:
    provider_id: str
    status: str = "unknown"
    results: deque[tuple[bool, float | None]] = field(default_factory=lambda: deque(maxlen=WINDOW))
    consecutive_failures: int = 0
    last_check: datetime | None = None
    last_success: datetime | None = None
    last_data_time: datetime | None = None
    last_error: str | None = None
    circuit_open_until: float = 0.0
    backoff: float = BACKOFF_START
    half_open: bool = False
    reason: str = ""
    outcome: str = ""  # the last run: success / failure / empty / idle
    unreachable: bool = False  # the last failure got no answer at all

    @property
    def success_rate(self) -> float | None:
        if not self.results:
            return None
        return round(100.0 * sum(ok for ok, _ in self.results) / len(self.results), 1)

    @property
    def response_time_ms(self) -> float | None:
        times = [ms for ok, ms in self.results if ok and ms is not None]
        return round(sum(times) / len(times), 1) if times else None


class HealthMonitor:
    """Tracks every provider's health.

    Args:
        clock: monotonic seconds, for the circuit breaker (tests pass a fake).
        on_change: called with (provider_id, old_status, new_status).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[str, str, str], None] | None = None) -> None:
        self._clock = clock
        self.on_change = on_change
        self.providers: dict[str, ProviderHealth] = {}
        self.network_offline = False

    def get(self, provider_id: str) -> ProviderHealth:
        if provider_id not in self.providers:
            self.providers[provider_id] = ProviderHealth(provider_id)
        return self.providers[provider_id]

    def set_status(self, provider_id: str, status: str) -> None:
        h = self.get(provider_id)
        old, h.status = h.status, status
        if old != status and self.on_change:
            self.on_change(provider_id, old, status)

    def record(self, provider_id: str, *, ok: bool, when: datetime,
               response_time_ms: float | None = None, error_type: str | None = None,
               data_time: datetime | None = None, unreachable: bool = False,
               error: str | None = None) -> str:
        """Record one collection outcome; returns the new status.

        Args:
            unreachable: the failure got no HTTP answer (connection error, timeout).
            error: the failure's one-line message (for :attr:`ProviderHealth.reason`).
        """
        h = self.get(provider_id)
        h.last_check = when
        rate_limited = error_type == "rate_limited"
        h.results.append((ok, response_time_ms))
        h.outcome = "success" if ok else "failure"
        h.unreachable = not ok and unreachable
        if ok:
            h.consecutive_failures = 0
            h.last_success = when
            h.last_data_time = data_time or when
            h.last_error = None
            if h.circuit_open_until or h.half_open:
                log.info("%s: circuit closed after a successful probe", provider_id)
            h.circuit_open_until = 0.0
            h.half_open = False
            h.backoff = BACKOFF_START
        else:
            h.last_error = error_type
            if not rate_limited:
                h.consecutive_failures += 1
            if h.half_open or h.consecutive_failures >= OFFLINE_AFTER:
                self._open_circuit(h)
        self._settle(h, error)
        return h.status

    def record_empty(self, provider_id: str, *, when: datetime,
                     response_time_ms: float | None, reason: str) -> str:
        """The provider answered but nothing usable came out: a not-success that says
        why, without counting toward offline (the provider is up)."""
        h = self.get(provider_id)
        h.last_check = when
        h.results.append((False, response_time_ms))
        h.outcome = "empty"
        h.unreachable = False
        h.consecutive_failures = 0
        h.last_error = "empty_answer"
        h.circuit_open_until, h.half_open, h.backoff = 0.0, False, BACKOFF_START
        self._settle(h, reason)
        return h.status

    def record_idle(self, provider_id: str, *, when: datetime, reason: str) -> str:
        """The run had nothing to work on and asked nobody: neither success nor failure."""
        h = self.get(provider_id)
        h.last_check = when
        h.outcome = "idle"
        h.unreachable = False
        self._settle(h, reason)
        return h.status

    def _settle(self, h: ProviderHealth, detail: str | None) -> None:
        status, reason = self._status(h, detail)
        h.reason = reason
        self.set_status(h.provider_id, status)

    def _open_circuit(self, h: ProviderHealth) -> None:
        if h.half_open:
            h.backoff = min(BACKOFF_MAX, h.backoff * 2)
        h.half_open = False
        h.circuit_open_until = self._clock() + h.backoff
        log.warning("%s: circuit open for %.0fs after %d consecutive failures",
                    h.provider_id, h.backoff, h.consecutive_failures)

    def _status(self, h: ProviderHealth, detail: str | None = None) -> tuple[str, str]:
        err = (h.last_error or "failure").replace("_", " ")
        if h.consecutive_failures >= OFFLINE_AFTER:
            return "offline", f"{h.consecutive_failures} failures in a row ({err})"
        if h.outcome == "failure" and h.unreachable and self.network_offline:
            return "offline", "unreachable: this machine is offline"
        if h.outcome == "empty":
            return "empty", detail or "answered, but with no usable records"
        if h.outcome == "idle":
            return "idle", detail or "no input to work on yet"
        last_ok = h.results[-1][0] if h.results else True
        rate = h.success_rate if h.success_rate is not None else 100.0
        avg = h.response_time_ms or 0.0
        if not last_ok:
            return "degraded", f"the last run failed ({detail or err})"
        if rate < 80.0:
            return "degraded", f"only {rate:.0f} % of the last {len(h.results)} runs succeeded"
        if avg > SLOW_MS:
            return "degraded", f"slow: {avg / 1000:.1f} s on average"
        return "online", ""

    # --- this machine's network ----------------------------------------------------------
    def on_network(self, online: bool) -> list[str]:
        """The machine went offline or came back.

        Offline: providers whose last request got no answer become ``offline`` now.
        Back online: their circuits close, so the next run calls them at once.

        Returns:
            the providers that could not be reached (to run again soon when back).
        """
        self.network_offline = not online
        hit = [h for h in self.providers.values() if h.outcome == "failure" and h.unreachable]
        for h in hit:
            if online:
                h.circuit_open_until, h.half_open, h.backoff = 0.0, False, BACKOFF_START
                h.reason = "was unreachable while this machine was offline; checking again"
            else:
                self._settle(h, None)
        return [h.provider_id for h in hit]

    def restore(self, provider_id: str, status: str, last_check: datetime | None,
                consecutive_failures: int = 0) -> None:
        """Resume the status stored by the previous run (after a restart), so a provider
        is not "unknown" beside the success rate and last check it had."""
        h = self.get(provider_id)
        h.last_check = h.last_check or last_check
        h.consecutive_failures = consecutive_failures
        h.reason = "as last checked before the restart"
        h.status = status  # quietly: not a change worth an alert, it was so already

    def allow(self, provider_id: str) -> tuple[bool, str | None]:
        """Whether a run may call the provider now; else the reason (circuit_open)."""
        h = self.get(provider_id)
        if not h.circuit_open_until:
            return True, None
        if self._clock() >= h.circuit_open_until:
            h.half_open = True
            h.circuit_open_until = 0.0
            log.info("%s: back-off over, probing again", provider_id)
            return True, None
        return False, "circuit_open"

    def circuit_open(self, provider_id: str) -> bool:
        h = self.get(provider_id)
        return bool(h.circuit_open_until) and self._clock() < h.circuit_open_until

    def freshness(self, provider_id: str, interval_seconds: int,
                  now: datetime) -> tuple[float | None, str]:
        """(staleness minutes, "fresh" | "stale" | "no_data") for a provider.

        Fresh means the last data arrived within two intervals (at least 2 minutes).
        """
        h = self.get(provider_id)
        if h.last_data_time is None:
            return None, "no_data"
        minutes = max(0.0, (now - h.last_data_time).total_seconds() / 60.0)
        limit = max(2.0, 2 * interval_seconds / 60.0)
        return round(minutes, 2), "fresh" if minutes <= limit else "stale"
