"""Alerts: the list (acknowledge one or all) and, on a second tab, the rules: which
alerts interrupt with a desktop notification (and after how long a provider down is
worth it), and price thresholds."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.ui.alert_rules import KINDS, SEVERITIES
from cryptohub_desktop.ui.hub_state import gate
from cryptohub_desktop.ui.models.activity import alerts_model
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.widgets.table import DataTable

LIMIT = 500


class AlertsView(View):
    key = "alerts"
    title = "Alerts"
    topics = ("alerts",)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rules = ctx.rules
        self.model = alerts_model()
        self.table = DataTable(self.model, "alerts", "No alerts: every provider behaves.",
                               filter_box=True, stretch="message")
        self.only_open = QCheckBox("Unacknowledged only")
        self.only_open.toggled.connect(self.on_only_open_toggled)
        self.ack = QPushButton("Acknowledge")
        self.ack.clicked.connect(self.on_ack_clicked)
        self.ack_all = QPushButton("Acknowledge all")
        self.ack_all.clicked.connect(self.on_ack_all_clicked)
        for w in (self.only_open, self.ack, self.ack_all):
            self.table.tools.insertWidget(self.table.tools.count() - 2, w)
        self.summary = muted("")

        rules = Card("Desktop notifications: what may interrupt you")
        rules.body.addWidget(muted("Every alert is listed on the first tab. A notification pops "
                                   "up only for the kinds ticked here, once per 30 minutes "
                                   "for the same alert, at most 3 per 10 minutes."))
        self.kind_boxes: dict[str, QCheckBox] = {}
        for kind, (label, _) in KINDS.items():
            box = QCheckBox(label)
            box.setChecked(self.rules.notify.get(kind, False))
            box.toggled.connect(lambda on, k=kind: self.on_kind_toggled(k, on))
            self.kind_boxes[kind] = box
            rules.body.addWidget(box)
        down = QHBoxLayout()
        down.addWidget(QLabel("A provider counts as down after"))
        self.down_minutes = QSpinBox()
        self.down_minutes.setRange(0, 24 * 60)
        self.down_minutes.setSuffix(" min")
        self.down_minutes.setValue(int(self.rules.down_minutes))
        self.down_minutes.valueChanged.connect(self.on_down_minutes_changed)
        down.addWidget(self.down_minutes)
        down.addStretch(1)
        rules.body.addLayout(down)
        self.keyed = QCheckBox("Count every provider with a key as one I depend on")
        self.keyed.setToolTip("Others: tick “Notify me when down” in Providers")
        self.keyed.setChecked(self.rules.depend_on_keyed)
        self.keyed.toggled.connect(self.on_keyed_toggled)
        rules.body.addWidget(self.keyed)
        sev = QHBoxLayout()
        sev.addWidget(QLabel("Severity at least"))
        self.severity = QComboBox()
        self.severity.addItems(SEVERITIES)
        self.severity.setCurrentText(self.rules.min_severity)
        self.severity.currentTextChanged.connect(self.on_severity_changed)
        sev.addWidget(self.severity)
        sev.addStretch(1)
        rules.body.addLayout(sev)

        prices = Card("Price thresholds")
        add = QHBoxLayout()
        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("BTC")
        self.symbol.setFixedWidth(70)
        self.direction = QComboBox()
        self.direction.addItems(["above", "below"])
        self.price = QDoubleSpinBox()
        self.price.setRange(0, 1e9)
        self.price.setDecimals(4)
        self.price.setPrefix("$")
        self.price.setMaximumWidth(140)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.on_add_clicked)
        for w in (self.symbol, self.direction, self.price, self.add_button):
            add.addWidget(w)
        prices.body.addLayout(add)
        self.price_list = QListWidget()
        prices.body.addWidget(self.price_list, 1)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.on_remove_clicked)
        prices.body.addWidget(self.remove_button)
        prices.body.addWidget(muted("A threshold fires once when the consensus price crosses "
                                    "it, and again only after it went back."))
        self.rule_message = muted("")
        prices.body.addWidget(self.rule_message)

        listing = QWidget()
        llay = QVBoxLayout(listing)
        llay.setContentsMargins(0, 6, 0, 0)
        llay.addWidget(self.summary)
        llay.addWidget(self.table, 1)
        settings = QWidget()
        slay = QHBoxLayout(settings)
        slay.setContentsMargins(0, 6, 0, 0)
        slay.addWidget(rules, 1)
        slay.addWidget(prices, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(listing, "Alerts")
        self.tabs.addTab(settings, "Notification rules")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Alerts"))
        lay.addWidget(self.tabs, 1)
        self._fill_prices()

    def apply_access(self) -> None:
        for w in (self.ack, self.ack_all):
            w.setEnabled(True)
        gate(self.api, (self.ack, self.ack_all),
             {self.ack: "Mark the selected alert as seen",
              self.ack_all: "Mark every listed alert as seen"})

    async def refresh(self) -> None:
        self._fill_prices()
        rows = (await self.api.alerts(limit=LIMIT,
                                      unacknowledged=self.only_open.isChecked()))["alerts"]
        self.model.set_rows(rows)
        open_n = sum(1 for r in rows if not r["acknowledged"])
        self.summary.setText(f"{open_n} unacknowledged of the {len(rows)} newest alerts"
                             if rows else "")

    @asyncSlot()
    async def on_only_open_toggled(self, _on: bool) -> None:
        await self.refresh()

    @asyncSlot()
    async def on_ack_clicked(self) -> None:
        row = self.table.current_row()
        if row is not None:
            await self.acknowledge([row["id"]])

    @asyncSlot()
    async def on_ack_all_clicked(self) -> None:
        await self.acknowledge([r["id"] for r in self.model.rows if not r["acknowledged"]])

    async def acknowledge(self, ids: list[int]) -> None:
        """Mark alerts as acknowledged (in the database) and refresh."""
        result = await self.api.acknowledge_alerts(ids)
        if not result.ok:
            self.summary.setText(result.message)
            return
        await self.refresh()

    # --- rules ---------------------------------------------------------------------------
    def on_kind_toggled(self, kind: str, on: bool) -> None:
        self.rules.notify[kind] = on
        self.rules.save()

    def on_down_minutes_changed(self, minutes: int) -> None:
        self.rules.down_minutes = float(minutes)
        self.rules.save()

    def on_keyed_toggled(self, on: bool) -> None:
        self.rules.depend_on_keyed = on
        self.rules.save()

    def on_severity_changed(self, severity: str) -> None:
        self.rules.min_severity = severity
        self.rules.save()

    def on_add_clicked(self) -> None:
        symbol = self.symbol.text().strip().upper()
        if not symbol:
            self.rule_message.setText("Enter a symbol, e.g. BTC.")
            return
        try:
            rule = self.rules.add_price(symbol, self.direction.currentText(), self.price.value())
        except ValueError as exc:
            self.rule_message.setText(str(exc).capitalize() + ".")
            return
        self.rule_message.setText(f"Added: {rule.describe()}")
        self._fill_prices()

    def on_remove_clicked(self) -> None:
        item = self.price_list.currentItem()
        if item is None:
            return
        self.rules.remove_price(item.data(Qt.ItemDataRole.UserRole))
        self._fill_prices()

    def _fill_prices(self) -> None:
        self.price_list.clear()
        for rule in self.rules.prices:
            item = QListWidgetItem(rule.describe())
            item.setData(Qt.ItemDataRole.UserRole, rule)
            self.price_list.addItem(item)
        if not self.rules.prices:
            item = QListWidgetItem("No threshold yet: add one above.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.price_list.addItem(item)
