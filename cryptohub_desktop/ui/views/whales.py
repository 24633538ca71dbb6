"""Whales: recent large transactions, filtered by chain and value."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from qasync import asyncSlot

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.data import whales_model
from cryptohub_desktop.ui.views.base import View, heading, muted
from cryptohub_desktop.ui.widgets.table import DataTable

LIMIT = 500


class WhalesView(View):
    key = "whales"
    title = "Whales"
    topics = ("whale_tracking",)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = whales_model()
        self.table = DataTable(self.model, "whales",
                               "No whale transactions yet: whale collectors run every 5 "
                               "minutes (Whale Alert needs a key; the ETH and BTC scanners "
                               "do not).", filter_box=True, stretch="source")
        self.chain = QComboBox()
        self.chain.addItem("all chains", None)
        self.chain.currentIndexChanged.connect(self.on_filter_changed)
        self.min_usd = QDoubleSpinBox()
        self.min_usd.setRange(0, 1e12)
        self.min_usd.setDecimals(0)
        self.min_usd.setSingleStep(100000)
        self.min_usd.setPrefix("≥ $")
        self.min_usd.setSpecialValueText("any value")
        self.min_usd.editingFinished.connect(self.on_filter_changed)
        self.summary = muted("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Chain"))
        bar.addWidget(self.chain)
        bar.addWidget(QLabel("Value"))
        bar.addWidget(self.min_usd)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Whale transactions"))
        lay.addLayout(bar)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        self._chains: set[str] = set()

    async def refresh(self) -> None:
        chain = self.chain.currentData()
        min_usd = self.min_usd.value() or None
        rows = (await self.api.whales(min_usd=min_usd, chain=chain, limit=LIMIT))[
            "whales"]
        self.model.set_rows(rows)
        for r in rows:
            if r["blockchain"] not in self._chains:
                self._chains.add(r["blockchain"])
                self.chain.addItem(r["blockchain"], r["blockchain"])
        if rows:
            usd = [r["amount_usd"] for r in rows if r.get("amount_usd")]
            biggest = max(rows, key=lambda r: r.get("amount_usd") or 0)
            self.summary.setText(
                f"{len(rows)} transactions · {fmt.compact(sum(usd), '$')} in total · largest "
                f"{fmt.compact(biggest.get('amount_usd'), '$')} "
                f"({fmt.number(biggest['amount'], 2)} {biggest['symbol']} on "
                f"{biggest['blockchain']})")
        else:
            self.summary.setText("")

    @asyncSlot()
    async def on_filter_changed(self, *_: object) -> None:
        await self.refresh()
