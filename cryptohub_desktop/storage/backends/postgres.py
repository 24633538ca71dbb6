"""PostgreSQL (psycopg 3 through Peewee): every statement particular to it lives here.

- **Connecting**: ``postgresql://`` / ``postgres://`` URLs as libpq reads them; a
  password may also come from libpq's own ``PGPASSWORD`` / ``~/.pgpass`` or a
  ``{ENTRY}`` placeholder filled from the keychain (:func:`..resolve_url`). Every
  connection is named ``cryptohub-desktop`` (``pg_stat_activity``), gives up after
  :data:`CONNECT_TIMEOUT` seconds and uses TCP keepalives.
- **Reconnecting**: a connection the server dropped (restart, ``pg_terminate_backend``,
  network) is replaced the next time its thread uses it; a ``BEGIN`` or a ``SELECT``
  that found its connection dead is sent again once on a new one (neither can have
  changed anything). Anything else fails with :class:`StoreUnavailable`; the
  transaction was rolled back by the server, and the next write reconnects.
- **Locks**: migrations run under an advisory lock (:data:`MIGRATION_LOCK`), so
  instances starting at once apply each migration once. Every connection of a store
  holds the advisory lock :data:`IN_USE_LOCK` *shared*; ``db migrate`` and
  ``restore`` take it exclusively (:meth:`PostgresBackend.claim`).
- **Ingest**: candles go in by binary ``COPY`` straight into ``ohlcv`` under a
  savepoint; a batch holding a candle stored already goes through ``COPY`` into a
  temporary table, then one ``INSERT ... SELECT ... ON CONFLICT (source, symbol,
  interval, open_time) DO NOTHING`` (docs/PERFORMANCE.md has the figures of both).
- **Tools**: ``pg_dump -Fc`` backups, ``pg_restore`` restores and ``pg_amcheck``
  integrity checks run the client programs (found on ``PATH``, in
  ``$CRYPTOHUB_PG_BIN``, or in the usual package folders); the password reaches them
  through the environment, never the command line.

psycopg 3 binds parameters on the server, so DDL and ``SET`` statements are written
out in full here (identifiers are quoted, values are our own constants).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import peewee
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cryptohub_desktop.core.errors import (
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
    StoreUnavailable,
)
from cryptohub_desktop.storage.backends import Backend, error_chain

APP_NAME = "cryptohub-desktop"
CONNECT_TIMEOUT = 5
#: advisory lock keys (one 64-bit number each, "CHDB" + a small number)
MIGRATION_LOCK = 0x4348444200000001
IN_USE_LOCK = 0x4348444200000002
TOOL_TIMEOUT = 6 * 3600
OHLCV_COLUMNS = ("source", "symbol", "interval", "open_time", "open", "high", "low", "close",
                 "volume")
OHLCV_TYPES = ["text", "text", "text", "timestamp", "float8", "float8", "float8", "float8",
               "float8"]
_STAGE = "_ohlcv_in"
_CONNECTION_LOST = ("server closed the connection", "terminating connection",
                    "connection refused", "could not connect", "connection timed out",
                    "timeout expired", "no route to host", "network is unreachable",
                    "connection reset", "consuming input failed", "sending query failed",
                    "the connection is closed", "connection is lost", "bad connection",
                    "is the server running")


def lost(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver error) says the server could not be reached or went
    away, as opposed to refusing a statement."""
    if not isinstance(exc, psycopg.Error):
        return False
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return True
    text = str(exc).lower()
    if "does not exist" in text or "authentication failed" in text:
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) and (
        not state or any(t in text for t in _CONNECTION_LOST))


class HubPostgres(peewee.PostgresqlDatabase):
    """Peewee's PostgreSQL database with the reconnection and in-use rules above, and
    floats as ``double precision`` (Peewee's default ``real`` keeps 6 digits; SQLite
    stores 8-byte floats, and a price must read back as it was written).

    Args:
        in_use: hold :data:`IN_USE_LOCK` shared on every connection.
    """

    _state: Any  # peewee's per-thread connection state (untyped in its stubs)

    def __init__(self, *args: Any, in_use: bool = True, **kwargs: Any) -> None:
        self.in_use = in_use
        # every open connection, held until closed: a reader thread's connection must not
        # be left to the garbage collector when its thread ends
        self._conns: set[psycopg.Connection[Any]] = set()
        self._conns_lock = threading.Lock()
        kwargs.setdefault("field_types", {"FLOAT": "DOUBLE PRECISION"})
        super().__init__(*args, **kwargs)

    # --- connections ---------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = super()._connect()  # type: ignore[misc]
        with self._conns_lock:
            self._conns.add(conn)
        return conn

    def _close(self, conn: psycopg.Connection[Any]) -> None:
        with self._conns_lock:
            self._conns.discard(conn)
        conn.close()

    def _initialize_connection(self, conn: psycopg.Connection[Any]) -> None:
        if not self.in_use:
            return
        held = conn.execute("SELECT pg_try_advisory_lock_shared(%s)", [IN_USE_LOCK]).fetchone()
        if not held or not held[0]:
            self._close(conn)
            self._state.reset()
            raise StoreLocked("the database is being written by db migrate or restore; "
                              "try again when it has finished")

    def _dead(self) -> bool:
        conn = None if self._state.closed else self._state.conn
        return conn is not None and (conn.closed or conn.broken)

    def _revive(self) -> bool:
        """Forget this thread's connection if the server dropped it (outside a
        transaction only); returns whether it did."""
        if self._dead() and not self.in_transaction():
            with suppress(Exception):
                self._close(self._state.conn)
            self._state.reset()
            return True
        return False

    def connection(self) -> Any:
        self._revive()
        return super().connection()

    def cursor(self, named_cursor: Any = None) -> Any:
        self._revive()
        return super().cursor(named_cursor)

    def begin(self, isolation_level: Any = None) -> None:
        try:
            super().begin(isolation_level)
        except (peewee.OperationalError, peewee.InterfaceError):
            if not self._revive():
                raise
            super().begin(isolation_level)  # nothing was done: once more, reconnected

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        try:
            return super().execute_sql(sql, params)
        except (peewee.OperationalError, peewee.InterfaceError):
            if not sql.lstrip()[:6].upper() == "SELECT" or not self._revive():
                raise
            return super().execute_sql(sql, params)  # a read: once more, reconnected

    def close_all(self) -> None:
        """Close every connection any thread opened (at the store's close)."""
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with suppress(Exception):
                conn.close()
        with suppress(Exception):
            self._state.reset()


def conninfo(url: str) -> dict[str, Any]:
    """The libpq parameters of a ``postgresql://`` / ``postgres://`` URL.

    Raises:
        StoreError: not a URL libpq understands.
    """
    try:
        return dict(conninfo_to_dict(url))
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"not a PostgreSQL URL libpq understands: {exc}") from exc


def tool_dirs() -> list[str]:
    """Where PostgreSQL's client programs are looked for after ``PATH``: the newest
    version's folder of the Debian/Ubuntu and RHEL packages, Homebrew's libpq."""
    env = os.environ.get("CRYPTOHUB_PG_BIN")
    if env:
        return [env]
    found = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    found.sort(key=lambda d: _version_of(d), reverse=True)
    return found + ["/opt/homebrew/opt/libpq/bin", "/usr/local/opt/libpq/bin"]


def _version_of(folder: str) -> float:
    digits = "".join(c if c.isdigit() or c == "." else " " for c in folder).split()
    try:
        return float(digits[0]) if digits else 0.0
    except ValueError:
        return 0.0


def find_tool(name: str) -> str | None:
    """The path of a PostgreSQL client program, or None."""
    if not os.environ.get("CRYPTOHUB_PG_BIN"):
        hit = shutil.which(name)
        if hit:
            return hit
    for folder in tool_dirs():
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


class PostgresBackend(Backend):
    """A PostgreSQL database (``postgresql://user@host:5432/name``); it must exist."""

    name = "postgresql"
    backup_suffix = ".dump"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        params = conninfo(url)
        if not params.get("dbname"):
            raise StoreError("the PostgreSQL URL names no database "
                             "(postgresql://user@host:5432/DATABASE)")
        self.params = params
        self._scope = "pg_amcheck of every table and index"

    @property
    def dbname(self) -> str:
        return str(self.params["dbname"])

    def identity(self) -> tuple[str, ...]:
        p = self.params
        return (self.name, str(p.get("host", "")), str(p.get("port", "5432")), self.dbname)

    # --- connecting ------------------------------------------------------------------
    def connect(self, *, in_use: bool = True) -> peewee.Database:
        params = {k: v for k, v in self.params.items() if k != "dbname"}
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", APP_NAME)
        params.setdefault("keepalives", 1)
        params.setdefault("keepalives_idle", 30)
        params.setdefault("keepalives_interval", 10)
        params.setdefault("keepalives_count", 3)
        db = HubPostgres(self.dbname, in_use=in_use, prefer_psycopg3=True, **params)
        try:
            db.connect()
        except StoreError:
            raise
        except (peewee.PeeweeException, psycopg.Error) as exc:
            raise self.translate(exc, f"cannot open database {self.display_url}") from exc
        return db

    def translate(self, exc: BaseException, what: str) -> StoreError:
        chain: list[BaseException] = [e for e in error_chain(exc)
                                      if isinstance(e, psycopg.Error)] or [exc]
        err = next((e for e in chain if lost(e)), chain[0])
        state = getattr(err, "sqlstate", None) or ""
        text = _one_line(err)
        if lost(err):
            return StoreUnavailable(f"{what}: the database server cannot be reached ({text}); "
                                    "nothing stored is lost, writes resume when it is back")
        if state == "53100":
            return StoreFull(f"{what}: the database server's disk is full ({text})")
        if state in ("25006", "42501"):
            return StoreReadOnly(f"{what}: the database refuses writes ({text})")
        if state in ("55P03", "40P01", "40001"):
            return StoreLocked(f"{what}: the database is locked by another session ({text})")
        if state in ("XX001", "XX002"):
            return StoreCorrupt(f"{what}: the database reports damaged data ({text})")
        if "does not exist" in text and "database" in text:
            return StoreError(f"{what}: {text} (create it first: createdb {self.dbname})")
        return StoreError(f"{what}: {text}")

    # --- writes -----------------------------------------------------------------------
    def insert_ohlcv(self, db: peewee.Database, rows: Sequence[tuple[Any, ...]]) -> int:
        """``COPY`` (binary) straight into ``ohlcv`` under a savepoint: new candles, the
        usual case (backfill asks only for missing ranges), go in at COPY speed. When one
        of them is stored already, the savepoint is rolled back and the batch goes the
        careful way: ``COPY`` into a temporary table, then ``INSERT ... SELECT ... ON
        CONFLICT (source, symbol, interval, open_time) DO NOTHING``."""
        if not rows:
            return 0
        rows = [_candle(r) for r in rows]
        conn = db.connection()
        cols = ",".join(f'"{c}"' for c in OHLCV_COLUMNS)
        with conn.cursor() as cur:
            try:
                with conn.transaction():  # a savepoint inside the writer's transaction
                    _copy(cur, f'"ohlcv" ({cols})', rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass  # some are stored already: only the new ones, below
            cur.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{_STAGE}" (source text, symbol text, '
                        '"interval" text, open_time timestamp, open float8, high float8, '
                        'low float8, close float8, volume float8)')
            _copy(cur, f'"{_STAGE}" ({cols})', rows)
            cur.execute(f'INSERT INTO "ohlcv" ({cols}) SELECT {cols} FROM "{_STAGE}" '
                        'ON CONFLICT ("source","symbol","interval","open_time") DO NOTHING')
            new = cur.rowcount
            cur.execute(f'TRUNCATE "{_STAGE}"')
        return max(new, 0)

    def insert_rows(self, db: peewee.Database, table: str, columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        stage = f"_in_{table}"
        cols = ",".join(f'"{c}"' for c in columns)
        conn = db.connection()
        with conn.cursor() as cur:
            cur.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" AS '
                        f'SELECT {cols} FROM "{table}" WITH NO DATA')
            with cur.copy(f'COPY "{stage}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            # any unique key: a row already there (same id, same url ...) is skipped
            cur.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{stage}" '
                        "ON CONFLICT DO NOTHING")
            new = cur.rowcount
            cur.execute(f'TRUNCATE "{stage}"')
        return max(new, 0)

    def after_copy(self, db: peewee.Database, table: str, key: str) -> None:
        seq = db.execute_sql("SELECT pg_get_serial_sequence(%s, %s)",
                             [f'"{table}"', key]).fetchone()
        if seq and seq[0]:
            db.execute_sql(f'SELECT setval(%s, COALESCE((SELECT MAX("{key}") FROM "{table}"), 0)'
                           " + 1, false)", [seq[0]])

    def snapshot(self, db: peewee.Database) -> Any:
        return _snapshot(db)

    # --- schema ---------------------------------------------------------------------
    @contextmanager
    def migration_lock(self, db: peewee.Database) -> Iterator[None]:
        db.execute_sql("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            yield
        finally:
            with suppress(peewee.PeeweeException, psycopg.Error):
                db.execute_sql("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])

    def widen_ids(self, db: peewee.Database, tables: Sequence[str]) -> None:
        for table in tables:
            kind = db.execute_sql(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = %s AND column_name = 'id'", [table]).fetchone()
            if kind and kind[0] != "bigint":
                db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "id" TYPE bigint')
            seq = db.execute_sql("SELECT pg_get_serial_sequence(%s, 'id')",
                                 [f'"{table}"']).fetchone()
            if seq and seq[0]:
                db.execute_sql(f"ALTER SEQUENCE {seq[0]} AS bigint")

    def widen_floats(self, db: peewee.Database, tables: Sequence[str]) -> None:
        rows = db.execute_sql(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND data_type = 'real'").fetchall()
        for table, column in rows:
            if table in tables:
                db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" '
                               "TYPE double precision")

    def widen_text(self, db: peewee.Database, table: str, column: str) -> None:
        db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE text')

    @contextmanager
    def claim(self) -> Iterator[None]:
        """Held on a connection of its own for as long as the block runs."""
        try:
            conn = psycopg.connect(**self._libpq(), autocommit=True)
        except psycopg.Error as exc:
            raise self.translate(exc, f"cannot open database {self.display_url}") from exc
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [IN_USE_LOCK]).fetchone()
            if not row or not row[0]:
                users = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                    "database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database()) AND ((classid::bigint << 32) | objid::bigint) = %s",
                    [IN_USE_LOCK]).fetchone()
                raise StoreLocked(f"{self.display_url} is in use by a running Crypto Hub "
                                  f"({users[0] if users else '?'} connections); stop it first")
            yield
        finally:
            conn.close()

    def dispose(self, db: peewee.Database | None) -> None:
        if isinstance(db, HubPostgres):
            db.close_all()

    # --- checks and size ------------------------------------------------------------------
    def integrity_check(self, db: peewee.Database) -> str:
        """``pg_amcheck`` over every table and index of the database (heap pages and
        B-tree structure); without it only the connection and the catalogue are
        checked, and :meth:`integrity_scope` says so."""
        tool = find_tool("pg_amcheck")
        if tool is None:
            self._scope = ("a catalogue query (pg_amcheck not found, so tables and indexes "
                           "were not checked: install PostgreSQL's client programs)")
            db.execute_sql("SELECT count(*) FROM pg_catalog.pg_class").fetchone()
            return "ok"
        res = self._run([tool, "--install-missing"], timeout=TOOL_TIMEOUT, target="")
        out = (res.stdout + res.stderr).strip()
        if res.returncode == 0:
            self._scope = "pg_amcheck of every table and index"
            return "ok"
        if "amcheck" in out and ("permission denied" in out or "must be" in out
                                 or "could not open extension" in out):
            self._scope = ("a catalogue query (pg_amcheck could not install the amcheck "
                           f"extension, so tables and indexes were not checked: "
                           f"{_first_line(out)})")
            return "ok"
        self._scope = "pg_amcheck of every table and index"
        lines = [ln for ln in out.splitlines() if ln.strip()]
        more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
        return (lines[0] if lines else f"pg_amcheck exited {res.returncode}") + more

    def integrity_scope(self) -> str:
        return self._scope

    def size_bytes(self, db: peewee.Database) -> int:
        row = db.execute_sql("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    # --- backup and restore -------------------------------------------------------------
    def backup(self, dest: Path) -> Path:
        """``pg_dump -Fc`` (one consistent snapshot; hubs keep writing meanwhile), then
        ``pg_restore --list`` reads the whole archive back."""
        dump = self._tool("pg_dump")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            res = self._run([dump, "-Fc", "--no-owner", "-f", str(tmp)], timeout=TOOL_TIMEOUT)
            if res.returncode != 0:
                raise StoreError(f"backup to {dest} failed: pg_dump: {_first_line(res.stderr)}")
            self._verify_archive(tmp, dest)
            tmp.replace(dest)
        except OSError as exc:
            raise StoreError(f"backup to {dest} failed: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def backup_verified(self) -> str:
        return "pg_restore --list ok"

    def restore(self, backup: Path) -> str:
        """The archive is checked first, the current database is dumped beside the
        backup as ``<name>-before-restore-<time>.dump``, then ``pg_restore --clean``
        runs in one transaction: if it fails, the database is as it was."""
        restore = self._tool("pg_restore")
        self._verify_archive(backup, backup)
        with self.claim():
            keep = backup.with_name(
                f"{self.dbname}-before-restore-{datetime.now():%Y%m%d-%H%M%S}.dump")
            self.backup(keep)
            res = self._run([restore, "--clean", "--if-exists", "--no-owner",
                             "--single-transaction", "--exit-on-error", str(backup)],
                            timeout=TOOL_TIMEOUT)
            if res.returncode != 0:
                raise StoreError(f"restore of {self.display_url} from {backup} failed, the "
                                 f"database is unchanged: {_first_line(res.stderr)}")
        return f"previous database dumped to {keep.name}"

    def _verify_archive(self, path: Path, dest: Path) -> None:
        res = subprocess.run([self._tool("pg_restore"), "--list", str(path)],
                             capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
        if res.returncode != 0 or "ohlcv" not in res.stdout:
            why = _first_line(res.stderr) or "no Crypto Hub tables in it"
            raise StoreCorrupt(f"{path} is not a usable database backup: {why}")

    # --- helpers --------------------------------------------------------------------------
    def _libpq(self) -> dict[str, Any]:
        params = dict(self.params)
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", APP_NAME)
        return params

    def _tool(self, name: str) -> str:
        tool = find_tool(name)
        if tool is None:
            raise StoreError(f"{name} not found: install PostgreSQL's client programs "
                             "(Debian: apt-get install postgresql-client) or set "
                             "CRYPTOHUB_PG_BIN to their folder")
        return tool

    def _run(self, argv: list[str], timeout: float,
             target: str = "-d") -> subprocess.CompletedProcess[str]:
        """Run a client program on this database (``target`` is its option for the
        connection string, "" for the last argument); the password goes in PGPASSWORD."""
        params = self._libpq()
        password = params.pop("password", None)
        env = dict(os.environ)
        if password:
            env["PGPASSWORD"] = str(password)
        dsn = make_conninfo(**{k: str(v) for k, v in params.items()})
        argv = [*argv, target, dsn] if target else [*argv, dsn]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreError(f"{Path(argv[0]).name} failed: {exc}") from exc


def _copy(cur: psycopg.Cursor[Any], target: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``COPY target FROM STDIN`` in PostgreSQL's binary format (no text to parse)."""
    with cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(OHLCV_TYPES)
        for row in rows:
            copy.write_row(row)


def _candle(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A candle row with its open time as a datetime (the binary format needs one)."""
    t = row[3]
    if isinstance(t, str):
        return (*row[:3], datetime.fromisoformat(t), *row[4:])
    return row


@contextmanager
def _snapshot(db: peewee.Database) -> Iterator[None]:
    with db.atomic():
        db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _one_line(exc: BaseException) -> str:
    return "; ".join(p.strip() for p in str(exc).splitlines() if p.strip()) or type(exc).__name__


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().removeprefix("pg_dump: ").removeprefix("pg_restore: ")
    return ""
