"""One writer per data folder: an exclusive lock file held by every process that writes
the database (the window, ``serve``, ``collect``, ``backfill``, ``db migrate``).

The lock is the operating system's own (``fcntl.flock`` on Linux and macOS,
``msvcrt.locking`` on Windows) on ``<data folder>/cryptohub.lock``: it is released by
the OS when its holder exits, ``kill -9`` and crashes included, so a stale lock can
never block the app. The holder writes its pid, command and start time into the
file, so whoever is refused can say who holds it. (The ``filelock`` library wraps
the same calls but truncates the file when it opens it, which would erase the
holder's pid for every process that only asks.)

Example::

    with hold(cfg.data_dir, "serve"):       # raises LockHeld naming the holder's pid
        run_the_server()

    refuse_if_held(cfg.data_dir, "restore")  # a process that must not run beside a writer
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptohub_desktop.core.errors import UserError

LOCK_FILE = "cryptohub.lock"
RETRIES, RETRY_SECONDS = 5, 0.02  # rides out another process's probe (:func:`holder`)
_WINDOWS_OFFSET = 1 << 20  # Windows locks bytes for everyone: lock one far past the text

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(f: IO[str]) -> bool:
        f.seek(_WINDOWS_OFFSET)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: IO[str]) -> None:
        f.seek(_WINDOWS_OFFSET)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(f: IO[str]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class Holder:
    """Who holds a data folder's lock, as it wrote itself down."""

    pid: int | None
    command: str
    since: str
    host: str

    def describe(self) -> str:
        """``cryptohub-desktop serve (pid 1234, since 2024-05-01 12:00:00Z)``."""
        who = f"cryptohub-desktop {self.command}".strip() if self.command else "another process"
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        since = f", since {self.since}" if self.since else ""
        host = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        return f"{who} ({pid}{host}{since})"


class LockHeld(UserError):
    """Another process writes this data folder.

    Attributes:
        holder: who holds it.
    """

    def __init__(self, message: str, holder: Holder) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_FILE


def _read_holder(path: Path) -> Holder:
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    pid = info.get("pid")
    return Holder(pid if isinstance(pid, int) else None, str(info.get("command", "")),
                  str(info.get("since", "")), str(info.get("host", "")))


class DataLock:
    """The exclusive lock on one data folder.

    Args:
        data_dir: the data folder (created if missing).
        command: what this process is ("serve", "gui" ...), written for others to read.
    """

    def __init__(self, data_dir: Path, command: str) -> None:
        self.path = lock_path(data_dir)
        self.command = command
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock now, or raise.

        Raises:
            LockHeld: another process holds it (the message names its pid).
            UserError: the lock file cannot be created.
        """
        if self._file is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        except OSError as exc:
            raise UserError(f"cannot create the lock file {self.path}: {exc}") from exc
        for attempt in range(RETRIES):
            if _try_lock(f):
                break
            if attempt < RETRIES - 1:
                time.sleep(RETRY_SECONDS)
        else:
            f.close()
            holder = _read_holder(self.path)
            raise LockHeld(f"the data folder {self.path.parent} is in use by "
                           f"{holder.describe()}; stop it first (or use another --data-dir)",
                           holder)
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "command": self.command,
                            "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
                            "host": socket.gethostname()}))
        f.flush()
        self._file = f

    def release(self) -> None:
        """Let go (idempotent). The file stays: removing it would race a new holder."""
        f, self._file = self._file, None
        if f is None:
            return
        try:
            f.seek(0)
            f.truncate()
            f.flush()
            _unlock(f)
        finally:
            f.close()


def holder(data_dir: Path) -> Holder | None:
    """Who holds the data folder's lock now (None: nobody)."""
    path = lock_path(data_dir)
    if not path.exists():
        return None
    try:
        with open(path, "a+", encoding="utf-8") as f:
            if _try_lock(f):  # free: let go at once (a writer starting now retries)
                _unlock(f)
                return None
    except OSError:
        return None
    return _read_holder(path)


@contextmanager
def hold(data_dir: Path, command: str) -> Iterator[DataLock]:
    """Hold the data folder's lock for the ``with`` block.

    Raises:
        LockHeld: another process writes this data folder.
    """
    lock = DataLock(data_dir, command)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def refuse_if_held(data_dir: Path, doing: str) -> None:
    """For a process that must not run beside a writer (``restore``, ``db migrate --to``
    an SQLite database in a data folder): raise if one holds the folder.

    Raises:
        LockHeld: one line naming the holder's pid.
    """
    who = holder(data_dir)
    if who is not None:
        raise LockHeld(f"cannot {doing}: the data folder {Path(data_dir)} is in use by "
                       f"{who.describe()}; stop it first", who)


def data_dir_of_url(url: str) -> Path | None:
    """The folder of an SQLite database URL (``sqlite:///path/api_monitor.db``, read as
    ``storage/backends/sqlite.py`` reads it), whose lock guards that database; None for
    other backends (their server guards them)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
    elif url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
    else:
        return None
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve().parent
