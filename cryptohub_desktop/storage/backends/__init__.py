"""Database backends: everything particular to one database engine.

The backend-neutral :class:`~cryptohub_desktop.storage.store.Store` asks its
:class:`Backend` for what differs between engines: how to connect, how to
translate a driver error, how to bulk-insert candles, how to back up and check
the database. Nothing outside this package asks "is this SQLite?".

A backend is chosen by the URL's scheme and imported only when used
(:func:`backend_for`), so a SQLite desktop never loads a PostgreSQL driver.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import peewee

from cryptohub_desktop.core.errors import StoreError


class Backend(ABC):
    """One database engine behind a URL.

    Args:
        url: the database URL (``sqlite:///path`` or ``postgresql://...``).
    """

    #: short name for messages ("sqlite", "postgresql")
    name = ""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def display_url(self) -> str:
        """The URL as it may be printed or logged (a password masked)."""
        return self.url

    @abstractmethod
    def connect(self) -> peewee.Database:
        """Create (if needed) and open the database; returns it connected.

        Raises:
            StoreError: it cannot be created or opened.
        """

    @abstractmethod
    def translate(self, exc: BaseException, what: str) -> StoreError:
        """The :class:`StoreError` subclass that says why ``exc`` happened."""

    @abstractmethod
    def insert_ohlcv(self, db: peewee.Database, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``(source, symbol, interval, open_time, open, high, low, close, volume)``
        rows, ignoring ones already stored; returns how many were new. Runs on the
        writer thread inside its transaction."""

    def migration_lock(self, db: peewee.Database) -> AbstractContextManager[Any]:
        """Held while migrations run, so instances starting at once apply each once."""
        return nullcontext()

    def before_close(self, db: peewee.Database) -> None:
        """Last work on the writer's connection before it closes (e.g. a checkpoint)."""
        return None

    def after_delete(self, db: peewee.Database) -> None:
        """After retention deleted rows (e.g. give free pages back to the file system)."""
        return None

    def integrity_check(self, db: peewee.Database) -> str:
        """``"ok"`` or the first problem found."""
        return "ok"

    def size_bytes(self, db: peewee.Database) -> int:
        """The database's size on disk."""
        return 0

    def backup(self, dest: Path) -> Path:
        """A consistent online copy at ``dest``, verified.

        Raises:
            StoreError: the copy failed, or this backend cannot back up.
        """
        raise StoreError(f"backups of {self.name} databases are not supported")

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
    raise StoreError(f"unsupported database URL {url.split('://', 1)[0]}://...; "
                     "use sqlite:///path")


def orig_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind a peewee one (peewee passes it as args[0])."""
    if isinstance(exc, peewee.PeeweeException):
        first = exc.args[0] if exc.args else None
        if isinstance(first, BaseException):
            return first
        if exc.__context__ is not None:
            return exc.__context__
    return exc
