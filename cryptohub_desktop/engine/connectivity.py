"""Is this machine online? Judged from the upstream requests the engine makes anyway.

A request *reached* its host when an HTTP answer came back (any status, even a 500 or a
429: the network works). It was *unreachable* when it ended in a connection error or a
timeout without any answer (DNS failure, no route, refused, TLS cut, nothing back).

Rules (:class:`Connectivity`):

- **offline**: since the last request that reached its host, requests of at least
  :data:`MIN_PROVIDERS` different providers were unreachable, and none reached. One
  provider being down is that provider's problem; three unrelated hosts failing at once
  with nothing answering is this machine's.
- **online** again at the first request that reaches its host.

No probe is sent: the detector only listens, so it costs nothing and never calls a
host the user did not configure. While offline the engine says so once (one alert,
``/api/status`` ``"status": "offline"``, the UI's banner) instead of turning every
provider amber; see :mod:`cryptohub_desktop.engine.health` for what happens to the
providers themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptohub_desktop.core.time import human_duration, iso, utcnow
from cryptohub_desktop.providers.upstream import Attempt

log = logging.getLogger("cryptohub.health")

#: distinct providers unreachable in a row (no answer from anyone between) = offline
MIN_PROVIDERS = 3
#: error types that mean "no answer came back at all"
UNREACHABLE = frozenset({"connection_error", "timeout"})


def unreachable(attempt: Attempt) -> bool:
    """The request got no HTTP answer (connection error or timeout)."""
    return attempt.status_code is None and attempt.error_type in UNREACHABLE


@dataclass(frozen=True)
class NetworkState:
    """What ``/api/status`` and the UI say about this machine's network.

    Attributes:
        online: whether upstream hosts answer.
        since: when the current state began (None: since start, never offline).
        detail: one line for a person.
        providers: the providers whose requests went unanswered (while offline).
    """

    online: bool
    since: datetime | None
    detail: str
    providers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"online": self.online, "since": iso(self.since), "detail": self.detail,
                "unreachable_providers": list(self.providers)}


class Connectivity:
    """Follows every run's requests and decides whether the machine is offline.

    Args:
        on_change: called with the new :class:`NetworkState` when online/offline flips.
        min_providers: see :data:`MIN_PROVIDERS`.
        clock: wall-clock now (tests pass a fixed one).
    """

    def __init__(self, on_change: Callable[[NetworkState], None] | None = None,
                 min_providers: int = MIN_PROVIDERS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.on_change = on_change
        self.min_providers = min_providers
        self._clock = clock
        self._failing: dict[str, str] = {}  # provider -> its last unanswered error
        self._first_failure: datetime | None = None
        self.state = NetworkState(True, None, "upstream hosts answer")

    @property
    def online(self) -> bool:
        return self.state.online

    def observe(self, provider_id: str, attempts: Sequence[Attempt]) -> bool:
        """Take one run's requests into account; returns whether the machine is online."""
        for a in attempts:
            if unreachable(a):
                self._failing[provider_id] = a.error_message or a.error_type or "no answer"
                self._first_failure = self._first_failure or a.started
            else:  # an answer came back: the network works
                self._failing.clear()
                self._first_failure = None
                if not self.state.online:
                    self._flip(True)
        if self.state.online and len(self._failing) >= self.min_providers:
            self._flip(False)
        elif not self.state.online and self._failing:
            self.state = NetworkState(False, self.state.since, self.state.detail,
                                      tuple(sorted(self._failing)))
        return self.state.online

    def _flip(self, online: bool) -> None:
        now = self._clock()
        if online:
            was = self.state.since
            gone = f" after {human_duration((now - was).total_seconds())}" if was else ""
            self.state = NetworkState(True, now, f"back online{gone}")
            log.warning("network: upstream hosts answer again%s", gone)
        else:
            since = self._first_failure or now
            names = sorted(self._failing)
            self.state = NetworkState(
                False, since, f"this machine is offline: no provider could be reached "
                f"since {since:%H:%M} UTC ({len(names)} providers tried)", tuple(names))
            log.warning("network: offline, %d providers unreachable (%s)", len(names),
                        ", ".join(names[:5]))
        if self.on_change is not None:
            self.on_change(self.state)

