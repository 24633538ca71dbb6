"""The watchlist: consensus price, 24 h change, sources, sparkline per symbol."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, DOWN, UP


def watchlist_rows(market: dict[str, Any], spark: dict[str, list[float]]) -> list[Row]:
    rows = []
    for m in market.get("market", []):
        sources = m.get("sources") or []
        rows.append({
            "symbol": m["symbol"], "price": m.get("consensus_price"),
            "change": m.get("price_change_24h"), "sources": m.get("source_count", 0),
            "outliers": m.get("outliers") or [], "spark": spark.get(m["symbol"], []),
            "market_cap": m.get("market_cap"), "volume": m.get("volume_24h"),
            "detail": "\n".join(f"{s['source']}: {fmt.money(s['price'])} {s['quote']} "
                                f"({s['deviation_pct']:+.2f}%)" for s in sources),
        })
    return rows


def _change_color(row: Row) -> QColor | None:
    v = row.get("change")
    if v is None:
        return None
    return QColor(UP if v >= 0 else DOWN)


COLUMNS = [
    Column("symbol", "Symbol"),
    Column("price", "Price", fmt=fmt.money, numeric=True,
           tooltip=lambda r: r.get("detail") or "no fresh price"),
    Column("change", "24h", fmt=fmt.pct, numeric=True, color=_change_color),
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
