"""Backfill from the GUI: fetch past candles for the watchlist with a progress bar and
Cancel (``HubApi.backfill``, the same work as ``cryptohub-desktop backfill``).

The dialog is not modal (no nested event loop under qasync): the window stays usable
while it runs. Cancel stops after the series in flight; what was stored stays, and the
next backfill only fetches what is still missing.
"""

from __future__ import annotations

import asyncio
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cryptohub_desktop.api.protocol import ActionResult, HubApi
from cryptohub_desktop.ui.hub_state import gate
from cryptohub_desktop.ui.views.base import muted


class BackfillDialog(QDialog):
    """Symbols, days, a progress bar, Start / Cancel / Close.

    Signals:
        finished_run(str): a backfill ended (one line: what was stored, or cancelled).
    """

    finished_run = Signal(str)

    def __init__(self, api: HubApi, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.setWindowTitle("Backfill price history")
        self.setModal(False)
        self.symbols = QLineEdit(", ".join(api.watchlist))
        self.symbols.setPlaceholderText("BTC, ETH")
        self.days = QSpinBox()
        self.days.setRange(1, 3650)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%v of %m series")
        self.label = muted("Fetches hourly and daily candles from the providers that offer "
                           "history (Binance, Kraken, CoinGecko, CryptoCompare …), only the "
                           "ranges not stored yet, within each provider's rate limit.")
        self.label.setMinimumWidth(420)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start = QPushButton("Start")
        self.start.setDefault(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.start.clicked.connect(self.on_start_clicked)
        self.cancel.clicked.connect(self.on_cancel_clicked)
        self.close_button.clicked.connect(self.close)
        form = QFormLayout()
        form.addRow("Symbols", self.symbols)
        form.addRow("Last", self.days)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start, self.cancel, self.close_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addLayout(form)
        lay.addWidget(self.bar)
        lay.addWidget(self.result)
        lay.addLayout(buttons)
        self.task: asyncio.Task[ActionResult] | None = None

    def apply_access(self) -> None:
        """Start only when this run may act (a read-only hub token may not: it says why)."""
        running = self.task is not None and not self.task.done()
        self.start.setEnabled(not running)
        gate(self.api, (self.start,), {self.start: "Fetch the missing candles"})

    def wanted(self) -> list[str]:
        return [s for s in re.split(r"[\s,;]+", self.symbols.text().upper()) if s]

    def on_start_clicked(self) -> None:
        try:
            self.task = asyncio.ensure_future(self.run())
        except RuntimeError:  # no loop
            self.task = None

    def on_cancel_clicked(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def on_progress(self, done: int, total: int, label: str) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.result.setText(f"{label}")

    async def run(self) -> ActionResult:
        """Backfill with the form's values, showing progress; returns the result."""
        symbols = self.wanted()
        if not symbols:
            self.result.setText("Enter at least one symbol, e.g. BTC.")
            return ActionResult(False, "no symbol", {})
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.bar.setRange(0, 0)  # busy until the first series reports
        self.result.setText("Starting…")
        try:
            res = await self.api.backfill(symbols, self.days.value(), self.on_progress)
        except asyncio.CancelledError:
            text = "Backfill cancelled: what was fetched so far is kept."
            self._done(text)
            self.finished_run.emit(text)
            return ActionResult(False, text, {"cancelled": True})
        finally:
            self.start.setEnabled(True)
            gate(self.api, (self.start,))
            self.cancel.setEnabled(False)
        errors = res.data.get("errors") or []
        text = res.message + (f"\nFirst error: {errors[0]}" if errors else "")
        self._done(text)
        self.finished_run.emit(res.message)
        return res

    def _done(self, text: str) -> None:
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
        self.result.setText(text)
