"""Progress of ``collect --once`` and ``backfill`` on the terminal (stderr), through tqdm.

On a terminal a bar counts providers (or series) with the time left, and each result
is printed above it as it comes; in a log file or a pipe there is no bar and no
carriage return, one line per result, and a line every ``tick`` seconds naming what
is still running, so a hung upstream never means silence.

Example::

    async with CollectProgress(ids) as progress:
        results = await runner.collect_once(ids, on_done=progress.done)
"""

from __future__ import annotations

import asyncio
import sys
import time
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm

from cryptohub_desktop.engine.backfill import SeriesReport
from cryptohub_desktop.engine.runner import RunResult

TICK_SECONDS = 5.0


def _bar(total: int, unit: str, stream: TextIO) -> tqdm[Any]:
    return tqdm(total=total, unit=unit, file=stream, dynamic_ncols=True, leave=False,
                disable=not stream.isatty(), bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                "[{elapsed}<{remaining}]{postfix}")


class CollectProgress:
    """Says which providers finished (status, records, ms) and which still run.

    Args:
        ids: the providers of the pass.
        stream: where to write (stderr: the result table stays alone on stdout).
        tick: seconds between "still waiting for" lines.
    """

    def __init__(self, ids: list[str], stream: TextIO | None = None,
                 tick: float = TICK_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self.pending = list(ids)
        self.total = len(ids)
        self.tick = tick
        self.started = time.monotonic()
        self.bar = _bar(self.total, "provider", self.stream)
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CollectProgress:
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self.bar.close()

    def _write(self, line: str) -> None:
        if self.bar.disable:
            print(line, file=self.stream, flush=True)
        else:
            self.bar.write(line, file=self.stream)

    def done(self, r: RunResult) -> None:
        """One provider finished."""
        if r.provider_id in self.pending:
            self.pending.remove(r.provider_id)
        n = self.total - len(self.pending)
        width = len(str(self.total))
        detail = f"{r.records} records, {r.ms:.0f} ms" if r.status in ("success", "failure") \
            else (r.error or "")
        line = f"[{n:>{width}}/{self.total}] {r.provider_id}: {r.status}"
        self._write(line + (f", {detail}" if detail else "")
                    + (f" ({r.error[:80]})" if r.status == "failure" and r.error else ""))
        self.bar.update(1)
        self._postfix()

    def _postfix(self) -> None:
        if self.pending:
            shown = ", ".join(self.pending[:3]) + (" ..." if len(self.pending) > 3 else "")
            self.bar.set_postfix_str(f"running: {shown}")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            if not self.pending:
                continue
            if self.bar.disable:
                shown = ", ".join(self.pending[:8]) + (" ..." if len(self.pending) > 8 else "")
                self._write(f"... still waiting for {len(self.pending)}: {shown} "
                            f"({time.monotonic() - self.started:.0f} s)")
            else:
                self._postfix()
                self.bar.refresh()


class BackfillProgress:
    """``backfill``'s progress callback: a bar over the series, one line per series
    saying what it filled or why its gaps stayed open.

    Args:
        stream: where to write (stderr).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm[Any] | None = None

    def __call__(self, done: int, total: int, series: SeriesReport | None) -> None:
        if self.bar is None:
            self.bar = _bar(total, "series", self.stream)
        if series is None:
            return
        line = f"[{done}/{total}] {series.explain()}"
        if self.bar.disable:
            print(line, file=self.stream, flush=True)
        else:
            self.bar.write(line, file=self.stream)
            self.bar.update(1)
        if done == total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class RowsProgress:
    """``db migrate``'s progress callback (rows done, rows in all, table): a bar with the
    time left on a terminal; elsewhere one line per table when it is done.

    Args:
        stream: where to write (stderr).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm[Any] | None = None
        self._table = ""

    def __call__(self, done: int, total: int, table: str) -> None:
        if self.bar is None:
            self.bar = _bar(total, "row", self.stream)
        if table != self._table and self._table and self.bar.disable:
            print(f"{self._table}: copied", file=self.stream, flush=True)
        self._table = table
        self.bar.set_postfix_str(table)
        self.bar.update(done - self.bar.n)
        if done >= total:
            if self.bar.disable and table:
                print(f"{table}: copied", file=self.stream, flush=True)
            self.bar.close()
