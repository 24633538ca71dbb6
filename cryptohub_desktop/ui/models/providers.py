"""The providers table: health, rate-limit use, freshness and key state per provider."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import (
    AMBER,
    GREEN,
    RED,
    STATUS_COLORS,
    STATUS_HELP,
    status_color,
    status_label,
)

KEY_TEXT = {"not_needed": "—", "present": "present", "missing": "needs key"}
FRESH_COLORS = {"fresh": GREEN, "stale": AMBER}
CATEGORY_SHORT = {"market_data": "market", "blockchain_explorers": "explorers",
                  "news": "news", "sentiment": "sentiment", "whale_tracking": "whales",
                  "rpc_nodes": "RPC nodes", "onchain_analytics": "on-chain"}


def provider_rows(providers: dict[str, Any], limits: dict[str, Any],
                  freshness: dict[str, Any]) -> list[Row]:
    """Rows from the providers, rate_limits and freshness snapshots."""
    usage: dict[str, dict[str, Any]] = {}
    for u in limits.get("rate_limits", []):
        best = usage.get(u["provider"])
        if best is None or u["percentage"] > best["percentage"]:
            usage[u["provider"]] = u
    fresh = {f["id"]: f for cat in freshness.values() if isinstance(cat, dict)
             for f in cat.values()}
    rows = []
    for p in providers.get("providers", []):
        u = usage.get(p["id"])
        f = fresh.get(p["id"], {})
        rows.append({
            **p,
            "rate_pct": u["percentage"] if u else None,
            "rate_text": (f"{u['current_usage']}/{u['limit_value']} "
                          f"{u['limit_type'].replace('_', ' ')}") if u else "no documented limit",
            "freshness": f.get("status", "no_data"),
            "staleness_minutes": f.get("staleness_minutes"),
        })
    return rows


def _fresh_text(row: Row) -> str:
    state = row.get("freshness") or "no_data"
    if state == "no_data":
        return "no data"
    return f"{state} ({fmt.minutes(row.get('staleness_minutes'))})"


def _key_color(row: Row) -> QColor | None:
    return QColor(STATUS_COLORS["needs_key"]) if row.get("key_state") == "missing" else None


def _status_tip(row: Row) -> str:
    status = row.get("status") or "unknown"
    why = row.get("status_reason") or ""
    return f"{status_label(status)}: {why or STATUS_HELP.get(status, '')}"


def _reason(row: Row) -> str:
    """Why the status, or for an online provider what it last did."""
    if row.get("status_reason"):
        return str(row["status_reason"])
    if row.get("status") == "online" and row.get("last_data_time"):
        return f"newest data {fmt.ago(row['last_data_time'])}"
    return STATUS_HELP.get(str(row.get("status")), "") if row.get("status") != "online" else ""


def _success_text(row: Row) -> str:
    v = row.get("success_rate")
    if v is None:
        return "—" if row.get("status") in ("idle", "needs_key", "disabled", "unknown") else ""
    return fmt.pct(v, signed=False)


def _stream_text(row: Row) -> str:
    """The live stream's state ("live", "reconnecting (2)", ...); "—" without a stream."""
    stream = row.get("stream")
    return str(stream["state"]) if stream else "—"


def _stream_color(row: Row) -> QColor | None:
    state = _stream_text(row)
    if state == "live":
        return QColor(GREEN)
    if state == "rejected":
        return QColor(RED)
    if state.startswith(("stale", "reconnecting", "fallback", "connecting")):
        return QColor(AMBER)
    return None


def _stream_tip(row: Row) -> str | None:
    stream = row.get("stream")
    if not stream:
        return "this provider has no live stream: REST only"
    return f"live stream: {stream['state']}" + (f" ({stream['detail']})" if stream.get("detail")
                                                else "")


COLUMNS = [
    Column("name", "Provider", tooltip=lambda r: f"{r['id']} · {r.get('docs_url', '')}"),
    Column("status", "Status", fmt=status_label, color=lambda r: status_color(r["status"]),
           tooltip=_status_tip),
    Column("category", "Category", fmt=lambda v: CATEGORY_SHORT.get(str(v), str(v)),
           tooltip=lambda r: str(r.get("category", "")).replace("_", " ")),
    Column("response_time_ms", "Response", fmt=fmt.ms, numeric=True),
    Column("success_rate", "Success", numeric=True, display=_success_text,
           tooltip=lambda r: "share of the last 10 runs that delivered data"),
    Column("last_check", "Last check", fmt=fmt.ago, tooltip=lambda r: fmt.local(r["last_check"])),
    Column("stream", "Stream", value=_stream_text, color=_stream_color, tooltip=_stream_tip),
    Column("rate_pct", "Rate limit", numeric=True, tooltip=lambda r: r.get("rate_text")),
    Column("freshness", "Freshness", value=_fresh_text,
           color=lambda r: QColor(FRESH_COLORS[r["freshness"]])
           if r.get("freshness") in FRESH_COLORS else None),
    Column("key_state", "Key", fmt=lambda v: KEY_TEXT.get(v, v), color=_key_color),
    Column("status_reason", "Why", value=_reason, tooltip=_status_tip),
]


def make_model() -> RowsModel:
    return RowsModel(COLUMNS, key=lambda r: r["id"])
