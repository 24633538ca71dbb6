"""The one door to a provider's API: base_url, auth, rate limit, size cap, errors.

A collector receives an :class:`Upstream` bound to its provider and calls
``get_json`` / ``get_text`` / ``post_json`` / ``rpc`` with the provider's
documented *path*; the base_url (overridable in config) is put in front. Every
call is rate limited before it is sent, recorded as a connection attempt, and
every failure is translated to an :class:`~cryptohub_desktop.core.errors.UpstreamError`
with the right ``error_type``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import certifi
import httpx

from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamConnection,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from cryptohub_desktop.core.masking import scrub
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import parse_rfc2822, utcnow
from cryptohub_desktop.providers.ratelimit import Limiter, RateLimiter
from cryptohub_desktop.providers.spec import ProviderSpec

log = logging.getLogger("cryptohub.upstream")

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
USER_AGENT = "CryptoHubDesktop/0.1 (+https://github.com/cryptohub-desktop)"


def tls_context() -> ssl.SSLContext:
    """The TLS trust of every upstream call (HTTPS and ``wss://``): the system's CA store
    plus certifi's, whether or not ``SSL_CERT_FILE`` points anywhere (it may name a
    missing file)."""
    ctx = ssl.create_default_context()
    try:
        ctx.load_verify_locations(certifi.where())
    except OSError:
        pass
    extra = os.environ.get("SSL_CERT_FILE")
    if extra and os.path.isfile(extra):
        ctx.load_verify_locations(extra)
    return ctx


def http_client() -> httpx.AsyncClient:
    """The shared HTTP client, trusting :func:`tls_context`."""
    return httpx.AsyncClient(verify=tls_context(), follow_redirects=True,
                             limits=httpx.Limits(max_connections=50,
                                                 max_keepalive_connections=20),
                             timeout=httpx.Timeout(15.0, connect=10.0))


@dataclass
class Attempt:
    """One HTTP call to a provider, as the health monitor records it."""

    provider_id: str
    endpoint: str
    started: datetime
    response_time_ms: float
    status_code: int | None
    payload_bytes: int
    error_type: str | None = None
    error_message: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


@dataclass
class Context:
    """What a collector may know beyond its own API.

    Attributes:
        symbols: the watchlist (plain upper-case symbols).
        symbol_map: provider ids / pairs for each symbol.
        prices: latest consensus USD price per symbol (for whale thresholds).
        options: this provider's extra config values (``[providers.ID]`` table).
        score_text: the active text-sentiment model: text -> (label, score).
        recent_news: coroutine giving recent stored headlines (for news_sentiment).
    """

    symbols: Sequence[str]
    symbol_map: SymbolMap
    prices: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    score_text: Callable[[str], tuple[str, float]] | None = None
    recent_news: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None


@dataclass
class HistoryQuery:
    """A request for candles of ``symbol`` at ``interval`` between start and end."""

    symbol: str
    interval: str
    start: datetime
    end: datetime
    symbol_map: SymbolMap


#: provider id, list collecting its attempts (or None) -> a door bound to the provider
UpstreamFactory = Callable[[str, "list[Attempt] | None"], "Upstream"]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parse_rfc2822(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return None


class Upstream:
    """HTTP access to one provider.

    Args:
        spec: the provider.
        client: a shared ``httpx.AsyncClient``.
        base_url: the API root (spec default or the config override).
        keys: the provider's keys in order (primary, backups); empty when none.
        limiter: this provider's rate limiter.
        on_attempt: called with every :class:`Attempt`.
        max_bytes: answers larger than this are refused as parse_error.
        timeout: seconds for one whole call (connect, headers and the full body).
    """

    def __init__(self, spec: ProviderSpec, client: httpx.AsyncClient, *, base_url: str,
                 keys: Sequence[str] = (), limiter: Limiter | None = None,
                 on_attempt: Callable[[Attempt], None] | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 15.0,
                 max_wait: float = 5.0) -> None:
        self.spec = spec
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._keys = list(keys)
        self._key_index = 0
        self._limiter: Limiter = limiter or RateLimiter(spec.id, spec.rate_limits)
        self._on_attempt = on_attempt
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._max_wait = max_wait
        self.calls = 0

    @property
    def key(self) -> str | None:
        """The key in use, or None."""
        return self._keys[self._key_index] if self._keys else None

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path:
            return self.base_url
        return f"{self.base_url}/{path.lstrip('/')}"

    async def get_json(self, path: str = "", params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None,
                       check: Callable[[Any], Any] | None = None) -> Any:
        """GET and decode JSON.

        Args:
            check: called with the decoded answer; it may raise for an error the
                provider reports inside a 200. Raising UpstreamRateLimited there is
                treated like a 429: the next (backup) key is tried.
        """
        return await self._request("GET", path, params=params, headers=headers,
                                   decode=_decode_json, check=check)

    async def get_text(self, path: str = "", params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None) -> str:
        body: bytes = await self._request("GET", path, params=params, headers=headers)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("latin-1")

    async def post_json(self, path: str, payload: Any,
                        headers: Mapping[str, str] | None = None) -> Any:
        return await self._request("POST", path, json_body=payload, headers=headers,
                                   decode=_decode_json)

    async def rpc(self, method: str, params: Sequence[Any] = (), path: str = "") -> Any:
        """One JSON-RPC 2.0 call; returns ``result`` or raises on an ``error``."""
        answer = await self.post_json(path, {"jsonrpc": "2.0", "id": 1, "method": method,
                                             "params": list(params)})
        if not isinstance(answer, dict):
            raise UpstreamParseError(f"JSON-RPC answer is not an object: {type(answer).__name__}")
        if answer.get("error") is not None:
            err = answer["error"]
            message = err.get("message", err) if isinstance(err, dict) else err
            raise UpstreamHTTPError(f"JSON-RPC error: {message}", status=400)
        if "result" not in answer:
            raise UpstreamParseError("JSON-RPC answer has no result")
        return answer["result"]

    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None, json_body: Any = None,
                       decode: Callable[[bytes], Any] | None = None,
                       check: Callable[[Any], Any] | None = None) -> Any:
        auth = self.spec.auth
        if auth.requires_key and not self._keys:
            raise MissingKey(f"{self.spec.id} needs {auth.key_names[0]}")
        tries = max(1, len(self._keys))
        for attempt_no in range(tries):
            try:
                body = await self._send_once(method, path, params, headers, json_body)
                if decode is None:
                    return body
                value = decode(body)
                if check is not None:
                    try:
                        check(value)
                    except UpstreamRateLimited as exc:  # said in the body: same as a 429
                        exc.status = 429
                        raise
                return value
            except UpstreamRateLimited as exc:
                if exc.status == 429 and attempt_no + 1 < tries:  # a backup key is there
                    self._key_index = (self._key_index + 1) % len(self._keys)
                    log.info("%s: key rate limited, switching to backup key", self.spec.id)
                    continue
                if exc.status == 429:
                    self._limiter.block_for(exc.retry_after if exc.retry_after is not None
                                            else 60.0)
                raise
        raise AssertionError("unreachable")

    def _with_auth(self, path: str, params: Mapping[str, Any] | None,
                   headers: Mapping[str, str] | None) -> tuple[str, dict, dict]:
        p = dict(params or {})
        h = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
        h.update(headers or {})
        key = self.key
        auth = self.spec.auth
        if key:
            if auth.kind == "query":
                p[auth.param] = key
            elif auth.kind == "header":
                h[auth.param] = f"{auth.prefix}{key}"
            elif auth.kind == "path":
                path = path.replace("{key}", key)
        return path, p, h

    async def _send_once(self, method: str, path: str, params: Mapping[str, Any] | None,
                         headers: Mapping[str, str] | None, json_body: Any) -> bytes:
        await self._limiter.acquire(max_wait=self._max_wait)
        path, p, h = self._with_auth(path, params, headers)
        url = self.url(path)
        endpoint = path.split("?")[0] or "/"
        if self.key:
            endpoint = endpoint.replace(self.key, "***")
        started = utcnow()
        t0 = time.perf_counter()
        status: int | None = None
        body = b""
        self.calls += 1
        try:
            request = self._client.build_request(method, url, params=p or None, headers=h,
                                                 json=json_body, timeout=self._timeout)
            # httpx's read timeout is per chunk: a body dribbled a byte at a time never
            # trips it. The whole call (connect, headers, body) gets one deadline.
            async with asyncio.timeout(self._timeout):
                response = await self._client.send(request, stream=True)
                try:
                    status = response.status_code
                    body = await self._read_capped(response)
                finally:
                    await response.aclose()
            if status == 429:
                retry = _retry_after(response.headers.get("Retry-After"))
                raise UpstreamRateLimited(f"HTTP 429 from {self.spec.id}", status=429,
                                          retry_after=retry)
            if status >= 400:
                raise UpstreamHTTPError(f"HTTP {status} from {self.spec.id}{endpoint}",
                                        status=status)
        except UpstreamError as exc:
            self._record(endpoint, started, t0, status, len(body), exc)
            raise
        except (httpx.TimeoutException, TimeoutError) as exc:  # before OSError, its base
            timeout = UpstreamTimeout(f"timeout after {self._timeout:g}s calling {self.spec.id}")
            self._record(endpoint, started, t0, status, len(body), timeout)
            raise timeout from exc
        except (httpx.HTTPError, OSError) as exc:
            err = UpstreamConnection(f"{type(exc).__name__} calling {self.spec.id}: "
                                     f"{scrub(str(exc), self._keys)}")
            self._record(endpoint, started, t0, status, len(body), err)
            raise err from exc
        self._record(endpoint, started, t0, status, len(body), None)
        return body

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise UpstreamParseError(
                f"answer of {int(declared)} bytes exceeds the {self._max_bytes} byte cap",
                status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise UpstreamParseError(
                    f"answer exceeds the {self._max_bytes} byte cap", status=response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(self, endpoint: str, started: datetime, t0: float, status: int | None,
                size: int, exc: UpstreamError | None) -> None:
        if self._on_attempt is None:
            return
        self._on_attempt(Attempt(
            provider_id=self.spec.id, endpoint=endpoint, started=started,
            response_time_ms=(time.perf_counter() - t0) * 1000.0, status_code=status,
            payload_bytes=size, error_type=exc.error_type if exc else None,
            error_message=scrub(str(exc), self._keys) if exc else None,
            retry_after=getattr(exc, "retry_after", None)))


def _decode_json(body: bytes) -> Any:
    if not body.strip():
        raise UpstreamParseError("empty answer where JSON was expected")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UpstreamParseError(f"invalid JSON: {exc}") from exc

