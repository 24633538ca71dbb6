"""The providers page's details pane: one provider's status and why, response-time
history, recent failures, and its actions (enable/disable, collect now, add key,
notify me when it is down)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from qasync import asyncSlot

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.hub_state import gate, remote
from cryptohub_desktop.ui.models.activity import failures_model
from cryptohub_desktop.ui.theme import RED, SERIES, Theme, set_role, status_color, status_label
from cryptohub_desktop.ui.views.base import muted
from cryptohub_desktop.ui.widgets.export import ask_path, widget_to_png, write_csv
from cryptohub_desktop.ui.widgets.table import DataTable
from cryptohub_desktop.ui.widgets.time_axis import TimeAxis

EMPTY_MS_RANGE = (0.0, 1000.0)


class MsAxis(pg.AxisItem):
    """Milliseconds as whole numbers ("250", "1,000"), never "00.250"."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{v:,.0f}" for v in values]


class ProviderDetails(QWidget):
    """Details of the selected provider.

    Signals:
        add_key(str): the user wants to enter this keychain entry (in Settings).
        ran(str, str): "Collect now" finished (provider id, status).
        toggled(str, bool): the provider was enabled/disabled.
    """

    add_key = Signal(str)
    ran = Signal(str, str)
    toggled = Signal(str, bool)

    def __init__(self, api: HubApi, theme: Theme, rules: AlertRules | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.rules = rules
        self.key_names = {p.id: p.key_names for p in api.catalogue()}
        self.theme = theme
        self.pid: str | None = None
        self.title = QLabel("Select a provider")
        set_role(self.title, "title")
        self.summary = muted("Pick a row above to see its response times and failures.")
        self.enabled = QCheckBox("Enabled")
        self.enabled.toggled.connect(self.on_enabled_toggled)
        self.depends = QCheckBox("Notify me when down")
        self.depends.setToolTip("A desktop notification when this provider stays offline "
                                "for longer than the time set on the Alerts page")
        self.depends.toggled.connect(self.on_depends_toggled)
        self.depends.setEnabled(False)
        self.collect = QPushButton("Collect now")
        self.collect.clicked.connect(self.on_collect_clicked)
        self.key_button = QPushButton("Add key…")
        self.key_button.clicked.connect(self.on_key_button_clicked)
        self.export_png = QPushButton("PNG…")
        self.export_png.setToolTip("Export the response-time chart as PNG")
        self.export_png.clicked.connect(self.on_png_clicked)
        self.export_csv = QPushButton("CSV…")
        self.export_csv.setToolTip("Export the response-time history as CSV")
        self.export_csv.clicked.connect(self.on_csv_clicked)
        self.result = muted("")
        for w in (self.enabled, self.collect, self.key_button):
            w.setEnabled(False)
        self.key_button.hide()
        self.plot = pg.PlotWidget(axisItems={"bottom": TimeAxis(),
                                             "left": MsAxis(orientation="left")})
        self.plot.setMinimumHeight(150)
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        self.plot.getPlotItem().setLabel("left", "ms")
        self.plot.getPlotItem().hideButtons()
        self.no_data = pg.TextItem("No requests yet", anchor=(0.5, 0.5), color=(130, 130, 130))
        self.plot.addItem(self.no_data, ignoreBounds=True)
        self.curve = self.plot.plot(pen=pg.mkPen(SERIES[0], width=1.5), symbol="o",
                                    symbolSize=5, symbolBrush=SERIES[0], symbolPen=None)
        self.fails = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(RED, width=2),
                                        brush=None)
        self.plot.addItem(self.fails)
        self.failures = failures_model(with_provider=False)
        self.failures_table = DataTable(self.failures, "provider-failures",
                                        "No failures recorded for this provider.")
        theme.changed.connect(self.on_theme_changed)
        self.on_theme_changed(theme.dark)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        for w in (self.key_button, self.depends, self.enabled, self.collect):
            head.addWidget(w)
        charts = QHBoxLayout()
        left = QVBoxLayout()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Response time</b> (failures in red)"))
        bar.addStretch(1)
        bar.addWidget(self.export_csv)
        bar.addWidget(self.export_png)
        left.addLayout(bar)
        left.addWidget(self.plot, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Recent failures</b>"))
        right.addWidget(self.failures_table, 1)
        charts.addLayout(left, 1)
        charts.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.summary)
        lay.addWidget(self.result)
        lay.addLayout(charts, 1)
        self._attempts: list[dict[str, Any]] = []
        self._row: dict[str, Any] | None = None

    def on_theme_changed(self, _dark: bool) -> None:
        bg, fg = self.theme.plot_colors()
        self.plot.setBackground(bg)
        for name in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(name).setTextPen(pg.mkPen(fg))

    def show_row(self, row: dict[str, Any]) -> None:
        """Fill the header from a providers-table row (no database read)."""
        self.pid = row["id"]
        color = status_color(row["status"]).name()
        self.title.setText(f"{row['name']} <span style='color:{color}'>● "
                           f"{status_label(row['status'])}</span>")
        parts = [f"id {row['id']}", str(row["category"]).replace("_", " "),
                 f"pool {row.get('pool', '')}", row.get("rate_text") or ""]
        if row.get("status_reason"):
            parts.insert(0, str(row["status_reason"]))
        if row.get("consecutive_failures") and "in a row" not in str(row.get("status_reason")):
            parts.append(f"{row['consecutive_failures']} failures in a row")
        if row.get("circuit_open"):
            parts.append("circuit open (backing off)")
        self.summary.setText(" · ".join(p for p in parts if p))
        self.enabled.blockSignals(True)
        self.enabled.setChecked(bool(row.get("enabled", True)))
        self.enabled.blockSignals(False)
        if self.rules is not None:
            self.depends.blockSignals(True)
            self.depends.setChecked(self.rules.depends_on(row["id"],
                                                          row.get("key_state") == "present"))
            self.depends.blockSignals(False)
            self.depends.setEnabled(True)
        self._row = row
        missing = row.get("key_state") == "missing"
        self.key_button.setVisible(missing and not remote(self.api))  # a hub keeps its keys
        names = self.key_names.get(row["id"], ())
        self.key_button.setToolTip(f"Store {names[0]} in the keychain" if names else "")
        self.key_button.setEnabled(True)
        self.apply_access()

    def apply_access(self) -> None:
        """Enable / disable and collect now, as far as this run may act (a read-only hub
        token may not: the buttons say why)."""
        row = self._row
        if row is None:
            return
        missing = row.get("key_state") == "missing"
        self.enabled.setEnabled(True)
        self.collect.setEnabled(not missing and bool(row.get("enabled", True)))
        gate(self.api, (self.enabled, self.collect),
             {self.enabled: "Collect this provider on its schedule",
              self.collect: "Run this provider once now"})

    async def load(self) -> None:
        """Read the provider's request history and failures."""
        if self.pid is None or not self.api.ready:
            return
        act = await self.api.provider_activity(self.pid)
        self._attempts = act["attempts"]
        ok = [(fmt.when(a["timestamp"]), a["response_time_ms"]) for a in act["attempts"]
              if a["status"] == "success" and a["response_time_ms"] is not None]
        bad = [(fmt.when(a["timestamp"]), a["response_time_ms"] or 0.0) for a in act["attempts"]
               if a["status"] != "success"]
        if ok:
            self.curve.setData(np.array([t.timestamp() for t, _ in ok]),
                               np.array([v for _, v in ok], dtype=float))
        else:
            self.curve.setData([], [])
        self.fails.setData([t.timestamp() for t, _ in bad], [v for _, v in bad])
        times = [t.timestamp() for t, _ in ok + bad]
        if times:  # at least 10 minutes wide, so the time axis reads as clock times
            hi, lo = max(times), min(times)
            if hi - lo < 600:
                lo = hi - 600
            self.plot.setXRange(lo - 30, hi + 30, padding=0)
            self.plot.enableAutoRange(axis="y")
            self.no_data.hide()
        else:  # a sane empty chart: the last 10 minutes, 0-1,000 ms, and why it is empty
            now = utcnow().timestamp()
            self.plot.setXRange(now - 600, now, padding=0)
            self.plot.setYRange(*EMPTY_MS_RANGE, padding=0)
            self.no_data.setPos(now - 300, EMPTY_MS_RANGE[1] / 2)
            self.no_data.show()
        self.failures.set_rows(act["failures"])

    def on_depends_toggled(self, on: bool) -> None:
        if self.pid is not None and self.rules is not None:
            self.rules.set_depends(self.pid, on)

    def on_enabled_toggled(self, on: bool) -> None:
        self._set_enabled(on)

    @asyncSlot()
    async def _set_enabled(self, on: bool) -> None:
        if self.pid is None:
            return
        result = await self.api.set_enabled(self.pid, on)
        self.result.setText(result.message)
        self.collect.setEnabled(bool(result.data.get("active")))
        gate(self.api, (self.collect,))
        self.toggled.emit(self.pid, on)

    @asyncSlot()
    async def on_collect_clicked(self) -> None:
        await self.collect_now()

    async def collect_now(self) -> str:
        """Run the provider once now; returns its status."""
        if self.pid is None:
            return "none"
        pid = self.pid
        self.collect.setEnabled(False)
        self.result.setText(f"Collecting {pid}…")
        try:
            res = await self.api.collect_now(pid)
        finally:
            self.collect.setEnabled(True)
            gate(self.api, (self.collect,))
        status = str(res.data.get("status", "failure"))
        self.result.setText(res.message)
        self.ran.emit(pid, status)
        await self.load()
        return status

    def on_key_button_clicked(self) -> None:
        if self.pid is not None:
            names = self.key_names.get(self.pid, ())
            if names:
                self.add_key.emit(names[0])

    def on_png_clicked(self) -> None:
        ask_path(self, "Export chart", f"{self.pid}-response-times.png", "PNG images (*.png)",
                 lambda p: widget_to_png(self.plot, p))

    def on_csv_clicked(self) -> None:
        rows = [[a["timestamp"], a["status"], a["response_time_ms"], a["http_status_code"],
                 a["error_type"]] for a in self._attempts]
        ask_path(self, "Export history", f"{self.pid}-attempts.csv", "CSV files (*.csv)",
                 lambda p: write_csv(p, ["timestamp", "status", "response_time_ms",
                                         "http_status_code", "error_type"], rows))
