"""The watchlist: consensus price (or the last known one, with its age), 24 h change,
sources, sparkline per symbol."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, DOWN, GREEN, UP


def watchlist_rows(market: dict[str, Any], spark: dict[str, list[float]]) -> list[Row]:
    """Rows from ``/api/market``: the consensus of fresh sources when there is one, else
    the newest stored price marked "last known" with its age."""
    rows = []
    for m in market.get("market", []):
        listed = m.get("sources") or []
        sources = [s for s in listed if not s.get("stale")]
        live = sorted(s["source"] for s in sources if s.get("via") == "stream")
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
            "live": live,
            "detail": "\n".join(_source_line(s) for s in listed),
        })
    return rows


def _source_line(s: dict[str, Any]) -> str:
    """One source in the price tooltip: price, deviation, age, and how it came."""
    how = "stale stream, left out" if s.get("stale") else (
        "live stream" if s.get("via") == "stream" else "REST")
    dev = f"{s['deviation_pct']:+.2f}%, " if s.get("deviation_pct") is not None else ""
    return (f"{s['source']}: {fmt.money(s['price'])} {s['quote']} "
            f"({dev}{fmt.ago(s['timestamp'])}, {how})")


def _live_text(row: Row) -> str:
    return "● live" if row.get("live") and row.get("fresh") else ""


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
    Column("live", "Live", value=_live_text,
           tooltip=lambda r: (f"live stream from {', '.join(r['live'])}" if r.get("live")
                              else "no live stream: prices come from REST polls"),
           color=lambda r: QColor(GREEN) if _live_text(r) else None),
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
