"""The database: open, migrate, a single writer thread, reads off the loop, backups.

Every write goes through one writer thread (:meth:`Store.write`), so the event
loop never waits on SQLite and writes never contend. Reads run on a small
reader pool (:meth:`Store.read`). SQLite-only statements (PRAGMAs, the online
backup API, VACUUM, integrity_check) live here and nowhere else.

Typical use::

    store = Store.open("sqlite:////path/api_monitor.db")
    await store.write(store.insert_records, "coingecko", records)
    rows = await store.read(lambda: list(MarketPrice.select().dicts()))
    store.close()
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import peewee
from playhouse.db_url import connect

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.records import Candle, NodeStatus, Record, as_dict
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.models import BY_TABLE, OHLCV, RETAINED, RpcNodeStatus, database

log = logging.getLogger("cryptohub.store")
T = TypeVar("T")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -16000,
}


def _translate(exc: Exception, what: str) -> StoreError:
    text = str(exc).lower()
    if "disk" in text and "full" in text or "no space" in text:
        return StoreError(f"{what}: the disk is full; free some space (nothing stored was lost)")
    if "readonly" in text or "read-only" in text or "permission" in text:
        return StoreError(f"{what}: the database is read-only; check the data folder's permissions")
    if "locked" in text:
        return StoreError(f"{what}: the database is locked by another process")
    return StoreError(f"{what}: {exc}")


class Store:
    """One database, its writer thread and its readers.

    Use :meth:`open`; call :meth:`close` when done (idempotent).
    """

    def __init__(self, db: peewee.Database, url: str) -> None:
        self.db = db
        self.url = url
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="db-reader")
        self._closed = False
        self._lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating and upgrading as needed) the database at ``url``.

        Raises:
            StoreError: the file cannot be created, opened or upgraded.
        """
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _translate(exc, f"cannot create {path.parent}") from exc
        try:
            if path is not None:
                db = peewee.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS,
                                           check_same_thread=False, timeout=10)
                fresh = not path.exists() or path.stat().st_size == 0
                db.connect()
                if fresh:  # must precede the first table
                    db.execute_sql("PRAGMA auto_vacuum = INCREMENTAL")
                    db.execute_sql("VACUUM")
            else:
                db = connect(url)
                db.connect()
            database.initialize(db)
            migrations.upgrade(db)
        except (peewee.PeeweeException, sqlite3.Error, OSError) as exc:
            raise _translate(exc, f"cannot open database {url}") from exc
        store = cls(db, url)
        # the opening thread's connection is not the writer's: let it go
        db.close()
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
        self._readers.shutdown(wait=True)
        if not self.db.is_closed():
            self.db.close()

    def _close_thread_conn(self, checkpoint: bool = False) -> None:
        if self.is_sqlite and checkpoint and not self.db.is_closed():
            try:
                self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except peewee.PeeweeException:
                pass
        if not self.db.is_closed():
            self.db.close()

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.db, peewee.SqliteDatabase)

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
        except (peewee.OperationalError, sqlite3.OperationalError,
                peewee.DatabaseError) as exc:
            raise _translate(exc, "database maintenance failed") from exc

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`write` for code with no event loop (CLI)."""
        return self._writer.submit(self._in_tx, fn, args).result()

    def _in_tx(self, fn: Callable[..., T], args: Sequence[Any]) -> T:
        try:
            with self.db.atomic():
                return fn(*args)
        except (peewee.OperationalError, sqlite3.OperationalError,
                peewee.DatabaseError) as exc:
            cause: BaseException = exc
            while "no transaction is active" in str(cause) and cause.__context__ is not None:
                # SQLite rolled back by itself (disk full, I/O error): peewee's own
                # rollback then fails and would hide why. Report the real cause.
                cause = cause.__context__
            raise _translate(cause, "database write failed") from exc  # type: ignore[arg-type]

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, fn, *args)

    # --- ingest (writer thread) ----------------------------------------------------------
    def insert_records(self, source: str, records: Iterable[Record]) -> dict[str, int]:
        """Write normalized records stamped with ``source``; returns new rows per table.

        Duplicates (same news url, same whale tx, same candle) are ignored.
        """
        by_table: dict[str, list[Record]] = defaultdict(list)
        for r in records:
            by_table[r.TABLE].append(r)
        counts: dict[str, int] = {}
        now = to_db(utcnow())
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
                model.insert_many(rows).execute()
                counts[table] = len(rows)
        return counts

    def _insert_ignoring(self, model: type[peewee.Model], rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        before = model.select().count()
        for chunk in peewee.chunked(rows, 200):
            model.insert_many(chunk).on_conflict_ignore().execute()
        return model.select().count() - before

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
        RpcNodeStatus.insert_many(rows).execute()
        return len(rows)

    def insert_candles(self, source: str, candles: Sequence[Candle]) -> int:
        """Bulk insert candles with one prepared statement; duplicates ignored."""
        if not candles:
            return 0
        rows = [(source, c.symbol.upper(), c.interval, to_db(c.open_time), c.open, c.high, c.low,
                 c.close, c.volume) for c in candles]
        return self.insert_ohlcv_rows(rows)

    def insert_ohlcv_rows(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """(source, symbol, interval, open_time, open, high, low, close, volume) tuples."""
        p = self.db.param
        sql = (f'INSERT INTO "ohlcv" ("source","symbol","interval","open_time","open","high",'
               f'"low","close","volume") VALUES ({",".join([p] * 9)}) ON CONFLICT DO NOTHING')
        conn = self.db.connection()
        if self.is_sqlite:
            before = conn.total_changes
            conn.executemany(sql, rows)
            return conn.total_changes - before
        cursor = self.db.cursor()
        cursor.executemany(sql, rows)
        return cursor.rowcount

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
            col = getattr(model, column)
            cond = col < cutoff
            if model is OHLCV:
                cond &= OHLCV.interval == "1m"
            while True:
                ids = [r.id for r in model.select(model.id).where(cond).limit(batch)]
                if not ids:
                    break
                with self.db.atomic():
                    total += model.delete().where(model.id.in_(ids)).execute()
        if total and self.is_sqlite:
            self._incremental_vacuum()
        return total

    def _incremental_vacuum(self) -> int:
        """Give the free pages back to the file system; returns how many.

        ``PRAGMA incremental_vacuum`` frees one page per step and its rows have no
        column, so Python's sqlite3 stops after the first step: one page per execute.
        """
        conn = self.db.connection()
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        for _ in range(free):
            conn.execute("PRAGMA incremental_vacuum(1)")
        return free

    def integrity_check(self) -> str:
        """"ok" or SQLite's first complaint."""
        if not self.is_sqlite:
            return "ok"
        return _verdict(self.db.execute_sql("PRAGMA integrity_check").fetchall())

    def size_bytes(self) -> int:
        path = sqlite_path(self.url)
        if path is None:
            return 0
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal"))
                   if p.exists())

    def backup_to(self, dest: Path) -> Path:
        """Consistent online copy with SQLite's backup API, verified afterwards.

        Raises:
            StoreError: the copy failed or does not pass integrity_check.
        """
        src_path = sqlite_path(self.url)
        if src_path is None:
            raise StoreError("backups of non-SQLite databases are made with that server's tools")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            src = sqlite3.connect(str(src_path), timeout=30)
            out = sqlite3.connect(str(tmp))
            try:
                # one step: a read snapshot of the WAL database, writers go on meanwhile.
                # Copying in chunks restarts whenever another connection writes, so a
                # busy hub never finished a backup of a large database.
                src.backup(out, pages=-1)
            finally:
                out.close()
                src.close()
            check = sqlite3.connect(str(tmp))
            try:
                verdict = _verdict(check.execute("PRAGMA integrity_check").fetchall())
            finally:
                check.close()
            if verdict != "ok":
                raise StoreError(f"backup {dest} failed integrity_check: {verdict}")
            tmp.replace(dest)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise _translate(exc, f"backup to {dest} failed") from exc
        return dest


def _verdict(rows: Sequence[tuple[Any, ...]]) -> str:
    """integrity_check's answer on one line: "ok", or the first problem and how many more.

    SQLite may answer one row per problem or one row of many lines, headed by
    "*** in database main ***".
    """
    lines = [ln for row in rows for ln in str(row[0]).splitlines()
             if ln.strip() and not ln.startswith("***")]
    if lines == ["ok"]:
        return "ok"
    if not lines:
        return "not ok (no detail)"
    more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
    return lines[0] + more


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, None for other databases."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).expanduser()
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://"):]).expanduser()
    return None


def rotate_backups(folder: Path, keep: int, pattern: str = "api_monitor-*.db") -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns the deleted files."""
    files = sorted(folder.glob(pattern), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    gone = files[keep:]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def restore_backup(backup: Path, db_path: Path) -> None:
    """Replace the database at ``db_path`` with ``backup`` (app must be stopped).

    The backup is checked first. The current database, even a damaged one, is moved
    aside as ``<name>.before-restore`` (with its ``-wal``), never overwritten.

    Raises:
        StoreError: the backup is missing, not a database or damaged (the current
            database is then untouched), or the data folder cannot be written.
    """
    if backup.resolve() == db_path.resolve():
        raise StoreError(f"{backup} is the live database itself; pick a file in backups/")
    try:
        con = sqlite3.connect(backup.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            verdict = _verdict(con.execute("PRAGMA integrity_check").fetchall())
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{backup} is not a usable database backup: {exc}") from exc
    if verdict != "ok":
        raise StoreError(f"{backup} is damaged: {verdict}")
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        keep = db_path.with_name(db_path.name + ".before-restore")
        for suffix in ("", "-wal", "-shm"):  # an older -wal must not pair with the new file
            keep.with_name(keep.name + suffix).unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            current = db_path.with_name(db_path.name + suffix)
            if current.exists():
                current.replace(keep.with_name(keep.name + suffix))
        db_path.with_name(db_path.name + "-shm").unlink(missing_ok=True)
        src = sqlite3.connect(str(backup))
        out = sqlite3.connect(str(db_path))
        try:
            src.backup(out)
        finally:
            out.close()
            src.close()
    except (sqlite3.Error, OSError) as exc:
        raise _translate(exc, f"restore of {db_path} from {backup} failed") from exc


def _row(record: Record, source: str, now: datetime) -> dict[str, Any]:
    d = as_dict(record, time=to_db)
    if record.TABLE == "market_prices":
        d["symbol"] = d["symbol"].upper()
    if record.TABLE == "news_articles":
        d["collected_at"] = now
    d["source"] = source
    return d

