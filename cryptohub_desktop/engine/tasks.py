"""Background work of the engine: tasks it starts and does not await (alerts, writes
after a rotation, cache refreshes), kept so they can be waited for or cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("cryptohub.hub")


class Background:
    """A set of fire-and-forget tasks on the running loop.

    A task that fails is logged; it never takes the engine down.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background (dropped when no loop runs: shutting down)."""
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.error("background task failed: %s", task.exception())

    async def settle(self) -> None:
        """Wait for the tasks spawned so far (and those they spawn)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    async def cancel(self, timeout: float = 2.0) -> None:
        """Cancel every task and wait up to ``timeout`` seconds for them to end."""
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
