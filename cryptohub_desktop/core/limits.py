"""A documented rate limit: so many calls per so many seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """A documented limit: ``calls`` per ``seconds``.

    Example: ``RateLimit(30, 60)`` is 30 calls per minute.
    """

    calls: int
    seconds: float

    @property
    def label(self) -> str:
        names = {1: "per_second", 60: "per_minute", 3600: "per_hour", 86400: "per_day",
                 2592000: "per_month"}
        return names.get(int(self.seconds), f"per_{int(self.seconds)}s")
