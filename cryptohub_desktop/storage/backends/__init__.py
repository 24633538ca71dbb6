"""Database backends: everything particular to one database engine.

The backend-neutral :class:`~cryptohub_desktop.storage.store.Store` asks its
:class:`Backend` for what differs between engines: how to connect, how to
translate a driver error, how to bulk-insert rows, how to back up and check
the database, and how to tell that a running hub is using it. Nothing outside
this package asks "is this SQLite?".

A backend is chosen by the URL's scheme and imported only when used
(:func:`backend_for`), so a SQLite desktop never loads a PostgreSQL driver.

Who uses a database: every :class:`Store` marks the database *in use* for as
long as it is open (a shared lock: any number of hubs, checks and backups at
once); :meth:`Backend.claim` takes the same lock exclusively for a bulk copy or
a restore, so it refuses while a hub runs, and a hub cannot open the database
while a copy is being written.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee

from cryptohub_desktop.core.errors import StoreError

#: ``{ENTRY_NAME}``: a secret (e.g. the database password) looked up by name
PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
SCHEMES = ("sqlite", "postgresql", "postgres")


class Backend(ABC):
    """One database engine behind a URL.

    Args:
        url: the database URL (``sqlite:///path`` or ``postgresql://...``), with any
            password already filled in (:func:`resolve_url`).
    """

    #: short name for messages ("sqlite", "postgresql")
    name = ""
    #: the file name ending of this backend's backups
    backup_suffix = ".db"

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def display_url(self) -> str:
        """The URL as it may be printed or logged (a password masked)."""
        return display_url(self.url)

    def identity(self) -> tuple[str, ...]:
        """What names the database itself (two URLs with equal identities are one)."""
        return (self.name, self.url)

    def exists(self) -> bool:
        """Whether the database is there already (connecting may create it)."""
        return True

    @abstractmethod
    def connect(self, *, in_use: bool = True) -> peewee.Database:
        """Create (if needed) and open the database; returns it connected.

        Args:
            in_use: mark the database as used by this process while it is open
                (every store does; a bulk copy that holds :meth:`claim` does not).

        Raises:
            StoreError: it cannot be created or opened.
            StoreLocked: a copy or restore holds the database (:meth:`claim`).
        """

    @abstractmethod
    def translate(self, exc: BaseException, what: str) -> StoreError:
        """The :class:`StoreError` subclass that says why ``exc`` happened."""

    @abstractmethod
    def insert_ohlcv(self, db: peewee.Database, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``(source, symbol, interval, open_time, open, high, low, close, volume)``
        rows, ignoring ones already stored (same source, symbol, interval, open_time);
        returns how many were new. Runs on the writer thread inside its transaction."""

    @abstractmethod
    def insert_rows(self, db: peewee.Database, table: str, columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]]) -> int:
        """Copy rows (ids included) into ``table``, skipping a row that any of the
        table's unique keys already holds; returns how many were new (db migrate)."""

    def after_copy(self, db: peewee.Database, table: str, key: str) -> None:
        """After rows with explicit ids were copied into ``table`` (e.g. move its id
        sequence past them)."""
        return None

    def snapshot(self, db: peewee.Database) -> AbstractContextManager[Any]:
        """A read transaction that sees one consistent state of every table."""
        return db.atomic()

    def migration_lock(self, db: peewee.Database) -> AbstractContextManager[Any]:
        """Held while migrations run, so instances starting at once apply each once."""
        return nullcontext()

    def widen_ids(self, db: peewee.Database, tables: Sequence[str]) -> None:
        """Make the integer ids of ``tables`` 64-bit (a migration step)."""
        return None

    def widen_floats(self, db: peewee.Database, tables: Sequence[str]) -> None:
        """Make every 4-byte float column of ``tables`` 8-byte (a migration step)."""
        return None

    def widen_text(self, db: peewee.Database, table: str, column: str) -> None:
        """Lift a length limit of a text column (a migration step)."""
        return None

    def claim(self) -> AbstractContextManager[Any]:
        """Hold the database exclusively (a bulk copy or restore into it).

        Raises:
            StoreLocked: a hub (or any other store) has it open.
        """
        return nullcontext()

    def before_close(self, db: peewee.Database) -> None:
        """Last work on the writer's connection before it closes (e.g. a checkpoint)."""
        return None

    def dispose(self, db: peewee.Database) -> None:
        """After the store's threads are gone: close what they left open, release the
        in-use mark. Safe to call twice."""
        return None

    def after_delete(self, db: peewee.Database) -> None:
        """After retention deleted rows (e.g. give free pages back to the file system)."""
        return None

    def integrity_check(self, db: peewee.Database) -> str:
        """``"ok"`` or the first problem found."""
        return "ok"

    def integrity_scope(self) -> str:
        """What the last :meth:`integrity_check` looked at (shown by ``check``)."""
        return "integrity_check"

    def size_bytes(self, db: peewee.Database) -> int:
        """The database's size on disk (may run a query: call it off the event loop)."""
        return 0

    def backup(self, dest: Path) -> Path:
        """A consistent online copy at ``dest``, verified.

        Raises:
            StoreError: the copy failed, or this backend cannot back up.
        """
        raise StoreError(f"backups of {self.name} databases are not supported")

    def backup_verified(self) -> str:
        """How :meth:`backup` verified its copy, for the user."""
        return "verified"

    def restore(self, backup: Path) -> str:
        """Replace the database with ``backup`` (the app must be stopped); returns one
        line saying what happened to the previous database.

        Raises:
            StoreError: the backup is unusable (the database is then untouched).
        """
        raise StoreError(f"restore into a {self.name} database is not supported")


def backend_for(url: str) -> Backend:
    """The backend for ``url``'s scheme.

    Raises:
        StoreError: an unsupported scheme.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from cryptohub_desktop.storage.backends.sqlite import SqliteBackend
        return SqliteBackend(url)
    if scheme in ("postgresql", "postgres"):
        from cryptohub_desktop.storage.backends.postgres import PostgresBackend
        return PostgresBackend(url)
    raise StoreError(f"unsupported database URL {url.split('://', 1)[0]}://...; "
                     "use sqlite:///path or postgresql://user@host/database")


def resolve_url(url: str, lookup: Callable[[str], str | None] | None) -> str:
    """``url`` with each ``{ENTRY_NAME}`` placeholder filled by ``lookup(name)``
    (``Secrets.get``: the environment first, then the keychain).

    Raises:
        StoreError: a placeholder has no value (names it, never a value).
    """
    names = list(dict.fromkeys(PLACEHOLDER.findall(url)))
    if not names:
        return url
    values = {n: (lookup(n) if lookup else None) for n in names}
    missing = [n for n, v in values.items() if not v]
    if missing:
        raise StoreError(f"the database URL needs {missing[0]}: set it in the keychain "
                         f"(cryptohub-desktop keys set {missing[0]}) or as an environment "
                         "variable")
    # a secret goes into the URL's user:password part: escape what would end it
    return PLACEHOLDER.sub(lambda m: quote(values[m.group(1)] or "", safe=""), url)


_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:?#]*:)([^@/?#]*)(@)")


def display_url(url: str) -> str:
    """``url`` as it may be printed or logged: a password in ``user:password@`` is
    shown as ``****`` (a ``{ENTRY}`` placeholder, being a name, stays as written), and
    so is a ``password=`` query argument."""
    def hide(m: re.Match[str]) -> str:
        pw = m.group(2)
        return m.group(1) + (pw if PLACEHOLDER.fullmatch(pw) else "****") + m.group(3)
    out = _PASSWORD.sub(hide, url)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1****", out)


def orig_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind a peewee one (peewee passes it as args[0])."""
    if isinstance(exc, peewee.PeeweeException):
        first = exc.args[0] if exc.args else None
        if isinstance(first, BaseException):
            return first
        if exc.__context__ is not None:
            return exc.__context__
    return exc


def error_chain(exc: BaseException, limit: int = 8) -> list[BaseException]:
    """``exc`` and what it came from (driver errors unwrapped), most recent first."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < limit:
        chain.append(orig_error(seen))
        seen = seen.__context__ or seen.__cause__
    return chain
