"""Coalesced refreshes: many bus events, one read of the store per 250 ms.

A view's refresh is a coroutine (it awaits ``hub.store.read``). :class:`Coalescer`
runs it at most once per interval, never twice at the same time, and once more
if poked while it ran. A hidden view is only marked stale and refreshed when
shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger("cryptohub.ui")
INTERVAL_MS = 250


class Coalescer(QObject):
    """Runs ``refresh`` after a poke, coalescing pokes within ``interval_ms``.

    Args:
        refresh: the coroutine function to run.
        active: whether refreshing now is useful (the view is visible); if not, the
            poke is remembered and :meth:`activate` runs it later.
        interval_ms: the coalescing window.

    Signals:
        done(): a refresh finished (tests, benchmarks).
    """

    done = Signal()

    def __init__(self, refresh: Callable[[], Awaitable[None]],
                 active: Callable[[], bool] = lambda: True,
                 interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh
        self._active = active
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._closed = False
        self.stale = True

    def poke(self) -> None:
        """Something changed: refresh soon (or when next shown)."""
        self.stale = True
        if self._closed or not self._active():
            return
        if self._task is not None and not self._task.done():
            self._again = True
        elif not self._timer.isActive():
            self._timer.start()

    def activate(self) -> None:
        """The view became visible: refresh now if something changed meanwhile."""
        if self.stale and not self._closed:
            self._timer.stop()
            self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self.stale = False
        try:
            self._task = asyncio.ensure_future(self._run())
        except RuntimeError:  # no running loop (shutting down)
            self._task = None

    async def _run(self) -> None:
        try:
            await self._refresh()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed refresh must not kill the view
            log.exception("view refresh failed")
        finally:
            self.done.emit()
        if self._again:  # poked while it ran: once more (not poke(): this task still runs)
            self._again = False
            self.stale = True
            if not self._closed and self._active() and not self._timer.isActive():
                self._timer.start()

    def cancel(self) -> None:
        """Stop for good (shutdown): no more refreshes; a running one is cancelled."""
        self._closed = True
        self._timer.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def aclose(self) -> None:
        """:meth:`cancel`, then wait until a running refresh has ended."""
        self.cancel()
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=5)
