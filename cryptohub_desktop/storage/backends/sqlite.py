"""SQLite: every statement particular to it lives here.

WAL with ``synchronous=NORMAL`` (one writer thread, readers never block it),
incremental auto-vacuum set before the first table, a TRUNCATE checkpoint at
close, ``integrity_check``, the online backup API (a plain copy of a live WAL
database is not a backup) and restore by file replacement. Driver errors are
sorted by SQLite's result code, not by their text.

In use: every store holds a shared ``flock`` on ``<database>.lock`` beside the
database while it is open (the operating system releases it when the process
dies, so it is never stale); ``db migrate`` and ``restore`` take it exclusively
and so refuse while a hub runs. Windows has no ``flock``: there the check is
skipped.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import peewee

from cryptohub_desktop.core.errors import (
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
)
from cryptohub_desktop.storage.backends import Backend, error_chain

try:  # POSIX: the in-use lock file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -16000,
}
# SQLite primary result codes (https://www.sqlite.org/rescode.html)
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26
SQLITE_IOERR_NOSPC = 13 << 8 | SQLITE_IOERR


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, None for other databases."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).expanduser()
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://"):]).expanduser()
    return None


def _codes(exc: BaseException) -> tuple[int | None, int | None, int | None]:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    return code, primary, exc.errno if isinstance(exc, OSError) else None


def _cause(exc: BaseException) -> BaseException:
    """The first error in ``exc``'s chain with a telling code: when SQLite rolled back by
    itself (disk full, I/O error), peewee's own rollback then fails with a plain error
    whose context holds the real cause."""
    chain = error_chain(exc)
    known = {SQLITE_FULL, SQLITE_READONLY, SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED,
             SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR, SQLITE_CANTOPEN}
    for e in chain:
        _, primary, os_errno = _codes(e)
        if primary in known or os_errno is not None:
            return e
    return chain[0]


def translate(exc: BaseException, what: str) -> StoreError:
    """The :class:`StoreError` for a sqlite3 / OS error, chosen by its code."""
    exc = _cause(exc)
    code, primary, os_errno = _codes(exc)
    if primary == SQLITE_FULL or code == SQLITE_IOERR_NOSPC or os_errno == errno.ENOSPC:
        return StoreFull(f"{what}: the disk is full; free some space (nothing stored was lost)")
    if primary in (SQLITE_READONLY, SQLITE_PERM) or os_errno in (errno.EROFS, errno.EACCES,
                                                                   errno.EPERM):
        return StoreReadOnly(f"{what}: the database is read-only; check the data folder's "
                             "permissions")
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreLocked(f"{what}: the database is locked by another process")
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreCorrupt(f"{what}: the database file is damaged or not a database ({exc})")
    return StoreError(f"{what}: {exc}")


def verdict(rows: Sequence[tuple[Any, ...]]) -> str:
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


def check_file(path: Path) -> str:
    """integrity_check of a database file opened read-only ("ok" or the problem).

    Raises:
        sqlite3.Error: not a database at all.
    """
    con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return verdict(con.execute("PRAGMA integrity_check").fetchall())
    finally:
        con.close()


class SqliteBackend(Backend):
    """A database file (``sqlite:///path``), created on first use."""

    name = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        path = sqlite_path(url)
        if path is None:
            raise StoreError(f"not a SQLite URL: {url}")
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._in_use: IO[bytes] | None = None

    def identity(self) -> tuple[str, ...]:
        return (self.name, str(self.path.expanduser().resolve()))

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def _lock(self, exclusive: bool) -> IO[bytes]:
        """The lock file, locked shared or exclusive (never waits).

        Raises:
            StoreLocked: someone holds it the other way.
        """
        f = open(self.lock_path, "a+b")  # noqa: SIM115 - held until released
        if fcntl is None:
            return f
        try:
            fcntl.flock(f, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError as exc:
            f.close()
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise StoreLocked(
                f"{self.path} is in use by a running Crypto Hub (stop it first)" if exclusive
                else f"{self.path} is being written by db migrate or restore; try again "
                "when it has finished") from exc
        return f

    @contextmanager
    def claim(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self._lock(exclusive=True)
        except OSError as exc:
            raise self.translate(exc, f"cannot lock {self.lock_path}") from exc
        try:
            yield
        finally:
            f.close()

    def connect(self, *, in_use: bool = True) -> peewee.Database:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if in_use and self._in_use is None:
                self._in_use = self._lock(exclusive=False)
        except OSError as exc:
            raise self.translate(exc, f"cannot create {self.path.parent}") from exc
        try:
            db = peewee.SqliteDatabase(str(self.path), pragmas=PRAGMAS,
                                       check_same_thread=False, timeout=10)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            db.connect()
            if fresh:  # must precede the first table
                db.execute_sql("PRAGMA auto_vacuum = INCREMENTAL")
                db.execute_sql("VACUUM")
        except (peewee.PeeweeException, sqlite3.Error, OSError) as exc:
            self.dispose(None)
            raise self.translate(exc, f"cannot open database {self.url}") from exc
        return db

    def dispose(self, db: peewee.Database | None) -> None:
        if self._in_use is not None:
            self._in_use.close()
            self._in_use = None

    def translate(self, exc: BaseException, what: str) -> StoreError:
        return translate(exc, what)

    def insert_ohlcv(self, db: peewee.Database, rows: Sequence[tuple[Any, ...]]) -> int:
        # one prepared statement for the whole batch: ~10x Peewee's insert_many here
        sql = ('INSERT INTO "ohlcv" ("source","symbol","interval","open_time","open","high",'
               '"low","close","volume") VALUES (?,?,?,?,?,?,?,?,?) '
               'ON CONFLICT ("source","symbol","interval","open_time") DO NOTHING')
        conn = db.connection()
        before = conn.total_changes
        conn.executemany(sql, rows)
        return conn.total_changes - before

    def insert_rows(self, db: peewee.Database, table: str, columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]]) -> int:
        cols = ",".join(f'"{c}"' for c in columns)
        sql = (f'INSERT INTO "{table}" ({cols}) VALUES ({",".join("?" * len(columns))}) '
               "ON CONFLICT DO NOTHING")  # any unique key: the row is there already
        conn = db.connection()
        before = conn.total_changes
        conn.executemany(sql, [tuple(_sqlite_value(v) for v in r) for r in rows])
        return conn.total_changes - before

    def before_close(self, db: peewee.Database) -> None:
        try:
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except peewee.PeeweeException:
            pass

    def after_delete(self, db: peewee.Database) -> None:
        """Give the free pages back to the file system.

        ``PRAGMA incremental_vacuum`` frees one page per step and its rows have no
        column, so Python's sqlite3 stops after the first step: one page per execute.
        """
        conn = db.connection()
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        for _ in range(free):
            conn.execute("PRAGMA incremental_vacuum(1)")

    def integrity_check(self, db: peewee.Database) -> str:
        return verdict(db.execute_sql("PRAGMA integrity_check").fetchall())

    def backup_verified(self) -> str:
        return "integrity_check ok"

    def size_bytes(self, db: peewee.Database) -> int:
        return sum(p.stat().st_size for p in (self.path, self.path.with_name(
            self.path.name + "-wal")) if p.exists())

    def backup(self, dest: Path) -> Path:
        """Consistent online copy with SQLite's backup API, verified afterwards."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            src = sqlite3.connect(str(self.path), timeout=30)
            out = sqlite3.connect(str(tmp))
            try:
                # one step: a read snapshot of the WAL database, writers go on meanwhile.
                # Copying in chunks restarts whenever another connection writes, so a
                # busy hub never finished a backup of a large database.
                src.backup(out, pages=-1)
            finally:
                out.close()
                src.close()
            result = check_file(tmp)
            if result != "ok":
                raise StoreCorrupt(f"backup {dest} failed integrity_check: {result}")
            tmp.replace(dest)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise self.translate(exc, f"backup to {dest} failed") from exc
        return dest

    def restore(self, backup: Path) -> str:
        """The backup is checked first. The current database, even a damaged one, is
        moved aside as ``<name>.before-restore`` (with its ``-wal``), never overwritten."""
        db_path = self.path
        if backup.resolve() == db_path.resolve():
            raise StoreError(f"{backup} is the live database itself; pick a file in backups/")
        with self.claim():
            return self._restore(backup)

    def _restore(self, backup: Path) -> str:
        db_path = self.path
        try:
            result = check_file(backup)
        except sqlite3.Error as exc:
            raise StoreCorrupt(f"{backup} is not a usable database backup: {exc}") from exc
        if result != "ok":
            raise StoreCorrupt(f"{backup} is damaged: {result}")
        keep = db_path.with_name(db_path.name + ".before-restore")
        had = db_path.exists()
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
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
            raise self.translate(exc, f"restore of {db_path} from {backup} failed") from exc
        return f"previous database kept as {keep.name}" if had else "there was no database before"


def _sqlite_value(v: Any) -> Any:
    """A value as the app stores it in SQLite (datetimes as ISO text with a space)."""
    if isinstance(v, datetime):
        return v.isoformat(" ")
    return v
