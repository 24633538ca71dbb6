"""Rate-limit windows that survive restarts: day and month quotas in a small SQLite file
of the data folder, shared by every process that uses it.

The in-memory :class:`~cryptohub_desktop.providers.ratelimit.RateLimiter` forgets its
windows when the process ends, so a restart (or a ``collect`` beside the window)
started every day and month quota from zero: CoinMarketCap's 10,000 calls a month
or CryptoPanic's 100 could be overrun by restarting. :class:`PersistentLimiter`
keeps the windows of :data:`PERSIST_SECONDS` or longer as timestamped hits in
``ratelimits.db`` (one row per call, wall-clock seconds) and the short ones in
memory, where a restart cannot overrun them by much. Taking a slot re-counts the
window and records the hit in one ``BEGIN IMMEDIATE`` transaction, so two
processes sharing the file never both take the last call; it runs on a worker
thread (another process may hold the file's write lock for a moment).

Why a file of our own rather than the ``limits`` library: ``limits`` keeps its moving
windows in memory or in a server (Redis, Memcached, MongoDB); none survives a
restart of a desktop that has no such server. Its moving window on Redis is what a
team hub uses behind the same :class:`~cryptohub_desktop.providers.ratelimit.Limiter`
interface (``engine.ports.LimiterFactory``). A hit here costs about 0.65 ms on a
worker thread, and counting a window of 5,000 hits 0.3 ms (``bench/bench_limiter.py``,
docs/PERFORMANCE.md); a provider is called at most a few times a second.

Example::

    quotas = QuotaFile(data_dir / "ratelimits.db")
    limiter = PersistentLimiter("coinmarketcap", spec.rate_limits, quotas)
    await limiter.acquire()          # UpstreamRateLimited when a window is full
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptohub_desktop.core.errors import UpstreamRateLimited
from cryptohub_desktop.providers.ratelimit import WARNING_RATIO, RateLimiter, Usage
from cryptohub_desktop.providers.spec import RateLimit

PERSIST_SECONDS = 3600  # windows this long or longer are kept in the file
FILE_NAME = "ratelimits.db"
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (grp TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_grp_at ON hits (grp, at);
"""


class QuotaFile:
    """The hits of every persisted window, in one SQLite file.

    Args:
        path: the file (``<data folder>/ratelimits.db``), created on first use.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        try:
            self._set_up()
        except BaseException:
            self._db.close()
            raise

    def _set_up(self) -> None:
        """WAL and the table. Two processes opening a new file at the same moment (two
        commands started together) can get SQLITE_BUSY at once from the switch to WAL,
        busy timeout or not: that is retried until the timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                with self._lock:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=NORMAL")
                    self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def wait(self, group: str, now: float, windows: Sequence[RateLimit]) -> float:
        """Seconds until one more hit of ``group`` fits every window (0: it fits now)."""
        with self._lock:
            return _wait(self._db, group, now, windows)

    def used(self, group: str, now: float, window: RateLimit) -> tuple[int, float | None]:
        """(hits of ``group`` inside ``window`` now, the oldest one's time)."""
        with self._lock:
            n, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(at) FROM hits WHERE grp = ? AND at > ?",
                (group, now - window.seconds)).fetchone()
        return n, oldest

    def take(self, group: str, now: float, windows: Sequence[RateLimit]) -> float:
        """Record one hit of ``group`` at ``now`` if every window has room; else record
        nothing and return the seconds until one would. One transaction."""
        longest = max(w.seconds for w in windows)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                wait = _wait(db, group, now, windows)
                if wait <= 0:
                    db.execute("INSERT INTO hits (grp, at) VALUES (?, ?)", (group, now))
                    db.execute("DELETE FROM hits WHERE grp = ? AND at <= ?",
                               (group, now - longest))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return wait


def _wait(db: sqlite3.Connection, group: str, now: float,
          windows: Sequence[RateLimit]) -> float:
    """Seconds until one more hit of ``group`` fits every window: for a full window, the
    time its (n - calls + 1)-th newest hit leaves it."""
    wait = 0.0
    for w in windows:
        since = now - w.seconds
        n = db.execute("SELECT COUNT(*) FROM hits WHERE grp = ? AND at > ?",
                       (group, since)).fetchone()[0]
        if n >= w.calls:
            at = db.execute("SELECT at FROM hits WHERE grp = ? AND at > ? ORDER BY at "
                            "LIMIT 1 OFFSET ?", (group, since, n - w.calls)).fetchone()[0]
            wait = max(wait, at + w.seconds - now)
    return wait


class PersistentLimiter:
    """A provider group's limiter whose long windows live in a :class:`QuotaFile`
    (implements :class:`~cryptohub_desktop.providers.ratelimit.Limiter`).

    Args:
        provider_id: the group's name (a provider id, or a shared account's group).
        limits: the documented limits.
        quotas: the shared file.
        clock: monotonic seconds, for the short windows (tests pass a fake).
        wall: Unix seconds, for the persisted windows (tests pass a fake).
        on_warning: called once with the :class:`Usage` each time a window crosses 80%.
    """

    def __init__(self, provider_id: str, limits: Sequence[RateLimit], quotas: QuotaFile, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 on_warning: Callable[[Usage], None] | None = None) -> None:
        self.provider_id = provider_id
        self.limits = tuple(limits)
        self.quotas = quotas
        self.long = tuple(w for w in self.limits if w.seconds >= PERSIST_SECONDS)
        self.short = RateLimiter(provider_id, [w for w in self.limits
                                               if w.seconds < PERSIST_SECONDS],
                                 clock=clock, on_warning=on_warning)
        self._wall = wall
        self.on_warning = on_warning
        self._warned = [False] * len(self.long)
        self._lock = asyncio.Lock()

    def wait_time(self) -> float:
        """Seconds until one more call fits every window (0 if it fits now)."""
        long = self.quotas.wait(self.provider_id, self._wall(), self.long) if self.long else 0.0
        return max(self.short.wait_time(), long)

    async def acquire(self, max_wait: float = 0.0) -> None:
        """Take a slot, waiting up to ``max_wait`` seconds; else raise, unsent.

        Raises:
            UpstreamRateLimited: no slot within ``max_wait`` (a full day or month window
                says how long in ``retry_after``).
        """
        async with self._lock:
            wait = self.wait_time()
            if wait > max_wait:
                raise UpstreamRateLimited(
                    f"{self.provider_id}: call deferred, rate limit needs {wait:.1f}s",
                    retry_after=wait)
            if wait > 0:
                await asyncio.sleep(wait)
            if self.long:
                now = self._wall()
                left = await asyncio.to_thread(self.quotas.take, self.provider_id, now,
                                               self.long)
                if left > 0:  # another process took the last call meanwhile
                    raise UpstreamRateLimited(
                        f"{self.provider_id}: call deferred, rate limit needs {left:.1f}s",
                        retry_after=left)
                self._check_warnings(now)
            if not self.short.try_acquire():  # pragma: no cover - clock moved backwards
                raise UpstreamRateLimited(f"{self.provider_id}: no slot", retry_after=1.0)

    def block_for(self, seconds: float) -> None:
        """The provider said wait (429 Retry-After): send nothing for ``seconds``."""
        self.short.block_for(seconds)

    @property
    def blocked_for(self) -> float:
        return self.short.blocked_for

    async def refresh(self) -> None:
        return None  # usage() reads the file

    def usage(self) -> list[Usage]:
        """Use of every window, the persisted ones as every process sharing the file
        used them."""
        now = self._wall()
        short = iter(self.short.usage())
        out = []
        for w in self.limits:
            if w.seconds < PERSIST_SECONDS:
                out.append(next(short))
                continue
            used, oldest = self.quotas.used(self.provider_id, now, w)
            reset = oldest + w.seconds - now if oldest is not None else 0.0
            out.append(Usage(self.provider_id, w.label, w.calls, used, max(0.0, reset)))
        return out

    def _check_warnings(self, now: float) -> None:
        for i, w in enumerate(self.long):
            used, _ = self.quotas.used(self.provider_id, now, w)
            if used >= WARNING_RATIO * w.calls and not self._warned[i]:
                self._warned[i] = True
                if self.on_warning:
                    self.on_warning(Usage(self.provider_id, w.label, w.calls, used, 0.0))
            elif used < 0.5 * w.calls:
                self._warned[i] = False


class PersistentLimits:
    """The ``engine.ports.Limits`` of a data folder: every group's long windows share the
    file at ``path`` (``Hub(..., limits=PersistentLimits(data_dir / FILE_NAME))``)."""

    connected = True

    def __init__(self, path: Path) -> None:
        self.quotas = QuotaFile(path)

    def limiter(self, group: str, limits: Sequence[RateLimit],
                on_warning: Callable[[Usage], None]) -> PersistentLimiter:
        return PersistentLimiter(group, limits, self.quotas, on_warning=on_warning)

    async def close(self) -> None:
        self.quotas.close()
