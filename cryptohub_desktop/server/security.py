"""Who may talk to the local server (SPEC section 9).

Every request (REST or WebSocket handshake) passes :meth:`Guard.check`, in this
order:

1. REST only: the per-client-address rate limit (token bucket, default 600 per
   minute) -> 429 with ``Retry-After``;
2. ``Host`` must name this machine: localhost, 127.0.0.1, [::1] or the configured
   host (any port). A wildcard bind (0.0.0.0 / ::) also accepts IP literals and the
   machine's host name: an IP literal cannot be DNS-rebound. Else 403
   ``host_not_allowed``;
3. an ``Origin`` header must be in ``allowed_origins`` (empty by default, so any
   browser page is refused; scripts send no Origin) -> 403 ``origin_not_allowed``;
4. a non-loopback bind requires the access token, as ``Authorization: Bearer`` or
   ``?token=`` -> 401 ``unauthorized``.

WebSocket connections also get a :class:`Throttle` each for their inbound messages.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from websockets.http11 import Request

from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.server.responses import ApiError

LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
WILDCARDS = {"", "0.0.0.0", "::"}
MAX_TRACKED_CLIENTS = 10_000


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    h = host.strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> str:
    """The host part of a Host header (``[::1]:7860`` -> ``::1``), lower case."""
    v = value.strip().lower()
    if v.startswith("["):
        return v[1:v.find("]")] if "]" in v else v
    if v.count(":") == 1:
        v = v.split(":", 1)[0]
    return v.rstrip(".")


class ClientRateLimiter:
    """A token bucket per client key: ``per_minute`` burst, refilled evenly.

    Args:
        per_minute: requests a client may make per minute.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str) -> float:
        """Take one request for ``key``: 0 if allowed, else seconds until one is."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        full_after = self.capacity / self.rate
        for k, (_, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[k]


class Guard:
    """Checks requests against the server's security settings.

    Args:
        cfg: the server configuration (host, allowed_origins, rate_limit_per_minute).
        token: the access token; required from clients when the bind is not loopback.
    """

    def __init__(self, cfg: ServerConfig, token: str | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_required = not is_loopback(cfg.host)
        self.token = token or ""
        self.origins = {o.strip().rstrip("/").lower() for o in cfg.allowed_origins}
        self.wildcard = cfg.host.strip("[]") in WILDCARDS
        self.hosts = LOCAL_NAMES | {cfg.host.strip("[]").lower()}
        if self.token_required:
            name = socket.gethostname().lower()
            self.hosts |= {name, f"{name}.local"}
        self.limiter = ClientRateLimiter(cfg.rate_limit_per_minute, clock)

    def check(self, request: Request, client: str, *, rest: bool) -> None:
        """Refuse ``request`` from address ``client`` unless it may be answered.

        Raises:
            ApiError: 429, 403 or 401 as the module docstring lists.
        """
        if rest:
            wait = self.limiter.hit(client)
            if wait > 0:
                raise ApiError(429, "rate_limited",
                               "too many requests from this address; retry later",
                               [("Retry-After", str(max(1, math.ceil(wait))))])
        self._check_host(request.headers.get_all("Host"))
        origins = request.headers.get_all("Origin")
        if origins and (len(origins) > 1 or origins[0].strip().rstrip("/").lower()
                        not in self.origins):
            raise ApiError(403, "origin_not_allowed",
                           "requests from web pages are refused; add the page's origin to "
                           "[server] allowed_origins to allow it")
        if self.token_required and not self._has_token(request):
            raise ApiError(401, "unauthorized",
                           "this server needs its access token: send 'Authorization: Bearer "
                           "<token>' or '?token=<token>' (the token is shown in Settings)",
                           [("WWW-Authenticate", 'Bearer realm="cryptohub"')])

    def _check_host(self, values: list[str]) -> None:
        if len(values) == 1:
            host = split_host(values[0])
            if host in self.hosts:
                return
            if self.wildcard:
                try:
                    ipaddress.ip_address(host)
                    return
                except ValueError:
                    pass
        raise ApiError(403, "host_not_allowed",
                       "the Host header must name this machine (localhost, 127.0.0.1, [::1] "
                       "or the configured host)")

    def _has_token(self, request: Request) -> bool:
        given = ""
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
        if not given and "?" in request.path:
            query = request.path.split("?", 1)[1]
            try:
                given = dict(parse_qsl(query, max_num_fields=100)).get("token", "")
            except ValueError:
                return False
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())


class Throttle:
    """Token bucket for one connection's inbound messages.

    Args:
        rate: messages per second allowed on average.
        burst: messages allowed at once.
        abuse: refused messages (leaking at ``rate`` per second) that make a flood.
    """

    def __init__(self, rate: float = 20.0, burst: float = 40.0, abuse: float = 200.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.abuse = rate, burst, abuse
        self._clock = clock
        self.tokens = burst
        self.excess = 0.0
        self._last = clock()
        self.last_warned = -1e9

    def take(self) -> str:
        """``"ok"``, ``"throttled"`` (drop this message) or ``"abuse"`` (close 1008)."""
        now = self._clock()
        elapsed, self._last = now - self._last, now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.excess = max(0.0, self.excess - elapsed * self.rate)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return "ok"
        self.excess += 1.0
        return "abuse" if self.excess > self.abuse else "throttled"
