"""Live exchange streams wired into the engine (SPEC section 14).

The :class:`StreamManager` follows the public WebSocket of every exchange that has one
(``Provider.stream``) for the watchlist, through the door of
:mod:`cryptohub_desktop.providers.stream`, and turns what arrives into what REST runs
give, so callers never know which transport answered:

- a tick is published at once on the bus as a ``market_data`` update (the REST
  envelope plus ``"via": "stream"``) with the consensus of the symbols it touched,
  computed from each source's latest known price (stale stream sources left out);
- ticks are stored in ``market_prices`` at most once per second per (source, symbol),
  stamped with the time they were received; candles are upserted into ``ohlcv`` (the
  last values of a re-sent open candle win). Writes are batched on the store's writer
  and, in a team hub, fenced by the lease epoch held when the stream started;
- a bad frame, a refused subscription or a lost connection is a ``failure_logs`` row
  (``parse_error``, ``subscription_rejected``, ...); the stream goes on (a refusal of
  every pair ends it in the state "rejected", no reconnect loop);
- a provider whose stream brought no data for ``rest_fallback_after_seconds`` falls
  back to REST: its collector runs at once and then on its schedule, until the stream
  brings data again. While the stream serves a provider its scheduled REST runs are
  skipped (:meth:`StreamManager.covers`).

In a team hub a stream runs only on the instance holding the provider's lease
(:meth:`StreamManager.on_owned`, from the coordinator's callback); alone, one
connection per exchange endpoint. :meth:`StreamManager.stop` ends everything.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.consensus import SourcePrice, consensus
from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.records import Candle, Price, Record, as_dict
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.core.time import from_db, utcnow
from cryptohub_desktop.core.topics import Event
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.catalogue import Catalogue
from cryptohub_desktop.engine.ports import Coordinator, EventBus
from cryptohub_desktop.engine.runner import sane
from cryptohub_desktop.engine.tasks import Background
from cryptohub_desktop.providers.stream import StreamClient, StreamState
from cryptohub_desktop.providers.upstream import tls_context
from cryptohub_desktop.storage import queries
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.streams")

#: a (source, symbol) price is stored at most this often (seconds)
STORE_EVERY_SECONDS = 1.0
#: queued stream rows wait this long to be written together (seconds)
FLUSH_SECONDS = 0.25
#: how often the REST fallback is checked, at most (seconds)
WATCH_SECONDS = 0.25
#: the worst state of a provider's connections wins, in this order
_WORST = ("rejected", "stale", "reconnecting", "connecting", "live", "stopped")


@dataclass
class _Feed:
    """The streams of one provider (OKX has two connections) and their fallback."""

    pid: str
    clients: list[StreamClient]
    fence: Callable[[], None] | None
    started: float
    symbols: tuple[str, ...]  # the watchlist it was subscribed for
    fallback: bool = False
    last_tick: float | None = None  # clock time of the last price received
    watcher: asyncio.Task[None] | None = None
    stored: dict[str, float] = field(default_factory=dict)  # symbol -> clock of last store

    def last_data(self) -> float | None:
        times = [c.last_data for c in self.clients if c.last_data is not None]
        return max(times) if times else None


class StreamManager:
    """Runs the live streams of the providers this instance owns.

    Args:
        catalogue: providers, their toggles and keys.
        config: ``[streams]``, ``[providers.<id>] ws_*``, watchlist, consensus settings.
        store: where ticks and candles are written.
        bus: where ticks are published.
        coordinator: whose lease fences the writes (team hub).
        symbol_map: the watchlist's pairs per exchange.
        tasks: background work of the engine (writes, fallback runs).
        run_rest: runs a provider's REST collector once (the fallback).
        prices: the engine's consensus price per watched symbol (kept current here too).
        on_prices: called with ``prices`` after a tick changed them (price rules).
        on_data: called with the provider and the receive time of each data frame that
            brought records (the provider's freshness).
        clock: monotonic seconds.
    """

    def __init__(self, *, catalogue: Catalogue, config: Config, store: Store, bus: EventBus,
                 coordinator: Coordinator, symbol_map: SymbolMap, tasks: Background,
                 run_rest: Callable[[str], Coroutine[Any, Any, Any]], prices: dict[str, float],
                 on_prices: Callable[[dict[str, float]], None] = lambda prices: None,
                 on_data: Callable[[str, datetime], None] = lambda pid, when: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.catalogue = catalogue
        self.config = config
        self.store = store
        self.bus = bus
        self.coordinator = coordinator
        self.symbol_map = symbol_map
        self.tasks = tasks
        self.run_rest = run_rest
        self.prices = prices
        self.on_prices = on_prices
        self.on_data = on_data
        self.clock = clock
        self.feeds: dict[str, _Feed] = {}
        #: (source, symbol) -> timestamp of the newest price stored from the stream
        self.stream_rows: dict[tuple[str, str], datetime] = {}
        self._latest: dict[str, dict[str, SourcePrice]] = {}  # symbol -> source -> price
        self._pending: dict[str, tuple[list[Price], dict[tuple[str, str, Any], Candle]]] = {}
        self._flushing = False
        self._unsubscribe: Callable[[], None] = lambda: None
        self._running = False
        self._tls: ssl.SSLContext | None = None  # made when a wss:// stream first starts

    # --- which providers ---------------------------------------------------------------
    def streaming_ids(self) -> list[str]:
        """Providers with a live stream that the configuration lets run.

        A provider whose REST ``base_url`` is overridden (a mirror, a proxy, a test
        server) follows its stream only when ``ws_url`` is overridden too: the exchange's
        own endpoint is not called behind the user's back."""
        if not self.config.streams.enabled:
            return []
        return [pid for pid, p in self.catalogue.providers.items()
                if p.stream is not None and self._configured(pid)]

    def _configured(self, pid: str) -> bool:
        pc = self.config.provider(pid)
        return pc.ws_enabled and bool(pc.ws_url or not pc.base_url)

    def covers(self, pid: str) -> bool:
        """Whether the stream serves ``pid`` now (its scheduled REST runs are skipped)."""
        feed = self.feeds.get(pid)
        return feed is not None and not feed.fallback and not self._rejected(feed)

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Read each source's latest price of the watchlist and follow market updates
        (the consensus of a tick needs the other sources)."""
        self._running = True
        since = utcnow() - timedelta(seconds=self.config.consensus_max_age_seconds)
        for symbol in (s.upper() for s in self.config.watchlist):
            rows = await self.store.read(queries.latest_source_prices, symbol, since)
            for r in rows:
                ts = from_db(r.timestamp)
                assert ts is not None
                self._remember(symbol, SourcePrice(r.source, r.price_usd, ts, r.quote))
        self._unsubscribe = self.bus.subscribe("market_data", self._on_market_update)

    def on_owned(self, owned: set[str]) -> None:
        """The coordinator says which providers this instance collects (or a provider
        was enabled or disabled): start the streams of the active ones, stop the rest."""
        if not self._running:
            return
        wanted = {pid for pid in self.streaming_ids()
                  if pid in owned and self.catalogue.is_active(pid)}
        for pid in sorted(wanted - set(self.feeds)):
            self._start_feed(pid)
        for pid in [p for p in self.feeds if p not in wanted]:
            self.tasks.spawn(self._stop_feed(pid))

    async def refresh(self, owned: set[str]) -> None:
        """After the settings changed: remake the streams subscribed for another
        watchlist, then start / stop as :meth:`on_owned` does."""
        for pid in [p for p, f in self.feeds.items() if f.symbols != self._watchlist()]:
            await self._stop_feed(pid)
        self.on_owned(owned)

    def _watchlist(self) -> tuple[str, ...]:
        return tuple(s.upper() for s in self.config.watchlist)

    async def stop(self) -> None:
        """Stop every stream and its fallback watcher. Idempotent."""
        self._running = False
        self._unsubscribe()
        self._unsubscribe = lambda: None
        await asyncio.gather(*(self._stop_feed(pid) for pid in list(self.feeds)))

    def _start_feed(self, pid: str) -> None:
        provider = self.catalogue[pid]
        assert provider.stream is not None
        pc = self.config.provider(pid)
        plans = provider.stream.plans(list(self.config.watchlist), self.symbol_map,
                                      url=pc.ws_url, business_url=pc.ws_business_url)
        if pc.ws_url and not pc.ws_business_url:  # moved elsewhere: never the exchange itself
            plans = [p for p in plans if p.url != provider.stream.business_url]
        if not plans:
            log.info("%s: no watched symbol is listed on its stream", pid)
            return
        if self._tls is None and any(p.url.startswith("wss:") for p in plans):
            self._tls = tls_context()
        feed = _Feed(pid, [], self.coordinator.fence(pid), self.clock(), self._watchlist())
        for plan in plans:
            feed.clients.append(StreamClient(
                plan, self.config.streams, on_records=partial(self._on_records, feed),
                on_state=partial(self._on_state, feed), on_error=partial(self._on_error, feed),
                ssl_context=self._tls))
        self.feeds[pid] = feed
        for client in feed.clients:
            client.start()
        feed.watcher = asyncio.get_running_loop().create_task(self._watch(feed),
                                                              name=f"fallback {pid}")
        log.info("%s: following %d stream connection(s)", pid, len(feed.clients))

    async def _stop_feed(self, pid: str) -> None:
        feed = self.feeds.pop(pid, None)
        if feed is None:
            return
        if feed.watcher is not None:
            feed.watcher.cancel()
            await asyncio.gather(feed.watcher, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in feed.clients))
        self._publish_state(feed)

    # --- state -------------------------------------------------------------------------
    def state(self, pid: str) -> dict[str, Any] | None:
        """``{"state", "detail"}`` of ``pid``'s stream: live / stale / reconnecting (n) /
        connecting / fallback (REST) / rejected / off; None when it has no stream."""
        provider = self.catalogue[pid]
        if provider.stream is None:
            return None
        feed = self.feeds.get(pid)
        if feed is None:
            pc = self.config.provider(pid)
            why = ("streams are off ([streams] enabled = false)" if not self.config.streams.enabled
                   else "ws_enabled = false" if not pc.ws_enabled
                   else "base_url is overridden and ws_url is not"
                   if not self._configured(pid)
                   else "provider disabled or waiting for its key"
                   if not self.catalogue.is_active(pid)
                   else "another instance of the team follows it"
                   if not self.coordinator.owns(pid) else "not started")
            return {"state": "off", "detail": why}
        if self._rejected(feed):
            return {"state": "rejected", "detail": feed.clients[0].state.detail}
        refused = [c for c in feed.clients if c.state.name == "rejected"]
        worst = min((c.state for c in feed.clients if c not in refused),
                    key=lambda s: _WORST.index(s.name))
        if refused:  # OKX: one endpoint refused, the other still followed
            worst = StreamState(worst.name, worst.attempt, "; ".join(
                [worst.detail] * bool(worst.detail)
                + [f"{c.plan.name} rejected: {c.state.detail}" for c in refused]))
        if feed.fallback:
            return {"state": "fallback (REST)",
                    "detail": f"no stream data for {self.config.streams.rest_fallback_after_seconds:g} s"
                              f"; {worst}"}
        if self.stale(pid):
            return {"state": "stale", "detail": f"no data for {self._silent(feed):.1f} s"}
        return {"state": str(worst), "detail": worst.detail}

    def stale(self, pid: str) -> bool:
        """The stream brought prices once and has been silent past ``stale_after_seconds``."""
        feed = self.feeds.get(pid)
        return (feed is not None and feed.last_tick is not None
                and self._silent(feed) >= self.config.streams.stale_after_seconds)

    def stale_rows(self) -> dict[tuple[str, str], datetime]:
        """(source, symbol) -> timestamp of the stored stream price that is stale now."""
        return {key: ts for key, ts in self.stream_rows.items() if self.stale(key[0])}

    def _silent(self, feed: _Feed) -> float:
        last = feed.last_data()
        return self.clock() - (last if last is not None else feed.started)

    def _rejected(self, feed: _Feed) -> bool:
        return all(c.state.name == "rejected" for c in feed.clients)

    # --- what the door reports ---------------------------------------------------------
    def _on_state(self, feed: _Feed, state: StreamState) -> None:
        if self.feeds.get(feed.pid) is feed:
            self._publish_state(feed)

    def _publish_state(self, feed: _Feed) -> None:
        self.bus.publish("health_checker", {"event": "stream", "provider": feed.pid,
                                            "stream": self.state(feed.pid)})

    def _on_error(self, feed: _Feed, error_type: str, message: str) -> None:
        self.tasks.spawn(self._write_failure(feed.pid, error_type, message))

    async def _write_failure(self, pid: str, error_type: str, message: str) -> None:
        try:
            await self.store.write(bookkeeping.persist_stream_failure, pid, error_type,
                                   message, utcnow())
        except StoreError as exc:
            log.error("%s: could not store a stream failure: %s", pid, exc)

    def _on_records(self, feed: _Feed, records: list[Record], received: datetime) -> None:
        if self.feeds.get(feed.pid) is not feed:
            return
        pid = feed.pid
        now = self.clock()
        prices = [replace(r, timestamp=received) for r in records if isinstance(r, Price)]
        candles = [r for r in records if isinstance(r, Candle)]
        kept = sane(pid, [*prices, *candles])
        prices = [r for r in kept if isinstance(r, Price)]
        candles = [r for r in kept if isinstance(r, Candle)]
        if prices:
            feed.last_tick = now
        if kept:
            self.on_data(pid, received)
        if feed.fallback:
            feed.fallback = False
            log.info("%s: stream data again, back from the REST fallback", pid)
            self._publish_state(feed)
        touched = sorted({p.symbol.upper() for p in prices})
        for p in prices:
            self._remember(p.symbol.upper(), SourcePrice(pid, p.price_usd, received, p.quote))
        out = [{**as_dict(r), "type": r.TABLE} for r in kept]
        stored = self._queue(feed, prices, candles, now)
        # counts: the rows this tick adds to the store (0 for a tick not written: answers
        # cached from the store stay valid, server/cache.py)
        update: dict[str, Any] = {"provider": pid, "category": "market_data", "via": "stream",
                                  "records": out,
                                  "counts": {"market_prices": stored, "ohlcv": len(candles)}}
        update["consensus"] = self._consensus(pid, touched, out) if touched else []
        self.bus.publish("market_data", update)

    def _consensus(self, pid: str, touched: list[str],
                   records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The consensus of ``touched`` from each source's latest price (stale stream
        sources left out), the tick's outlier flags on ``records``, and the engine's
        prices refreshed."""
        now = utcnow()
        out: list[dict[str, Any]] = []
        mine: dict[str, SourcePrice] = {}
        watched = {s.upper() for s in self.config.watchlist}
        for symbol in touched:
            fresh = [replace(s) for s in self._latest.get(symbol, {}).values()
                     if not self.stale(s.source)]
            c = consensus(symbol, fresh, now,
                          max_age_seconds=self.config.consensus_max_age_seconds,
                          threshold_pct=self.config.consensus_deviation_pct)
            for s in c.sources:
                if s.source == pid:
                    mine[symbol] = s
            if c.price and symbol in watched:
                self.prices[symbol] = c.price
            out.append({"symbol": symbol, "consensus_price": c.price,
                        "source_count": len(c.sources), "outliers": [s.source for s in c.outliers]})
        for rec in records:
            if rec["type"] == "market_prices":
                src = mine.get(str(rec["symbol"]).upper())
                rec["outlier"] = bool(src and src.outlier)
                rec["deviation_pct"] = src.deviation_pct if src else None
        self.on_prices(self.prices)
        return out

    def _remember(self, symbol: str, price: SourcePrice) -> None:
        known = self._latest.setdefault(symbol, {}).get(price.source)
        if known is None or known.timestamp <= price.timestamp:
            self._latest[symbol][price.source] = price

    def _on_market_update(self, event: Event) -> None:
        """A market update of any source (REST, or another instance's stream): keep each
        source's latest price for the consensus of the next tick."""
        data = event.data
        if data.get("via") == "stream" and event.origin == self.coordinator.instance_id:
            return  # our own tick, remembered already
        for rec in data.get("records", ()):
            if rec.get("type") != "market_prices":
                continue
            try:
                ts = datetime.fromisoformat(str(rec["timestamp"]).replace("Z", "+00:00"))
                self._remember(str(rec["symbol"]).upper(), SourcePrice(
                    str(data.get("provider")), float(rec["price_usd"]), ts,
                    str(rec.get("quote") or "USD")))
            except (KeyError, TypeError, ValueError):
                log.debug("market update without a usable price: %r", rec)

    # --- storing -----------------------------------------------------------------------
    def _queue(self, feed: _Feed, prices: list[Price], candles: list[Candle],
               now: float) -> int:
        """Queue what to store: a (source, symbol) price at most once a second, the
        newest values of each candle. Returns how many of ``prices`` will be stored."""
        due = []
        for p in prices:
            symbol = p.symbol.upper()
            if now - feed.stored.get(symbol, -STORE_EVERY_SECONDS) >= STORE_EVERY_SECONDS:
                feed.stored[symbol] = now
                due.append(p)
        if not due and not candles:
            return 0
        queued_prices, queued_candles = self._pending.setdefault(feed.pid, ([], {}))
        queued_prices.extend(due)
        for c in candles:
            queued_candles[(c.symbol.upper(), c.interval, c.open_time)] = c
        if not self._flushing:
            self._flushing = True
            self.tasks.spawn(self._flush())
        return len(due)

    async def _flush(self) -> None:
        """Write what is queued, every provider's in one transaction, gathering for
        :data:`FLUSH_SECONDS` first (one write for several streams' ticks)."""
        try:
            while self._pending:
                await asyncio.sleep(FLUSH_SECONDS)
                pending, self._pending = self._pending, {}
                batches = [bookkeeping.StreamBatch(pid, prices, list(candles.values()),
                                                   self.feeds[pid].fence)
                           for pid, (prices, candles) in pending.items() if pid in self.feeds]
                try:
                    fenced = await self.store.write(
                        bookkeeping.persist_streams, self.store, batches,
                        self.config.consensus_deviation_pct,
                        self.config.consensus_max_age_seconds)
                except StoreError as exc:
                    log.error("could not store stream data: %s", exc)
                    continue
                for pid in fenced:
                    log.info("%s: this instance no longer holds its lease; its stream stops "
                             "here", pid)
                    await self._stop_feed(pid)
                for b in batches:
                    if b.provider_id not in fenced:
                        for p in b.prices:
                            self.stream_rows[(b.provider_id, p.symbol.upper())] = p.timestamp
        finally:
            self._flushing = False

    # --- REST fallback -----------------------------------------------------------------
    async def _watch(self, feed: _Feed) -> None:
        """Fall back to REST after ``rest_fallback_after_seconds`` without stream data;
        the stream's next data ends the fallback (:meth:`_on_records`)."""
        after = self.config.streams.rest_fallback_after_seconds
        stale_after = self.config.streams.stale_after_seconds
        was_stale = False
        while True:
            await asyncio.sleep(min(WATCH_SECONDS, after / 4, stale_after / 4))
            if self.stale(feed.pid) != was_stale:
                was_stale = not was_stale
                self._publish_state(feed)
            if feed.fallback or self._rejected(feed) or self._silent(feed) < after:
                continue
            feed.fallback = True
            log.info("%s: no stream data for %.1f s; REST collector runs until it is back",
                     feed.pid, self._silent(feed))
            self._publish_state(feed)
            self.tasks.spawn(self.run_rest(feed.pid))
