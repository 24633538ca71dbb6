"""Schedule: each provider's interval, last and next run, and on-time record."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWidget

from cryptohub_desktop.ui.models.activity import schedule_model
from cryptohub_desktop.ui.views.base import View, heading, muted
from cryptohub_desktop.ui.widgets.table import DataTable


class ScheduleView(View):
    key = "schedule"
    title = "Schedule"
    topics = ("scheduler", "health_checker")

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = schedule_model()
        self.table = DataTable(self.model, "schedule", "Loading the schedule…", filter_box=True,
                               max_widths={"provider": 190})
        self.summary = muted("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Schedule"))
        lay.addWidget(muted("Every provider runs on its own interval (Settings → Collection). "
                            "A run is on time when it starts within 10 % of its interval "
                            "(at least 5 s) of its slot; skipped runs were refused by the "
                            "rate limit or an open circuit. On time says nothing about the "
                            "result: Delivered is the share of recent runs that brought "
                            "data."))
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)

    async def refresh(self) -> None:
        rows = (await self.api.schedule())["schedule"]
        for r in rows:  # a run started by hand ("collect now") counts as the last run too
            if not r.get("last_run"):
                r["last_run"] = r.get("last_check")
        self.model.set_rows(rows)
        ran = [r for r in rows if r.get("on_time_percentage") is not None]
        active = sum(1 for r in rows if r.get("active"))
        rates = [r["success_rate"] for r in rows if r.get("success_rate") is not None]
        delivered = (f"; {sum(rates) / len(rates):.0f} % of the recent runs delivered data"
                     if rates else "")
        if ran:
            total = sum(r["on_time_count"] + r["late_count"] + r["skip_count"] for r in ran)
            on_time = sum(r["on_time_count"] for r in ran)
            self.summary.setText(f"{active} active providers · {total} scheduled runs: "
                                 f"{100.0 * on_time / total:.1f} % started on time"
                                 + delivered)
        else:
            self.summary.setText(f"{active} active providers · no scheduled run yet")
