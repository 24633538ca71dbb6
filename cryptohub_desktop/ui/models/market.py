"""The watchlist: consensus price (or the last known one, with its age), 24 h change,
sources, sparkline per symbol."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, DOWN, UP


def watchlist_rows(market: dict[str, Any], spark: dict[str, list[float]]) -> list[Row]:
    """Rows from ``/api/market``: the consensus of fresh sources when there is one, else
    the newest stored price marked "last known" with its age."""
    rows = []
    for m in market.get("market", []):
        sources = m.get("sources") or []
        latest = m.get("latest") or {}
        fresh = m.get("consensus_price") is not None
        as_of = (max((s["timestamp"] for s in sources if s.get("timestamp")), default=None)
                 if fresh and sources else latest.get("timestamp"))
        rows.append({
            "symbol": m["symbol"],
            "price": m.get("consensus_price") if fresh else latest.get("price"),
            "fresh": fresh, "as_of": as_of, "last_source": latest.get("source"),
            "change": m.get("price_change_24h") if fresh else None,
            "sources": m.get("source_count", 0),
            "outliers": m.get("outliers") or [], "spark": spark.get(m["symbol"], []),
            "market_cap": m.get("market_cap"), "volume": m.get("volume_24h"),
            "detail": "\n".join(f"{s['source']}: {fmt.money(s['price'])} {s['quote']} "
                                f"({s['deviation_pct']:+.2f}%, {fmt.ago(s['timestamp'])})"
                                for s in sources),
        })
    return rows


def _change_color(row: Row) -> QColor | None:
    v = row.get("change")
    if v is None:
        return None
    return QColor(UP if v >= 0 else DOWN)


def _price_text(row: Row) -> str:
    if row.get("price") is None:
        return "no price yet"
    return fmt.money(row["price"]) if row.get("fresh") else f"{fmt.money(row['price'])} (last)"


def _price_tip(row: Row) -> str:
    if row.get("price") is None:
        return "No source has sent a price for this symbol yet."
    if not row.get("fresh"):
        return (f"Last known price from {row.get('last_source')}, {fmt.ago(row.get('as_of'))} "
                f"({fmt.local(row.get('as_of'))}): no source is fresh, so there is no "
                "current consensus.")
    return row.get("detail") or ""


def _updated_text(row: Row) -> str:
    if row.get("as_of") is None:
        return ""
    return fmt.ago(row["as_of"]) if row.get("fresh") else f"stale: {fmt.ago(row['as_of'])}"


COLUMNS = [
    Column("symbol", "Symbol"),
    Column("price", "Price", numeric=True, display=_price_text, tooltip=_price_tip,
           color=lambda r: None if r.get("fresh") else QColor(AMBER)),
    Column("change", "24h", fmt=fmt.pct, numeric=True, color=_change_color),
    Column("as_of", "Updated", display=_updated_text,
           tooltip=lambda r: fmt.local(r.get("as_of")) or None,
           color=lambda r: None if r.get("fresh") else QColor(AMBER)),
    Column("sources", "Sources", numeric=True,
           display=lambda r: (f"{r['sources']} ({len(r['outliers'])} off)" if r.get("outliers")
                              else str(r.get("sources", 0))),
           tooltip=lambda r: r.get("detail") or None,
           color=lambda r: QColor(AMBER) if r.get("outliers") else None),
    Column("spark", "24h trend", fmt=lambda v: ""),
    Column("market_cap", "Market cap", fmt=lambda v: fmt.compact(v, "$"), numeric=True),
    Column("volume", "Volume 24h", fmt=lambda v: fmt.compact(v, "$"), numeric=True),
]


def make_model() -> RowsModel:
    return RowsModel(COLUMNS, key=lambda r: r["symbol"])
