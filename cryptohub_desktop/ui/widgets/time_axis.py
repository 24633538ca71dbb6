"""A time axis that says what a person needs: the year when it is not this year, the
day at midnight, and which zone the times are in (``fmt.zone``: local or UTC).

pyqtgraph's :class:`~pyqtgraph.DateAxisItem` picks where the ticks go; only their text
is ours ("17 May 2025", "Dec", "14:00", "7 Dec" at midnight), so a day in May shown in
December can never pass for this week.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyqtgraph as pg

from cryptohub_desktop.ui import fmt

DAY = 86400.0


def tick_text(t: datetime, spacing: float, this_year: int) -> str:
    """The text of one tick at local time ``t`` for ticks ``spacing`` seconds apart."""
    other_year = t.year != this_year
    if spacing >= 360 * DAY:
        return f"{t.year}"
    if spacing >= 28 * DAY:
        return f"{t:%b} {t.year}" if other_year or t.month == 1 else f"{t:%b}"
    if spacing >= DAY or (t.hour == 0 and t.minute == 0 and spacing >= 3600):
        return f"{t.day} {t:%b}" + (f" {t.year}" if other_year else "")
    if spacing >= 60:
        return f"{t:%H:%M}"
    return f"{t:%H:%M:%S}"


class TimeAxis(pg.DateAxisItem):
    """A bottom axis of Unix seconds shown in the chosen zone, with the year when needed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="bottom", **kwargs)
        self.follow_zone()

    def follow_zone(self) -> None:
        """Place ticks at midnights and hours of the chosen zone (after a Settings change)."""
        offset = fmt.in_zone(datetime.now(UTC)).utcoffset()
        self.utcOffset = -offset.total_seconds() if offset is not None else 0.0
        self.picture = None
        self.update()

    def tickStrings(self, values: list[float], scale: float,  # noqa: N802 - Qt override
                    spacing: float) -> list[str]:
        this_year = fmt.in_zone(datetime.now(UTC)).year
        out = []
        for v in values:
            try:
                t = fmt.in_zone(datetime.fromtimestamp(float(v), UTC))
            except (OverflowError, OSError, ValueError):
                out.append("")
                continue
            out.append(tick_text(t, spacing, this_year))
        return out
