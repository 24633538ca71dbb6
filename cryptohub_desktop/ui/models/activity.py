"""Column sets of the monitoring tables: schedule, alerts, failures."""

from __future__ import annotations

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.providers import CATEGORY_SHORT
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, GREEN, RED

SEVERITY_COLORS = {"critical": RED, "warning": AMBER, "info": "#4c6ef5"}


def _ontime_color(row: Row) -> QColor | None:
    v = row.get("on_time_percentage")
    if v is None:
        return None
    return QColor(GREEN if v >= 95 else AMBER if v >= 80 else RED)


OUTCOME_TEXT = {"success": "delivered", "failure": "failed", "empty": "empty answer",
                "idle": "idle (no input)"}
OUTCOME_COLORS = {"success": GREEN, "failure": RED, "empty": AMBER}


def _delivered_color(row: Row) -> QColor | None:
    v = row.get("success_rate")
    if v is None:
        return None
    return QColor(GREEN if v >= 95 else AMBER if v >= 80 else RED)


def _ontime_text(row: Row) -> str:
    v = row.get("on_time_percentage")
    if v is None:
        return ""
    text = fmt.pct(v, signed=False)
    if row.get("success_rate") == 0:
        return f"{text} (all failing)"
    return text


SCHEDULE = [
    Column("provider", "Provider", display=lambda r: r.get("name") or r["provider"],
           tooltip=lambda r: r["provider"]),
    Column("category", "Category", fmt=lambda v: CATEGORY_SHORT.get(str(v), str(v)),
           tooltip=lambda r: str(r.get("category", "")).replace("_", " ")),
    Column("interval_seconds", "Interval", fmt=fmt.interval_label, numeric=True,
           tooltip=lambda r: fmt.interval_name(r.get("interval"))),
    Column("last_outcome", "Result", fmt=lambda v: OUTCOME_TEXT.get(str(v), str(v)),
           color=lambda r: QColor(OUTCOME_COLORS[r["last_outcome"]])
           if r.get("last_outcome") in OUTCOME_COLORS else None),
    Column("success_rate", "Delivered", fmt=lambda v: fmt.pct(v, signed=False), numeric=True,
           color=_delivered_color,
           tooltip=lambda r: "share of the recent runs that brought data"),
    Column("on_time_percentage", "On time", numeric=True, display=_ontime_text,
           color=lambda r: QColor(AMBER) if r.get("success_rate") == 0 else _ontime_color(r),
           tooltip=lambda r: (f"{r['on_time_count']} on time, {r['late_count']} late, "
                              f"{r['skip_count']} skipped: a run is on time when it starts "
                              "within tolerance of its slot, whatever its result")),
    Column("last_run", "Last run", fmt=fmt.ago, tooltip=lambda r: fmt.local(r["last_run"], True)),
    Column("next_run", "Next run", fmt=fmt.short, tooltip=lambda r: fmt.local(r["next_run"], True)),
    Column("late_count", "Late", numeric=True),
    Column("skip_count", "Skipped", numeric=True),
    Column("active", "Active", fmt=lambda v: "yes" if v else "no"),
]


def schedule_model() -> RowsModel:
    return RowsModel(SCHEDULE, key=lambda r: r["provider"])


def _alert_color(row: Row) -> QColor | None:
    if row.get("acknowledged"):
        return None
    return QColor(SEVERITY_COLORS.get(row.get("severity", ""), AMBER))


ALERTS = [
    Column("timestamp", "Time", fmt=fmt.short,
           tooltip=lambda r: f"{fmt.local(r['timestamp'], True)} ({fmt.ago(r['timestamp'])})"),
    Column("severity", "Severity", color=_alert_color),
    Column("alert_type", "Type", fmt=lambda v: str(v).replace("_", " ")),
    Column("provider_id", "Provider"),
    Column("message", "Message", tooltip=lambda r: r.get("message")),
    Column("acknowledged", "Ack", fmt=lambda v: "✓" if v else "",
           tooltip=lambda r: ("acknowledged " + fmt.local(r.get("acknowledged_at")))
           if r.get("acknowledged") else "not acknowledged"),
]


def alerts_model() -> RowsModel:
    return RowsModel(ALERTS, key=lambda r: r["id"])


FAILURES = [
    Column("timestamp", "Time", fmt=fmt.short,
           tooltip=lambda r: f"{fmt.local(r['timestamp'], True)} ({fmt.ago(r['timestamp'])})"),
    Column("provider", "Provider"),
    Column("error_type", "Error"),
    Column("http_status_code", "HTTP", numeric=True),
    Column("error_message", "Message", tooltip=lambda r: r.get("error_message")),
]


def failures_model(with_provider: bool = True) -> RowsModel:
    cols = FAILURES if with_provider else [c for c in FAILURES if c.key != "provider"]
    return RowsModel(cols, key=lambda r: (r.get("timestamp"), r.get("error_type"),
                                          r.get("error_message")))
