"""RemoteApi: :class:`~cryptohub_desktop.api.protocol.HubApi` on a hub over the network
(``cryptohub-desktop gui --hub URL``, SPEC section 15).

One WebSocket to the hub's ``/ws/master`` carries the state and the actions: on
connect the client says ``hello`` (the hub answers its version and whether this
token may act), subscribes to ``all`` and takes every service's snapshot as the
state, then applies the updates. A ``seq`` that jumps means updates were missed:
the service is subscribed again for a fresh snapshot. Reads are the hub's REST
answers (``Authorization: Bearer``), so the views read exactly what a script would.

The connection state (:attr:`RemoteApi.state`) is one of ``connecting``,
``connected``, ``reconnecting (n)``, ``auth failed``, ``unreachable``,
``incompatible``; a lost connection is retried with backoff and jitter from 0.5 s up
to 30 s, and once back every service is subscribed again and each view is told to
read afresh (a :data:`~cryptohub_desktop.core.topics.RESYNC` event per service), so
what was missed is filled from REST and nothing stale is shown as current.

TLS: ``https://`` / ``wss://`` are verified against the system's CA store, or the CA
file given (``[hub] ca_file``) for a self-signed hub; verification is never off.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from cryptohub_desktop import __version__
from cryptohub_desktop.api.protocol import ActionResult, Answer, ProviderInfo
from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import HubError, UserError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import iso, parse_iso
from cryptohub_desktop.core.topics import RESYNC, TOPICS, Event, Subscriber
from cryptohub_desktop.engine.bus import Subscribers

log = logging.getLogger("cryptohub.remote")

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0
READ_TIMEOUT = 20.0
ACTION_TIMEOUT = 120.0  # collect now runs a provider
BACKFILL_TIMEOUT = 3600.0  # a year of candles for a watchlist takes a while


class RemoteHubError(HubError):
    """The hub answered an error, or could not be reached, for one read."""


class RemoteApi:
    """A hub reached over REST + WebSocket.

    Args:
        url: the hub's base URL (``http(s)://host[:port]``).
        token: its access token (``CRYPTOHUB_HUB_TOKEN``), sent as ``Bearer``; None for a
            loopback hub that needs none.
        ca_file: a CA file to trust (a self-signed hub).
        on_state: called with the connection state each time it changes (more with
            :meth:`watch_state`).

    Raises:
        UserError: the URL is not http(s)://host[:port], or the CA file is unreadable.

    Attributes:
        state: the connection state (see the module docstring).
        detail: one line about the state, for the window ("401: wrong token").
    """

    mode = "remote"

    def __init__(self, url: str, token: str | None = None, *, ca_file: str | None = None,
                 on_state: Callable[[str], None] | None = None) -> None:
        self.state = "connecting"
        self.detail = ""
        self.can_act = False
        self.read_only_reason = "not connected to the hub yet"
        self.hub_version = ""
        self.instance_id = ""
        self.reconnects = 0
        self._watchers: list[Callable[[str], None]] = [on_state] if on_state else []
        self._configure(url, token, ca_file)
        self._subs = Subscribers()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._seq: dict[str, int] = dict.fromkeys(TOPICS, 0)
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._fresh: set[str] = set()  # services snapshotted on the current connection
        self._catalogue: list[ProviderInfo] = []
        self._symbol_map = SymbolMap.bundled()  # the same release's map as the hub's
        self._watchlist: list[str] = []
        self._ready = asyncio.Event()
        self._settled = asyncio.Event()  # ready, or a first failure to tell the user about
        self._stopping = False

    def _configure(self, url: str, token: str | None, ca_file: str | None) -> None:
        """Where the hub is and how to show who we are (the constructor's arguments).

        Raises:
            UserError: the URL is not http(s)://host[:port], or the CA file is unreadable.
        """
        parts = urlsplit(url.strip().rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UserError(f"hub URL must be http(s)://host[:port], got {url!r}")
        tls = _tls_context(ca_file) if parts.scheme == "https" else None
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.ws_url = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc,
                                  parts.path + "/ws/master", "", ""))
        self.token = token
        self.ca_file = ca_file or ""
        self._tls = tls
        headers = {"User-Agent": f"cryptohub-desktop/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = headers
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers,
                                       verify=self._tls or True, timeout=READ_TIMEOUT)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and wait (at most 10 s) for the first snapshots, or the first failure
        (auth failed, unreachable, incompatible: the window says so at once); the
        connection is kept, and retried, either way."""
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="remote-hub")
        try:
            await asyncio.wait_for(self._settled.wait(), timeout=10)
        except TimeoutError:
            pass  # the window opens anyway and says what is wrong (state, detail)

    async def stop(self) -> None:
        await self._halt()
        await self._http.aclose()

    async def _halt(self) -> None:
        """End the connection task and fail what waits on it (stop, reconnect)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=2)
            self._task = None
        if self._ws is not None:
            await self._ws.close()
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()

    async def reconnect(self, url: str, token: str | None, ca_file: str | None = None) -> None:
        """Attach to ``url`` with ``token`` from now on (Settings saved): the connection
        is dropped and made again; the state starts afresh from its snapshots.

        Raises:
            UserError: ``url`` or ``ca_file`` is unusable; the current connection is kept.
        """
        old_http = self._http
        self._configure(url, token, ca_file)  # raises before anything is dropped
        await self._halt()
        await old_http.aclose()
        self._snapshots.clear()
        self._seq = dict.fromkeys(TOPICS, 0)
        self._catalogue = []
        self._ready.clear()
        self.reconnects = 0
        self.can_act = False
        self.read_only_reason = "not connected to the hub yet"
        self._set_state("connecting", self.url)
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="remote-hub")

    def watch_state(self, fn: Callable[[str], None]) -> Callable[[], None]:
        self._watchers.append(fn)
        return lambda: self._watchers.remove(fn) if fn in self._watchers else None

    def _set_state(self, state: str, detail: str = "") -> None:
        changed = (state, detail) != (self.state, self.detail)
        self.state, self.detail = state, detail
        if state != "connecting":
            self._settled.set()
        if changed:
            log.info("hub %s: %s%s", self.url, state, f" ({detail})" if detail else "")
            for fn in list(self._watchers):
                fn(state)

    async def _run(self) -> None:
        delay = BACKOFF_INITIAL
        while not self._stopping:
            self._fresh.clear()
            try:
                await self._session()
                lost = "the hub closed the connection"
            except InvalidStatus as exc:
                code = exc.response.status_code
                if code in (401, 403):
                    self._set_state("auth failed", f"the hub refused the token ({code})")
                else:
                    self._set_state("unreachable", f"the hub answered HTTP {code}")
                lost = ""
            except (OSError, TimeoutError, WebSocketException, InvalidURI) as exc:
                lost = _why(exc)
            except _Incompatible as exc:
                self._set_state("incompatible", str(exc))
                return
            if self._stopping:
                return
            if self.state == "connected":
                delay = BACKOFF_INITIAL  # it worked: the next drop starts the backoff over
            if lost:
                if self._ready.is_set():  # it worked before: say how often it was retried
                    self.reconnects += 1
                    self._set_state(f"reconnecting ({self.reconnects})", lost)
                else:
                    self._set_state("unreachable", lost)
            await asyncio.sleep(delay * (0.5 + random.random()))  # jitter
            delay = min(BACKOFF_MAX, delay * 2)

    async def _session(self) -> None:
        async with connect(self.ws_url, additional_headers=self._headers, ssl=self._tls,
                           open_timeout=10, max_size=2**24, compression=None,
                           user_agent_header=None) as ws:
            self._ws = ws
            try:
                await ws.send(json.dumps({"action": "hello", "client": __version__}))
                await ws.send(json.dumps({"action": "subscribe", "service": "all"}))
                async for raw in ws:
                    self._on_message(json.loads(raw))
            finally:
                self._ws = None
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(ConnectionError("the hub connection was lost"))
                self._pending.clear()

    # --- messages --------------------------------------------------------------------------
    def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "hello":
            self._on_hello(msg)
        elif kind == "snapshot":
            self._on_snapshot(msg)
        elif kind == "update":
            self._on_update(msg)
        elif kind == "result":
            fut = self._pending.pop(int(msg.get("id") or 0), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif kind == "error":
            log.info("hub said: %s %s", msg.get("error"), msg.get("detail"))

    def _on_hello(self, msg: dict[str, Any]) -> None:
        self.hub_version = str(msg.get("version") or "")
        if self.hub_version.split(".")[:1] != __version__.split(".")[:1]:
            raise _Incompatible(f"hub version {self.hub_version or '?'}, this desktop "
                                f"{__version__}")
        self.instance_id = str(msg.get("instance_id") or "")
        self.can_act = bool(msg.get("can_act"))
        self.read_only_reason = str(msg.get("read_only_reason") or "")

    def _on_snapshot(self, msg: dict[str, Any]) -> None:
        service = str(msg.get("service"))
        if service not in TOPICS:
            return
        self._snapshots[service] = msg.get("data") or {}
        self._seq[service] = int(msg.get("seq") or 0)
        self._fresh.add(service)
        if service == "health_checker":
            self._learn_catalogue(self._snapshots[service])
        if service == "market_data":
            self._watchlist = [m["symbol"] for m in self._snapshots[service].get("market", [])]
        if len(self._fresh) == len(TOPICS):  # the whole state of this connection is here
            self._ready.set()
            self._set_state("connected", f"{self.url} ({self.instance_id or 'hub'})")
        # the views read afresh: whatever they show now comes from this snapshot's time
        self._subs.deliver(Event(service, {"reason": "snapshot"}, seq=0, kind=RESYNC))

    def _on_update(self, msg: dict[str, Any]) -> None:
        service = str(msg.get("service"))
        if service not in TOPICS:
            return
        seq = int(msg.get("seq") or 0)
        last = self._seq[service]
        if last and seq and seq != last + 1:
            log.info("%s: updates %d-%d missed; asking for a fresh snapshot", service,
                     last + 1, seq - 1)
            self._send({"action": "subscribe", "service": service})
        self._seq[service] = max(last, seq)
        data = msg.get("data") or {}
        self._fold(service, data)
        ts = parse_iso(msg["timestamp"]) if msg.get("timestamp") else None
        event = Event(service, data, ts, seq, str(msg.get("origin") or "")) if ts else \
            Event(service, data, seq=seq, origin=str(msg.get("origin") or ""))
        self._subs.deliver(event)

    def _fold(self, service: str, data: dict[str, Any]) -> None:
        """Keep the in-memory answers current (status counts, prices, database size)."""
        if service == "health_checker" and data.get("event") == "status":
            snap = self._snapshots.get("health_checker", {})
            for p in snap.get("providers", []):
                if p.get("id") == data.get("provider"):
                    p["status"] = data.get("new")
        elif service == "health_checker" and data.get("event") == "stream":
            snap = self._snapshots.get("health_checker", {})
            for p in snap.get("providers", []):
                if p.get("id") == data.get("provider"):
                    p["stream"] = data.get("stream")
        elif service == "health_checker" and data.get("event") == "network":
            snap = self._snapshots.setdefault("health_checker", {})
            snap.setdefault("status", {})["network"] = {
                k: data.get(k) for k in ("online", "since", "detail", "unreachable_providers")}
        elif service == "health_checker" and data.get("event") == "metrics":
            snap = self._snapshots.setdefault("health_checker", {})
            snap.setdefault("status", {})["system_metrics"] = data
        elif service == "market_data":
            for c in data.get("consensus") or []:
                snap = self._snapshots.setdefault("market_data", {"market": []})
                for m in snap.get("market", []):
                    if (m.get("symbol") == c.get("symbol")
                            and c.get("consensus_price") is not None):
                        m["consensus_price"] = c["consensus_price"]

    def _learn_catalogue(self, health: dict[str, Any]) -> None:
        if not self._catalogue:
            self._catalogue = [ProviderInfo(p["id"], p["name"], p["category"], (),
                                            bool(p.get("requires_key")))
                               for p in health.get("providers", [])]

    def _send(self, msg: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None:
            asyncio.get_running_loop().create_task(ws.send(json.dumps(msg)))

    # --- what the hub is ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def watchlist(self) -> list[str]:
        return list(self._watchlist)

    def catalogue(self) -> list[ProviderInfo]:
        return list(self._catalogue)

    def counts(self) -> dict[str, int]:
        counts = {"online": 0, "degraded": 0, "offline": 0}
        for p in self._snapshots.get("health_checker", {}).get("providers", []):
            if p.get("status") in counts:
                counts[p["status"]] += 1
        return counts

    def prices(self) -> dict[str, float]:
        return {m["symbol"]: m["consensus_price"]
                for m in self._snapshots.get("market_data", {}).get("market", [])
                if m.get("consensus_price") is not None}

    def database_size(self) -> int | None:
        metrics = self._snapshots.get("health_checker", {}).get("status", {}).get(
            "system_metrics", {})
        size = metrics.get("db_size_bytes")
        return int(size) if isinstance(size, int | float) else None

    def network(self) -> Answer:
        """The hub machine's network, as its last status said (updates fold into it)."""
        status = self._snapshots.get("health_checker", {}).get("status", {})
        return dict(status.get("network") or {"online": True, "since": None, "detail": "",
                                              "unreachable_providers": []})

    def symbols(self) -> list[Answer]:
        return self._symbol_map.listing({p.id for p in self._catalogue})

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        return self._subs.subscribe("*", fn)

    def last_seq(self, service: str) -> int:
        return self._seq.get(service, 0)

    # --- reads -----------------------------------------------------------------------------
    async def _get(self, path: str, **params: Any) -> Answer:
        query = {k: _param(v) for k, v in params.items() if v is not None}
        try:
            r = await self._http.get(path, params=query)
        except httpx.HTTPError as exc:
            raise RemoteHubError(f"the hub did not answer {path}: {_short(exc)}") from exc
        if r.status_code == 401:
            self._set_state("auth failed", "the hub refused the token (401)")
        if r.status_code != 200:
            try:
                detail = r.json().get("detail", "")
            except ValueError:
                detail = r.text[:200]
            raise RemoteHubError(f"the hub answered {r.status_code} to {path}: {detail}")
        body: Answer = r.json()
        return body

    async def health(self) -> Answer:
        return await self._get("/health")

    async def status(self) -> Answer:
        return await self._get("/api/status")

    async def providers(self) -> Answer:
        return await self._get("/api/providers")

    async def rate_limits(self) -> Answer:
        return await self._get("/api/rate-limits")

    async def schedule(self) -> Answer:
        return await self._get("/api/schedule")

    async def freshness(self, by: str = "name") -> Answer:
        return await self._get("/api/freshness", by=None if by == "name" else by)

    async def failures(self, limit: int = 50) -> Answer:
        return await self._get("/api/failures", limit=limit)

    async def market(self, symbols: Sequence[str] | None = None) -> Answer:
        return await self._get("/api/market", symbols=",".join(symbols) if symbols else None)

    async def history(self, symbol: str, interval: str = "1h", start: datetime | None = None,
                      end: datetime | None = None, source: str | None = None,
                      limit: int = 1000) -> Answer:
        return await self._get("/api/history", symbol=symbol, interval=interval, start=start,
                               end=end, source=source, limit=limit)

    async def news(self, limit: int = 20, q: str | None = None) -> Answer:
        return await self._get("/api/news", limit=limit, q=q)

    async def sentiment(self) -> Answer:
        return await self._get("/api/sentiment")

    async def whales(self, min_usd: float | None = None, chain: str | None = None,
                     limit: int = 50) -> Answer:
        return await self._get("/api/whales", min_usd=min_usd, chain=chain, limit=limit)

    async def gas(self) -> Answer:
        return await self._get("/api/gas")

    async def blocks(self) -> Answer:
        return await self._get("/api/blocks")

    async def onchain(self) -> Answer:
        return await self._get("/api/onchain")

    async def alerts(self, limit: int = 50, unacknowledged: bool = False) -> Answer:
        return await self._get("/api/alerts", limit=limit, unacknowledged=unacknowledged)

    async def pools(self) -> Answer:
        return await self._get("/api/pools")

    async def cluster(self) -> Answer:
        return await self._get("/api/cluster")

    async def service_snapshot(self, service: str) -> Answer:
        return dict(self._snapshots.get(service, {}))

    async def chart(self, symbol: str, seconds: int = 86400) -> Answer:
        return await self._get("/api/chart", symbol=symbol, seconds=seconds)

    async def price_history(self, symbols: Sequence[str] | None = None, hours: int = 24,
                            buckets: int = 48) -> Answer:
        return await self._get("/api/price-history",
                               symbols=",".join(symbols) if symbols else None, hours=hours,
                               buckets=buckets)

    async def provider_activity(self, provider_id: str, limit: int = 200) -> Answer:
        return await self._get("/api/provider-activity", provider=provider_id, limit=limit)

    async def text_model(self) -> Answer:
        return await self._get("/api/text-model")

    async def score_text(self, text: str) -> Answer:
        result = await self._act("score_text", text=text)
        if not result.ok:
            raise RuntimeError(result.message)
        return result.data

    # --- actions ---------------------------------------------------------------------------
    async def _act(self, action: str, timeout: float = ACTION_TIMEOUT,
                   **fields: Any) -> ActionResult:
        """Send an action on the WebSocket and wait for its typed result."""
        ws = self._ws
        if ws is None:
            return ActionResult(False, f"not connected to the hub ({self.state})", {})
        if not self.can_act:
            return ActionResult(False, self.read_only_reason or "this token may only read", {})
        request_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = fut
        try:
            await ws.send(json.dumps({"action": action, "id": request_id, **fields},
                                     default=str))
            msg = await asyncio.wait_for(fut, timeout)
        except (ConnectionClosed, ConnectionError, OSError) as exc:
            return ActionResult(False, f"the hub connection was lost ({_short(exc)})", {})
        except TimeoutError:
            return ActionResult(False, f"the hub did not answer {action} in time", {})
        finally:
            self._pending.pop(request_id, None)
        return ActionResult(bool(msg.get("ok")), str(msg.get("message") or ""),
                            msg.get("data") or {})

    async def set_enabled(self, provider_id: str, enabled: bool) -> ActionResult:
        return await self._act("set_enabled", provider=provider_id, enabled=enabled)

    async def collect_now(self, provider_id: str) -> ActionResult:
        return await self._act("collect_now", provider=provider_id)

    async def collect_all(self) -> ActionResult:
        return await self._act("collect_all")

    async def acknowledge_alerts(self, alert_ids: Sequence[int]) -> ActionResult:
        return await self._act("acknowledge_alerts", alert_ids=list(alert_ids))

    async def set_pool_strategy(self, pool: str, strategy: str) -> ActionResult:
        return await self._act("set_pool_strategy", pool=pool, strategy=strategy)

    async def set_pool_order(self, pool: str, order: Sequence[str]) -> ActionResult:
        return await self._act("set_pool_order", pool=pool, order=list(order))

    async def raise_alert(self, alert_type: str, severity: str, message: str) -> ActionResult:
        return await self._act("raise_alert", alert_type=alert_type, severity=severity,
                               message=message)

    async def backfill(self, symbols: Sequence[str] | None = None, days: int = 30,
                       progress: Callable[[int, int, str], None] | None = None
                       ) -> ActionResult:
        """The hub backfills (with its own keys and limits); its progress is not sent
        over, so ``progress`` hears only the end. Cancelling stops the wait here, not the
        hub's run: what it stores still arrives."""
        result = await self._act("backfill", BACKFILL_TIMEOUT, days=int(days),
                                 symbols=list(symbols) if symbols else None)
        if progress is not None:
            progress(1, 1, result.message)
        return result

    async def reload_keys(self) -> None:
        return None  # the hub keeps its own keys

    async def apply_config(self, config: Config) -> ActionResult:
        return ActionResult(False, "a hub's collection settings are changed on the hub", {})

    # --- for a local server (none beside a remote hub) ---------------------------------------
    def secrets_in_use(self) -> set[str]:
        return {self.token} if self.token else set()

    def attach_server(self, clients: Callable[[], int]) -> None:
        return None


class _Incompatible(Exception):
    """The hub speaks another major version of the API."""


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's CA store, plus ``ca_file`` when given (never verification off)."""
    ctx = ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(f"[hub] ca_file {ca_file}: cannot be read as a CA file ({exc})"
                            ) from exc
    return ctx


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value) or ""
    return str(value)


def _why(exc: BaseException) -> str:
    """A lost or failed connection in words for the window ("connection refused")."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({exc.verify_message}); see [hub] ca_file"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionClosed):
        return "the connection was lost"
    return _short(exc)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
