"""The WebSocket door: one live connection to an exchange's public market-data stream.

An exchange module (``collectors/<id>.py``) says *what* to speak: its endpoint, the
subscribe messages for a watchlist, its ping rule and a pure frame parser. This module
does the rest, the same way for every exchange:

- connects (``ws://`` and ``wss://``; a test points it at ``ws://127.0.0.1:PORT/...``),
  sends the subscribe messages, and reads frames;
- keeps the connection honest: a ping every ``ping_interval_seconds`` (protocol ping
  frames, or the exchange's own ping message), and a connection whose pong does not come
  within ``pong_timeout_seconds`` is dead;
- runs a watchdog: no *data* frame for ``stale_after_seconds`` (acks, heartbeats and
  pongs do not count) reports the state "stale" at once and recycles the connection;
- reconnects with exponential backoff and jitter from ``reconnect_initial_seconds`` to
  ``reconnect_max_seconds`` (the jitter only stretches a delay); no more than
  ``max_connects_per_5min`` attempts start in any 300 s window (an attempt waits for the
  budget instead), and while attempts keep failing the gap between two of them never
  shrinks, a wait the budget forced included. A connection that brought data resets
  the backoff; a server that announces its shutdown is reconnected at once;
- a subscription the exchange rejects is reported once as a provider error and never
  retried: when the refusal names one of the pairs (an unlisted symbol), that pair is
  dropped and the connection is remade at once for the others; when it names none, or
  every pair is refused, the stream ends in the state "rejected". No reconnect loop;
- a bad frame (not JSON, wrong schema, binary) is reported as ``parse_error`` and the
  stream goes on.

Everything is reported through the callbacks given to :class:`StreamClient`; it never
raises into its caller. Example::

    plans = binance.STREAM.plans(["BTC", "ETH"], SymbolMap.bundled())
    client = StreamClient(plans[0], StreamSettings(), on_records=store,
                          on_state=show, on_error=log_failure)
    client.start()
    ...
    await client.stop()          # idempotent
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import Record
from cryptohub_desktop.core.stream_settings import StreamSettings
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import utcnow

log = logging.getLogger(__name__)

#: The window of the connection budget, in seconds (SPEC: ``max_connects_per_5min``).
BUDGET_WINDOW_SECONDS = 300.0
#: Backoff jitter: each delay is stretched by up to this fraction (never shortened).
JITTER = 0.25
#: How much of a bad frame is quoted in its parse_error message.
QUOTE_CHARS = 120
#: Hosts reached directly even when a proxy is configured in the environment.
LOOPBACK = ("127.0.0.1", "::1", "localhost")

FrameKind = Literal["data", "ack", "rejected", "pong", "heartbeat", "info", "error",
                    "reconnect"]


@dataclass(frozen=True)
class Frame:
    """What one received frame is, as the exchange's parser read it.

    Attributes:
        kind: "data" (market data; resets the watchdog), "ack" (a subscription was
            accepted), "rejected" (a subscription was refused), "pong"
            (answer to our ping message), "heartbeat" (server keep-alive), "info"
            (anything else to ignore), "error" (an upstream error that does not end
            the stream) or "reconnect" (the server is about to close this connection and
            asks for a new one: it is remade at once, which is not a failure).
        records: the normalized records of a data frame (may be empty).
        message: the exchange's text for rejected / error / info frames.
        subject: the exchange pair a rejection names ("XBT/USD"), "" when it names none.
    """

    kind: FrameKind
    records: tuple[Record, ...] = ()
    message: str = ""
    subject: str = ""


#: A pure frame parser: (frame text, receive time) -> Frame; raises UpstreamParseError.
FrameParser = Callable[[str, datetime], Frame]


@dataclass(frozen=True)
class PingRule:
    """How a connection is kept alive and proven alive.

    ``message=None``: WebSocket protocol ping frames (RFC 6455), answered by pong frames.
    Otherwise the exchange's own ping text (``{"op":"ping"}``, ``ping``), whose answer the
    exchange's parser reports as a "pong" frame.
    """

    message: str | None = None


PROTOCOL_PING = PingRule()


@dataclass(frozen=True)
class StreamPlan:
    """One connection to open: where, what to send after each connect, how to read it.

    Attributes:
        name: shown in logs and errors, e.g. "okx business".
        url: the endpoint (``ws://`` or ``wss://``).
        pairs: the exchange pairs followed on this connection.
        messages: builds the subscribe frames (sent in order after every (re)connect)
            for a list of pairs; called again without the pairs the exchange refused.
        parse: the exchange's pure frame parser, bound to the watched pairs.
        ping: the exchange's ping rule.
    """

    name: str
    url: str
    pairs: tuple[str, ...]
    messages: Callable[[Iterable[str]], list[str]]
    parse: FrameParser
    ping: PingRule = PROTOCOL_PING

    @property
    def subscribe(self) -> tuple[str, ...]:
        """The subscribe frames for all the plan's pairs."""
        return tuple(self.messages(self.pairs))


#: (watched pairs: exchange pair -> plain symbol, url, business url) -> connection plans
PlanBuilder = Callable[[Mapping[str, str], str, "str | None"], list[StreamPlan]]
#: (watchlist symbols, symbol map) -> exchange pair -> plain symbol
PairResolver = Callable[[Sequence[str], SymbolMap], dict[str, str]]


@dataclass(frozen=True)
class StreamAdapter:
    """What an exchange publishes live and how to follow it; attached to its Provider.

    Attributes:
        url: the exchange's documented public endpoint (``[providers.<id>] ws_url``
            overrides it).
        gives: what the stream carries, for docs and the UI ("tickers, 1m candles").
        pairs: resolves watchlist symbols to the exchange's stream pairs.
        build: builds the connection plans for the resolved pairs.
        business_url: a second documented endpoint (OKX candles), overridden by
            ``ws_business_url``; None when the exchange has one endpoint.
    """

    url: str
    gives: str
    pairs: PairResolver
    build: PlanBuilder
    business_url: str | None = None

    def plans(self, symbols: Sequence[str], symbol_map: SymbolMap, *, url: str | None = None,
              business_url: str | None = None) -> list[StreamPlan]:
        """The connections to open for ``symbols`` (none when no symbol is listed there)."""
        pairs = self.pairs(symbols, symbol_map)
        if not pairs:
            return []
        return self.build(pairs, url or self.url, business_url or self.business_url)


@dataclass(frozen=True)
class StreamState:
    """Where a connection stands.

    ``name`` is one of: connecting, live, stale, reconnecting, rejected, stopped;
    ``attempt`` numbers the reconnects since the stream was last live.
    """

    name: Literal["connecting", "live", "stale", "reconnecting", "rejected", "stopped"]
    attempt: int = 0
    detail: str = ""

    def __str__(self) -> str:
        return f"reconnecting ({self.attempt})" if self.name == "reconnecting" else self.name


RecordsCallback = Callable[[list[Record], datetime], None]
StateCallback = Callable[[StreamState], None]
ErrorCallback = Callable[[str, str], None]


def load_json(text: str) -> Any:
    """A frame's JSON, or UpstreamParseError quoting the start of the frame."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UpstreamParseError(f"not JSON: {text[:QUOTE_CHARS]!r}") from exc


def _quote(raw: str | bytes) -> str:
    return repr(raw[:QUOTE_CHARS])


@dataclass
class _Session:
    """The bookkeeping of one open connection."""

    opened: float
    last_data: float
    got_data: bool = False
    pong: asyncio.Event = field(default_factory=asyncio.Event)


class StreamClient:
    """One provider connection, kept live until :meth:`stop`.

    Args:
        plan: what to connect to and how to read it.
        settings: the ``[streams]`` timings.
        on_records: ``(records, received_at)`` for each data frame that yields records;
            ``received_at`` is the UTC time the frame arrived.
        on_state: ``(StreamState)`` on each change: connecting, live, stale,
            reconnecting (n), rejected, stopped.
        on_error: ``(error_type, message)`` for each failure: connection_error, timeout,
            http_4xx, http_5xx, rate_limited, stale, parse_error, stream_error,
            subscription_rejected.
        clock: monotonic seconds (backoff, budget, watchdog).
        sleep: waits that many clock seconds (tests pass a virtual clock's sleep).
        wall: UTC now, stamped on received frames.
        rng: randomness of the backoff jitter.
        open_timeout: seconds allowed for the TCP + TLS + WebSocket handshake.
        ssl_context: the TLS context for ``wss://`` URLs (the one the engine builds for
            HTTPS); None uses the system's default trust store.

    Callbacks run on the event loop and must not block; an exception in one is logged
    and the stream goes on.
    """

    def __init__(self, plan: StreamPlan, settings: StreamSettings | None = None, *,
                 on_records: RecordsCallback, on_state: StateCallback, on_error: ErrorCallback,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 wall: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 open_timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.plan = plan
        self.settings = settings or StreamSettings()
        self._on_records = on_records
        self._on_state = on_state
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._rng = rng or random.Random()
        self._open_timeout = open_timeout
        self._ssl = ssl_context
        self._state: StreamState | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._stopped = False
        self._ended_on_purpose = False  # the session ended on purpose: no backoff growth
        #: clock times at which connection attempts started (the budget's memory)
        self.attempts: deque[float] = deque()
        #: clock time of the last data frame, None before the first one
        self.last_data: float | None = None
        #: pairs the exchange refused: reported once, never subscribed again
        self.refused: set[str] = set()
        #: why the stream ended in "rejected", None while it has not
        self.rejection: str | None = None

    # -- public API ----------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        """The current state ("stopped" before :meth:`start`)."""
        return self._state or StreamState("stopped")

    def start(self) -> asyncio.Task[None]:
        """Start following the stream in a task of the running loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"stream {self.plan.name}")
        return self._task

    async def stop(self) -> None:
        """Close the connection cleanly and end the stream. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._ws is not None:
            await self._close(self._ws)
            self._ws = None
        self._set_state(StreamState("stopped"))

    async def __aenter__(self) -> StreamClient:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def silent_for(self) -> float | None:
        """Clock seconds since the last data frame; None before the first one."""
        return None if self.last_data is None else self._clock() - self.last_data

    # -- the loop ------------------------------------------------------------------

    async def _run(self) -> None:
        streak = 0            # reconnects since the stream last brought data
        gap = 0.0             # the widest gap between two attempts while they keep failing
        previous: float | None = None
        failed = False
        while not self._stopped:
            if previous is None:
                self._set_state(StreamState("connecting"))
            else:
                streak += 1
                self._set_state(StreamState("reconnecting", streak))
                at = self._clock() + self._backoff(streak)
                if failed:
                    at = max(at, previous + gap)
                await self._wait_until(at)
            await self._wait_until(self._budget_free_at())
            now = self._clock()
            if previous is not None and failed:
                gap = max(gap, now - previous)
            previous = now
            self.attempts.append(now)
            healthy = await self._attempt()
            if self.rejection is not None:
                self._set_state(StreamState("rejected", detail=self.rejection))
                return
            failed = not (healthy or self._ended_on_purpose)
            if not failed:
                streak, gap = 0, 0.0
            self._ended_on_purpose = False

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        base = min(s.reconnect_max_seconds, s.reconnect_initial_seconds * 2 ** (attempt - 1))
        return min(s.reconnect_max_seconds, base * (1.0 + JITTER * self._rng.random()))

    def _budget_free_at(self) -> float:
        """The clock time at which one more attempt fits the 5-minute budget."""
        limit = max(1, self.settings.max_connects_per_5min)
        now = self._clock()
        while self.attempts and self.attempts[0] <= now - BUDGET_WINDOW_SECONDS:
            self.attempts.popleft()
        if len(self.attempts) < limit:
            return now
        return self.attempts[-limit] + BUDGET_WINDOW_SECONDS

    async def _wait_until(self, at: float) -> None:
        while (left := at - self._clock()) > 0:
            await self._sleep(left)

    async def _attempt(self) -> bool:
        """One connection, from connect to its end; True when it brought data."""
        try:
            extra: dict[str, Any] = {}
            if self._ssl is not None and self.plan.url.startswith("wss:"):
                extra["ssl"] = self._ssl
            if urlsplit(self.plan.url).hostname in LOOPBACK:
                extra["proxy"] = None  # a local server (tests, a relay) is never proxied
            ws = await connect(self.plan.url, open_timeout=self._open_timeout,
                               ping_interval=None, close_timeout=1.0, max_queue=256, **extra)
        except InvalidStatus as exc:
            status = exc.response.status_code
            kind = "rate_limited" if status == 429 else (
                "http_5xx" if status >= 500 else "http_4xx")
            self._error(kind, f"{self.plan.name}: handshake refused with HTTP {status}")
            return False
        except TimeoutError:
            self._error("timeout", f"{self.plan.name}: no handshake within "
                                   f"{self._open_timeout:g} s")
            return False
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            self._error("connection_error", f"{self.plan.name}: cannot connect: {exc}")
            return False
        except Exception as exc:  # anything else must not end the stream silently
            log.exception("stream %s: connect failed", self.plan.name)
            self._error("connection_error", f"{self.plan.name}: cannot connect: {exc!r}")
            return False
        self._ws = ws
        try:
            return await self._session(ws)
        finally:
            self._ws = None
            await self._close(ws)

    async def _session(self, ws: ClientConnection) -> bool:
        now = self._clock()
        session = _Session(opened=now, last_data=now)
        try:
            for message in self.plan.messages([p for p in self.plan.pairs
                                               if p not in self.refused]):
                await ws.send(message)
        except ConnectionClosed as exc:
            self._error("connection_error", f"{self.plan.name}: closed while subscribing: {exc}")
            return False
        reader = asyncio.create_task(self._read(ws, session))
        tasks = {reader, asyncio.create_task(self._watchdog(session)),
                 asyncio.create_task(self._ping(ws, session))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        ending = (reader if reader in done else next(iter(done))).result()
        if ending == "stale":
            silent = self._clock() - session.last_data
            self._set_state(StreamState("stale", detail=f"no data for {silent:.1f} s"))
            self._error("stale", f"{self.plan.name}: no data for {silent:.1f} s; reconnecting")
        elif ending == "pong_timeout":
            self._error("timeout", f"{self.plan.name}: no pong within "
                                   f"{self.settings.pong_timeout_seconds:g} s; reconnecting")
        elif ending not in ("rejected", "refused", "reconnect"):
            self._error("connection_error", f"{self.plan.name}: {ending}")
        return session.got_data

    async def _read(self, ws: ClientConnection, session: _Session) -> str:
        try:
            async for raw in ws:
                if (outcome := self._handle(raw, session)) in ("rejected", "refused",
                                                               "reconnect"):
                    return outcome
        except ConnectionClosed as exc:
            return f"connection lost ({_close_text(exc)})"
        return f"closed by the server ({_close_text(ws.close_exc)})"

    def _handle(self, raw: str | bytes, session: _Session) -> str:
        received = self._wall()
        if isinstance(raw, bytes):
            self._error("parse_error", f"{self.plan.name}: binary frame of {len(raw)} bytes: "
                                       f"{_quote(raw)}")
            return "bad"
        try:
            frame = self.plan.parse(raw, received)
        except UpstreamParseError as exc:
            self._error("parse_error", f"{self.plan.name}: {exc}; frame {_quote(raw)}")
            return "bad"
        except Exception as exc:  # a parser bug must not stop the stream either
            log.exception("stream %s: parser failed on %s", self.plan.name, _quote(raw))
            self._error("parse_error", f"{self.plan.name}: {type(exc).__name__}: {exc}; "
                                       f"frame {_quote(raw)}")
            return "bad"
        if frame.kind == "data":
            session.last_data = self.last_data = self._clock()
            if not session.got_data:
                session.got_data = True
                self._set_state(StreamState("live"))
            if frame.records:
                self._call(self._on_records, list(frame.records), received)
        elif frame.kind == "pong":
            session.pong.set()
        elif frame.kind == "rejected":
            return self._rejected(frame)
        elif frame.kind == "error":
            self._error("stream_error", f"{self.plan.name}: {frame.message}")
        elif frame.kind == "reconnect":
            log.info("stream %s: the server asks to reconnect (%s)", self.plan.name, frame.message)
            self._ended_on_purpose = True
            return "reconnect"
        else:
            log.debug("stream %s: %s %s", self.plan.name, frame.kind, frame.message)
        return frame.kind

    def _rejected(self, frame: Frame) -> str:
        """A refusal: "refused" drops one pair and resubscribes, "rejected" ends the stream."""
        message = frame.message or "subscription rejected"
        if frame.subject in self.refused:
            return "ignored"  # the same pair refused on another channel: told already
        self._error("subscription_rejected", f"{self.plan.name}: {message}")
        if frame.subject in self.plan.pairs:
            self.refused.add(frame.subject)
            if not self.refused.issuperset(self.plan.pairs):
                self._ended_on_purpose = True
                return "refused"
        self.rejection = message
        return "rejected"

    async def _watchdog(self, session: _Session) -> str:
        stale_after = self.settings.stale_after_seconds
        while (left := session.last_data + stale_after - self._clock()) > 0:
            await self._sleep(left)
        return "stale"

    async def _ping(self, ws: ClientConnection, session: _Session) -> str:
        rule = self.plan.ping
        while True:
            await self._sleep(self.settings.ping_interval_seconds)
            try:
                if rule.message is None:
                    answer: Awaitable[Any] = await ws.ping()
                else:
                    session.pong.clear()
                    await ws.send(rule.message)
                    answer = session.pong.wait()
            except ConnectionClosed:
                await asyncio.Event().wait()  # the reader reports the close
            if not await self._within(answer, self.settings.pong_timeout_seconds):
                if ws.close_code is not None:
                    await asyncio.Event().wait()  # closed meanwhile: the reader reports it
                return "pong_timeout"

    async def _within(self, awaitable: Awaitable[Any], seconds: float) -> bool:
        waiter = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
            return waiter.done() and not waiter.cancelled() and waiter.exception() is None
        finally:
            for fut in (waiter, timer):
                fut.cancel()
            await asyncio.gather(waiter, timer, return_exceptions=True)

    async def _close(self, ws: ClientConnection) -> None:
        try:
            await ws.close()
        except Exception:  # closing a broken connection: nothing left to tell
            log.debug("stream %s: close failed", self.plan.name, exc_info=True)

    # -- reporting -----------------------------------------------------------------

    def _set_state(self, state: StreamState) -> None:
        if state == self._state:
            return
        self._state = state
        log.info("stream %s: %s%s", self.plan.name, state,
                 f" ({state.detail})" if state.detail else "")
        self._call(self._on_state, state)

    def _error(self, error_type: str, message: str) -> None:
        log.info("stream %s: %s: %s", self.plan.name, error_type, message)
        self._call(self._on_error, error_type, message)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("stream %s: callback %r failed", self.plan.name, callback)


def _close_text(exc: ConnectionClosed | None) -> str:
    if exc is None:
        return "no close frame"
    if exc.rcvd is None:
        return "no close frame"
    return f"code {exc.rcvd.code}" + (f" {exc.rcvd.reason}" if exc.rcvd.reason else "")
