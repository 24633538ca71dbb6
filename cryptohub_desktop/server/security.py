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
4. the access token, as ``Authorization: Bearer`` or ``?token=``: required when the
   bind is not loopback, or when the client is not this machine (a team hub behind
   nginx: the client is the address ``X-Forwarded-For`` names, believed only from
   ``[cluster] trusted_proxies``) -> 401 ``unauthorized``; a wrong token is refused
   even where none is needed.

The check says what the client may do (:data:`READ` or :data:`ADMIN`): the full token
(``SERVER_TOKEN``) may act (enable a provider, collect now ... on ``/ws/master``),
the read-only token (``SERVER_READ_TOKEN``) and a local client without a token may
only read.

WebSocket connections also get a :class:`Throttle` each for their inbound messages.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any
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


READ = "read"
ADMIN = "admin"


class MemoryClientLimit:
    """The per-client REST limit of a single instance (:class:`ClientRateLimiter`)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = ClientRateLimiter(per_minute, clock)

    async def hit(self, client: str) -> float:
        return self.buckets.hit(client)


class Guard:
    """Checks requests against the server's security settings.

    Args:
        cfg: the server configuration (host, allowed_origins, rate_limit_per_minute).
        token: the full access token (reads and actions).
        read_token: the read-only access token.
        trusted_proxies: addresses or networks whose ``X-Forwarded-For`` is believed.
        limiter: the per-client REST limit (default: in this process's memory; a team
            hub passes one kept in Redis): ``async hit(client) -> seconds to wait``.
    """

    def __init__(self, cfg: ServerConfig, token: str | None, read_token: str | None = None,
                 trusted_proxies: Sequence[str] = (), limiter: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_required = not is_loopback(cfg.host)
        self.token = token or ""
        self.read_token = read_token or ""
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self.origins = {o.strip().rstrip("/").lower() for o in cfg.allowed_origins}
        self.wildcard = cfg.host.strip("[]") in WILDCARDS
        self.hosts = LOCAL_NAMES | {cfg.host.strip("[]").lower()}
        if self.token_required:
            name = socket.gethostname().lower()
            self.hosts |= {name, f"{name}.local"}
        self.limiter = limiter or MemoryClientLimit(cfg.rate_limit_per_minute, clock)

    def client_of(self, request: Request, peer: str) -> str:
        """The client's address: ``peer``, or when ``peer`` is a trusted proxy the last
        address of ``X-Forwarded-For`` that is not one (a client cannot spoof it)."""
        if not self._trusted(peer):
            return peer
        hops = [h.strip() for v in request.headers.get_all("X-Forwarded-For")
                for h in v.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)

    async def check(self, request: Request, peer: str, *, rest: bool) -> tuple[str, str]:
        """Refuse ``request`` from ``peer`` unless it may be answered; returns the client's
        address and what it may do (:data:`READ` or :data:`ADMIN`).

        Raises:
            ApiError: 429, 403 or 401 as the module docstring lists.
        """
        client = self.client_of(request, peer)
        if rest:
            wait = await self.limiter.hit(client)
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
        given = self._given_token(request)
        if given and self.token and hmac.compare_digest(given.encode(), self.token.encode()):
            return client, ADMIN
        if given and self.read_token and hmac.compare_digest(given.encode(),
                                                             self.read_token.encode()):
            return client, READ
        if given or self.token_required or not is_loopback(client):
            raise ApiError(401, "unauthorized",
                           ("wrong access token" if given else "this server needs its access "
                            "token") + ": send 'Authorization: Bearer <token>' or "
                           "'?token=<token>' (the tokens are shown in Settings)",
                           [("WWW-Authenticate", 'Bearer realm="cryptohub"')])
        return client, READ

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

    @staticmethod
    def _given_token(request: Request) -> str:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if "?" in request.path:
            try:
                return dict(parse_qsl(request.path.split("?", 1)[1],
                                      max_num_fields=100)).get("token", "")
            except ValueError:
                return ""
        return ""


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
