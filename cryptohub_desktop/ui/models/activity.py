"""Column sets of the monitoring tables: schedule, alerts, failures."""

from __future__ import annotations

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, GREEN, RED

SEVERITY_COLORS = {"critical": RED, "warning": AMBER, "info": "#4c6ef5"}


def _ontime_color(row: Row) -> QColor | None:
    v = row.get("on_time_percentage")
    if v is None:
        return None
    return QColor(GREEN if v >= 95 else AMBER if v >= 80 else RED)


SCHEDULE = [
    Column("provider", "Provider"),
    Column("category", "Category", fmt=lambda v: str(v).replace("_", " ")),
    Column("interval_seconds", "Interval", fmt=fmt.interval_label, numeric=True,
           tooltip=lambda r: r.get("interval")),
    Column("active", "Active", fmt=lambda v: "yes" if v else "no"),
    Column("last_run", "Last run", fmt=fmt.ago, tooltip=lambda r: fmt.local(r["last_run"], True)),
    Column("next_run", "Next run", fmt=lambda v: fmt.local(v, True)),
    Column("on_time_count", "On time", numeric=True),
    Column("late_count", "Late", numeric=True),
    Column("skip_count", "Skipped", numeric=True),
    Column("on_time_percentage", "On-time %", fmt=lambda v: fmt.pct(v, signed=False),
           numeric=True, color=_ontime_color),
]


def schedule_model() -> RowsModel:
    return RowsModel(SCHEDULE, key=lambda r: r["provider"])


def _alert_color(row: Row) -> QColor | None:
    if row.get("acknowledged"):
        return None
    return QColor(SEVERITY_COLORS.get(row.get("severity", ""), AMBER))


ALERTS = [
    Column("timestamp", "Time", fmt=lambda v: fmt.local(v, True)),
    Column("severity", "Severity", color=_alert_color),
    Column("alert_type", "Type", fmt=lambda v: str(v).replace("_", " ")),
    Column("provider_id", "Provider"),
    Column("message", "Message", tooltip=lambda r: r.get("message")),
    Column("acknowledged", "Acknowledged",
           fmt=lambda v: "yes" if v else "no"),
]


def alerts_model() -> RowsModel:
    return RowsModel(ALERTS, key=lambda r: r["id"])


FAILURES = [
    Column("timestamp", "Time", fmt=lambda v: fmt.local(v, True)),
    Column("provider", "Provider"),
    Column("error_type", "Error"),
    Column("http_status_code", "HTTP", numeric=True),
    Column("error_message", "Message", tooltip=lambda r: r.get("error_message")),
]


def failures_model(with_provider: bool = True) -> RowsModel:
    cols = FAILURES if with_provider else [c for c in FAILURES if c.key != "provider"]
    return RowsModel(cols, key=lambda r: (r.get("timestamp"), r.get("error_type"),
                                          r.get("error_message")))
