"""The engine's own numbers: requests in the last hour, provider counts by status and
the system metrics that ``/api/status`` and ``system_metrics`` show."""

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
    """Providers online / degraded / offline."""
    counts = {"online": 0, "degraded": 0, "offline": 0}
    for pid in provider_ids:
        s = health.get(pid).status
        if s in counts:
            counts[s] += 1
    return counts


def system_metrics(health: HealthMonitor, provider_ids: Sequence[str], requests: RequestLog,
                   db_size_bytes: int) -> dict[str, Any]:
    """The ``system_metrics`` row: counts, average response time, requests, health."""
    counts = status_counts(health, provider_ids)
    times = [h.response_time_ms for h in health.providers.values() if h.response_time_ms]
    overall = ("healthy" if counts["offline"] == 0 else
               "degraded" if counts["online"] >= counts["offline"] else "unhealthy")
    return {"total_providers": len(provider_ids), "online_count": counts["online"],
            "degraded_count": counts["degraded"], "offline_count": counts["offline"],
            "avg_response_time_ms": round(sum(times) / len(times), 1) if times else None,
            "total_requests_hour": requests.total, "failed_requests_hour": requests.failed,
            "system_health": overall, "db_size_bytes": db_size_bytes,
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
