"""The engine's own numbers: requests in the last hour, provider counts by status and
the system metrics that ``/api/status`` and ``system_metrics`` show.

Overall health (:func:`overall`), first match wins:

- ``offline``: this machine is offline (no upstream host answers);
- ``unhealthy``: more providers offline than online, or most of the last hour's
  requests failed (at least :data:`MIN_REQUESTS` of them);
- ``degraded``: any provider offline, more than a fifth of the checked providers not
  online (degraded, offline or empty), or a fifth of the last hour's requests failed;
- ``healthy``: otherwise. "43 of 43 requests failed" is never healthy.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from cryptohub_desktop.engine.health import HealthMonitor
from cryptohub_desktop.providers.upstream import Attempt

try:  # not on Windows
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

WINDOW_SECONDS = 3600
MIN_REQUESTS = 5
#: statuses the counts report (everything a provider can be after a run)
COUNTED = ("online", "degraded", "offline", "empty", "idle", "unknown")


class RequestLog:
    """Upstream requests of the last hour and whether each succeeded."""

    def __init__(self) -> None:
        self._requests: deque[tuple[float, bool]] = deque()

    def add(self, attempts: Sequence[Attempt]) -> None:
        now = time.monotonic()
        self._requests.extend((now, a.ok) for a in attempts)
        cutoff = now - WINDOW_SECONDS
        while self._requests and self._requests[0][0] < cutoff:
            self._requests.popleft()

    @property
    def total(self) -> int:
        return len(self._requests)

    @property
    def failed(self) -> int:
        return sum(1 for _, ok in self._requests if not ok)


def status_counts(health: HealthMonitor, provider_ids: Iterable[str]) -> dict[str, int]:
    """Providers per status: online, degraded, offline, empty, idle, unknown (the status
    bar and the Providers page read the same numbers)."""
    counts = dict.fromkeys(COUNTED, 0)
    for pid in provider_ids:
        s = health.get(pid).status
        if s in counts:
            counts[s] += 1
    return counts


def overall(counts: dict[str, int], requests: RequestLog, network_online: bool = True) -> str:
    """healthy / degraded / unhealthy / offline (rules in the module docstring)."""
    if not network_online:
        return "offline"
    checked = sum(counts.get(s, 0) for s in ("online", "degraded", "offline", "empty"))
    failed_share = requests.failed / requests.total if requests.total >= MIN_REQUESTS else 0.0
    if counts["offline"] > counts["online"] or failed_share > 0.5:
        return "unhealthy"
    not_online = checked - counts["online"]
    if counts["offline"] or (checked and not_online / checked > 0.2) or failed_share > 0.2:
        return "degraded"
    return "healthy"


def system_metrics(health: HealthMonitor, provider_ids: Sequence[str], requests: RequestLog,
                   db_size_bytes: int, network_online: bool = True) -> dict[str, Any]:
    """The ``system_metrics`` row: counts, average response time, requests, health."""
    counts = status_counts(health, provider_ids)
    times = [h.response_time_ms for h in health.providers.values() if h.response_time_ms]
    return {"total_providers": len(provider_ids), "online_count": counts["online"],
            "degraded_count": counts["degraded"], "offline_count": counts["offline"],
            "avg_response_time_ms": round(sum(times) / len(times), 1) if times else None,
            "total_requests_hour": requests.total, "failed_requests_hour": requests.failed,
            "system_health": overall(counts, requests, network_online),
            "db_size_bytes": db_size_bytes,
            "memory_rss_mb": rss_mb()}


def rss_mb() -> float | None:
    """Resident memory of this process in MB (peak where the current is unknown)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        if resource is None:
            return None
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
