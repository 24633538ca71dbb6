"""How old a latest value may be before the UI marks it stale (Truth on screen).

A value is shown with its age; past its limit it is marked stale (or "last known",
with its age) and never passes for current. Prices use the consensus' own limit
(``/api/market`` ``max_age_seconds``); the rest follow how often their source
updates, with room for one missed update.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.theme import AMBER

#: kind of value -> seconds after which it is stale
LIMITS = {
    "price": 300.0,          # overridden by the market answer's max_age_seconds
    "fear_greed": 36 * 3600.0,  # alternative.me publishes once a day
    "gas": 30 * 60.0,
    "block": 30 * 60.0,
    "explorer": 2 * 3600.0,
    "onchain": 12 * 3600.0,   # DefiLlama / Coin Metrics publish daily series
    "sentiment": 6 * 3600.0,
}


def stale_color(kind: str) -> Any:
    """A Column colour function: amber for a row whose ``timestamp`` is past the limit."""
    def color(row: dict[str, Any]) -> QColor | None:
        return QColor(AMBER) if fmt.is_stale(row.get("timestamp"), LIMITS[kind]) else None
    return color


def age_text(kind: str) -> Any:
    """A Column value function: "3 min ago", or "stale: 2 days old (5 Dec 14:00 UTC)"."""
    def text(row: dict[str, Any]) -> str:
        return fmt.as_of(row.get("timestamp"), LIMITS[kind])
    return text
