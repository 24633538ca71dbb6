"""The database, whatever its engine: a single writer thread, readers off the loop.

Every write goes through one writer thread (:meth:`Store.write`), so the event
loop never waits on the database and writes never contend. Reads run on a small
reader pool (:meth:`Store.read`). What differs between engines (connecting,
PRAGMAs, bulk insert, backup, integrity check, error codes, who else uses the
database) is asked of the :class:`~cryptohub_desktop.storage.backends.Backend`
chosen by the URL. A database server that goes away makes writes fail with
:class:`~cryptohub_desktop.core.errors.StoreUnavailable` (the transaction rolled
back, nothing committed lost); the next write reconnects.

Typical use::

    store = Store.open("sqlite:////path/api_monitor.db")
    await store.write(store.insert_records, "coingecko", records)
    rows = await store.read(lambda: list(MarketPrice.select().dicts()))
    store.close()
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import peewee

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.records import Candle, NodeStatus, Record, as_dict
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.backends import Backend, backend_for, resolve_url
from cryptohub_desktop.storage.models import (
    BY_TABLE,
    OHLCV,
    RETAINED,
    UNIQUE_KEYS,
    RpcNodeStatus,
    database,
)

log = logging.getLogger("cryptohub.store")
T = TypeVar("T")
DB_ERRORS = (peewee.PeeweeException, OSError)
READERS = 2  # reader threads, each with its own connection
#: how old the database size shown in status may be
SIZE_REFRESH_SECONDS = 30.0


class Store:
    """One database, its writer thread and its readers.

    Use :meth:`open`; call :meth:`close` when done (idempotent).
    """

    def __init__(self, db: peewee.Database, backend: Backend) -> None:
        self.db = db
        self.backend = backend
        self.url = backend.url
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="db-reader")
        self._closed = False
        self._lock = threading.Lock()
        self._size = 0
        self._size_at = float("-inf")
        self._sizing = False

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    def open(cls, url: str, secret: Callable[[str], str | None] | None = None) -> Store:
        """Open (creating and upgrading as needed) the database at ``url``.

        Args:
            secret: fills ``{ENTRY}`` placeholders of the URL (``Secrets.get``).

        Raises:
            StoreError: it cannot be created, opened or upgraded.
            StoreLocked: db migrate or restore is writing into it.
        """
        backend = backend_for(resolve_url(url, secret))
        db = backend.connect()
        try:
            database.initialize(db)
            with backend.migration_lock(db):
                migrations.upgrade(db, backend)
            size = backend.size_bytes(db)
        except StoreError:
            _abandon(db, backend)
            raise
        except DB_ERRORS as exc:
            _abandon(db, backend)
            raise backend.translate(exc, f"cannot open database {backend.display_url}") from exc
        store = cls(db, backend)
        store._size, store._size_at = size, time.monotonic()
        # the opening thread's connection is not the writer's: let it go. The writer
        # connects now, so the database is marked in use for as long as the store is open
        db.close()
        try:
            store._writer.submit(db.connect, True).result()
        except StoreError:
            store.close()
            raise
        except DB_ERRORS as exc:
            store.close()
            raise backend.translate(exc, f"cannot open database {backend.display_url}") from exc
        return store

    def close(self) -> None:
        """Finish queued writes, checkpoint and close. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._writer.submit(self._close_thread_conn, True).result(timeout=30)
        except Exception:  # noqa: BLE001
            log.exception("closing the writer connection failed")
        self._writer.shutdown(wait=True)
        self._close_reader_conns()
        self._readers.shutdown(wait=True)
        if not self.db.is_closed():
            self.db.close()
        self.backend.dispose(self.db)

    def _close_reader_conns(self) -> None:
        """Close each reader thread's own connection (peewee keeps one per thread): one
        task per reader, held at a barrier so that every thread runs exactly one."""
        barrier = threading.Barrier(READERS, timeout=5)

        def close_mine() -> None:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            self._close_thread_conn()
        futures = [self._readers.submit(close_mine) for _ in range(READERS)]
        wait(futures, timeout=10)

    def _close_thread_conn(self, final: bool = False) -> None:
        if final and not self.db.is_closed():
            self.backend.before_close(self.db)
        if not self.db.is_closed():
            self.db.close()

    # --- threads ---------------------------------------------------------------------
    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread inside one transaction.

        Raises:
            StoreError: the write failed (disk full, read-only ...); the transaction
                was rolled back, nothing stored before is lost.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._in_tx, fn, args)

    async def maintain(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread *without* a wrapping transaction, for
        work that commits in its own small batches (retention, vacuum)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._guarded, fn, args)

    def _guarded(self, fn: Callable[..., T], args: Sequence[Any]) -> T:
        try:
            return fn(*args)
        except DB_ERRORS as exc:
            raise self.backend.translate(exc, "database maintenance failed") from exc

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`write` for code with no event loop (CLI)."""
        return self._writer.submit(self._in_tx, fn, args).result()

    def _in_tx(self, fn: Callable[..., T], args: Sequence[Any]) -> T:
        try:
            with self.db.atomic():
                return fn(*args)
        except DB_ERRORS as exc:
            raise self.backend.translate(exc, "database write failed") from exc

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a reader thread.

        Raises:
            StoreError: the database could not be read (e.g. StoreUnavailable).
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn, args)

    def _read(self, fn: Callable[..., T], args: Sequence[Any]) -> T:
        try:
            return fn(*args)
        except DB_ERRORS as exc:
            raise self.backend.translate(exc, "database read failed") from exc

    # --- ingest (writer thread) ----------------------------------------------------------
    def insert_records(self, source: str, records: Iterable[Record]) -> dict[str, int]:
        """Write normalized records stamped with ``source``; returns new rows per table.

        Duplicates (same news url, same whale tx, same candle) are ignored.
        """
        by_table: dict[str, list[Record]] = defaultdict(list)
        for r in records:
            by_table[r.TABLE].append(r)
        counts: dict[str, int] = {}
        now = utcnow().replace(tzinfo=None)  # naive UTC, as stored
        for table, recs in by_table.items():
            if table == "ohlcv":
                counts[table] = self.insert_candles(source, recs)  # type: ignore[arg-type]
                continue
            if table == "rpc_node_status":
                counts[table] = self._insert_nodes(source, recs)  # type: ignore[arg-type]
                continue
            model = BY_TABLE[table]
            rows = [_row(r, source, now) for r in recs]
            if table in ("news_articles", "whale_transactions"):
                counts[table] = self._insert_ignoring(model, rows)
            else:
                model.insert_many(rows).as_rowcount().execute()
                counts[table] = len(rows)
        return counts

    def _insert_ignoring(self, model: type[peewee.Model], rows: list[dict[str, Any]]) -> int:
        """Insert, skipping rows whose unique key (news url, whale chain + hash) is
        stored; returns how many were new."""
        if not rows:
            return 0
        target = UNIQUE_KEYS[model._meta.table_name]
        new = 0
        for chunk in peewee.chunked(rows, 200):
            new += (model.insert_many(chunk)
                    .on_conflict(action="nothing", conflict_target=target)
                    .as_rowcount().execute())
        return new

    def _insert_nodes(self, source: str, recs: list[NodeStatus]) -> int:
        rows = []
        for r in recs:
            highest = (RpcNodeStatus.select(peewee.fn.MAX(RpcNodeStatus.block_height))
                       .where(RpcNodeStatus.chain == r.chain,
                              RpcNodeStatus.timestamp >= to_db(r.timestamp - timedelta(minutes=15)))
                       .scalar() or 0)
            top = max(highest, r.block_height)
            rows.append({"provider": source, "chain": r.chain, "block_height": r.block_height,
                         "lag_blocks": top - r.block_height,
                         "response_time_ms": r.response_time_ms, "timestamp": to_db(r.timestamp)})
        RpcNodeStatus.insert_many(rows).as_rowcount().execute()
        return len(rows)

    def insert_candles(self, source: str, candles: Sequence[Candle]) -> int:
        """Bulk insert candles with one prepared statement; duplicates ignored."""
        if not candles:
            return 0
        rows = [(source, c.symbol.upper(), c.interval, to_db(c.open_time), c.open, c.high, c.low,
                 c.close, c.volume) for c in candles]
        return self.insert_ohlcv_rows(rows)

    def upsert_candles(self, source: str, candles: Sequence[Candle]) -> int:
        """Insert candles or, when one is stored already (same source, symbol, interval
        and open time), replace its values with these: a live stream re-sends the open
        candle until it closes, and the last one sent wins. Returns the rows written."""
        if not candles:
            return 0
        rows = {(c.symbol.upper(), c.interval, to_db(c.open_time)): {
            "source": source, "symbol": c.symbol.upper(), "interval": c.interval,
            "open_time": to_db(c.open_time), "open": c.open, "high": c.high, "low": c.low,
            "close": c.close, "volume": c.volume} for c in candles}  # the last one wins
        return int(OHLCV.insert_many(list(rows.values())).on_conflict(
            conflict_target=[OHLCV.source, OHLCV.symbol, OHLCV.interval, OHLCV.open_time],
            preserve=[OHLCV.open, OHLCV.high, OHLCV.low, OHLCV.close, OHLCV.volume])
            .as_rowcount().execute())

    def insert_ohlcv_rows(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """(source, symbol, interval, open_time, open, high, low, close, volume) tuples;
        rows already stored are ignored; returns how many were new."""
        return self.backend.insert_ohlcv(self.db, rows)

    # --- maintenance ---------------------------------------------------------------------
    def retention(self, days: int, batch: int = 5000, now: datetime | None = None) -> int:
        """Delete rows older than ``days`` in small batches (one per call of the step).

        1-minute candles follow the retention; hourly and daily candles are history
        and are kept. Returns the number of rows deleted.
        """
        if days <= 0:
            return 0
        cutoff = to_db((now or utcnow()) - timedelta(days=days))
        total = 0
        for model, column in RETAINED.items():
            table: Any = model  # every retained table has an integer id
            col = getattr(model, column)
            cond = col < cutoff
            if model is OHLCV:
                cond &= OHLCV.interval == "1m"
            while True:  # one short transaction per batch: writers wait for one batch at most
                with self.db.atomic():
                    n = table.delete().where(
                        table.id.in_(table.select(table.id).where(cond).limit(batch))).execute()
                total += n
                if n < batch:
                    break
        if total:
            self.backend.after_delete(self.db)
        return total

    def integrity_check(self) -> str:
        """"ok" or the database's first complaint."""
        return self.backend.integrity_check(self.db)

    def integrity_scope(self) -> str:
        """What :meth:`integrity_check` looked at (e.g. pg_amcheck, or what it could not)."""
        return self.backend.integrity_scope()

    def schema_version(self) -> int:
        """The database's schema version (a read: run it off the event loop)."""
        return migrations.current_version(self.db)

    def size_bytes(self) -> int:
        """The database's size, at most :data:`SIZE_REFRESH_SECONDS` old. Never waits on
        the database (the event loop and the UI call it): an older value is refreshed
        on a reader thread."""
        with self._lock:
            due = (not self._closed and not self._sizing
                   and time.monotonic() - self._size_at > SIZE_REFRESH_SECONDS)
            if due:
                self._sizing = True
        if due:
            try:
                self._readers.submit(self._refresh_size)
            except RuntimeError:  # closing
                self._sizing = False
        return self._size

    def _refresh_size(self) -> None:
        try:
            self._size = self.backend.size_bytes(self.db)
        except Exception as exc:  # noqa: BLE001 - a size is not worth an error; keep the last
            log.debug("database size unavailable: %s", exc)
        finally:
            self._size_at = time.monotonic()
            self._sizing = False

    def backup_path(self, folder: Path) -> Path:
        """A new backup's path in ``folder``: ``api_monitor-<UTC time>`` + the backend's
        suffix (``.db`` for SQLite, ``.dump`` for PostgreSQL)."""
        return folder / f"api_monitor-{utcnow():%Y%m%d-%H%M%S}{self.backend.backup_suffix}"

    @property
    def backup_pattern(self) -> str:
        """The names of this backend's backups in the backups folder (for rotation)."""
        return f"api_monitor-*{self.backend.backup_suffix}"

    def backup_to(self, dest: Path) -> Path:
        """A consistent online copy at ``dest``, verified afterwards.

        Raises:
            StoreError: the copy failed, fails its check, or the backend cannot back up.
        """
        return self.backend.backup(dest)


def rotate_backups(folder: Path, keep: int, pattern: str = "api_monitor-*.db") -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns the deleted files."""
    files = sorted(folder.glob(pattern), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    gone = files[keep:]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def restore_backup(backup: Path, url: str,
                   secret: Callable[[str], str | None] | None = None) -> str:
    """Replace the database at ``url`` with ``backup`` (the app must be stopped); returns
    what happened to the previous database.

    Raises:
        StoreError: the backup is unusable (the database is then untouched).
        StoreLocked: a hub has the database open.
    """
    return backend_for(resolve_url(url, secret)).restore(backup)


def _abandon(db: peewee.Database, backend: Backend) -> None:
    """Let go of a database that failed to open."""
    try:
        if not db.is_closed():
            db.close()
    except DB_ERRORS:
        pass
    backend.dispose(db)


def _row(record: Record, source: str, now: datetime) -> dict[str, Any]:
    d = as_dict(record, time=to_db)
    if record.TABLE == "market_prices":
        d["symbol"] = d["symbol"].upper()
    if record.TABLE == "news_articles":
        d["collected_at"] = now
    d["source"] = source
    return d

