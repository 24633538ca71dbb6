"""Editing the watchlist from the Dashboard: search the symbol map, add, remove, reorder.

The search offers every symbol of the bundled symbol map (``HubApi.symbols``: "BTC —
Bitcoin, 14 providers"); a symbol the map lacks can still be typed (collectors that
list a provider's assets resolve it at run time). Saving writes ``[watchlist] symbols``
to the config file (comments kept) and applies it to the running hub at once.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import ConfigError
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.views.base import muted
from cryptohub_desktop.ui.views.settings_io import save_settings

SYMBOL = re.compile(r"[A-Z0-9]{1,12}")
MAX_SYMBOLS = 50


class WatchlistDialog(QDialog):
    """The watchlist editor (not modal).

    Signals:
        saved(list): the new watchlist was written and applied (its symbols).
    """

    saved = Signal(list)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.api = ctx.api
        self.setWindowTitle("Edit the watchlist")
        self.setModal(False)
        self.known = {s["symbol"]: s for s in self.api.symbols()}
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search a symbol or name: BTC, solana …")
        labels = [self.label(s) for s in sorted(self.known)]
        completer = QCompleter(QStringListModel(labels, self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self.on_completer_activated)
        self.search.setCompleter(completer)
        self.search.returnPressed.connect(self.on_add_clicked)
        self.add = QPushButton("Add")
        self.add.clicked.connect(self.on_add_clicked)
        self.list = QListWidget()
        self.list.addItems(list(self.api.watchlist))
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self.on_remove_clicked)
        self.up = QPushButton("Move up")
        self.up.clicked.connect(lambda: self.move(-1))
        self.down = QPushButton("Move down")
        self.down.clicked.connect(lambda: self.move(1))
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.on_save_clicked)
        cancel = QPushButton("Close")
        cancel.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.add)
        side = QVBoxLayout()
        for b in (self.up, self.down, self.remove):
            side.addWidget(b)
        side.addStretch(1)
        mid = QHBoxLayout()
        mid.addWidget(self.list, 1)
        mid.addLayout(side)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(cancel)
        lay = QVBoxLayout(self)
        lay.addWidget(muted(f"{len(self.known)} symbols are mapped for every provider; others "
                            "are looked up in each provider's own listing."))
        lay.addLayout(top)
        lay.addLayout(mid, 1)
        lay.addLayout(bottom)
        self.resize(460, 420)

    def label(self, symbol: str) -> str:
        s = self.known.get(symbol)
        return f"{symbol} — {s['name']} ({s['providers']} providers)" if s else symbol

    def symbols(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def on_completer_activated(self, text: str) -> None:
        self.search.setText(text)
        self.on_add_clicked()

    def on_add_clicked(self) -> None:
        self.add_symbol(self.search.text())

    def add_symbol(self, text: str) -> bool:
        """Add the symbol typed or picked ("SOL — Solana (12 providers)" or "sol")."""
        raw = text.split("—")[0].strip().upper()
        if not raw:
            return False
        if not SYMBOL.fullmatch(raw):
            self.message.setText(f"“{raw}” is not a ticker symbol (letters and digits).")
            return False
        if raw in self.symbols():
            self.message.setText(f"{raw} is on the watchlist already.")
            return False
        if self.list.count() >= MAX_SYMBOLS:
            self.message.setText(f"At most {MAX_SYMBOLS} symbols.")
            return False
        self.list.addItem(raw)
        self.search.clear()
        self.message.setText(f"{raw} added" + ("" if raw in self.known else
                                               " (not in the symbol map: providers that "
                                               "list it will be asked)") + ". Save to keep it.")
        return True

    def on_remove_clicked(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)

    def move(self, step: int) -> None:
        row = self.list.currentRow()
        to = row + step
        if row < 0 or not 0 <= to < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(to, item)
        self.list.setCurrentRow(to)

    @asyncSlot()
    async def on_save_clicked(self) -> None:
        await self.save()

    async def save(self) -> bool:
        """Write the watchlist to the config file and apply it; False with a message if
        it could not be saved."""
        symbols = self.symbols()
        if not symbols:
            self.message.setText("Keep at least one symbol.")
            return False
        cfg: Config = self.ctx.extra["config"]  # type: ignore[assignment]
        try:
            new, _ = await asyncio.to_thread(
                save_settings, cfg, {"watchlist": {"symbols": symbols}},
                forbidden=set(self.ctx.secrets.seen),
                known_providers={p.id for p in self.api.catalogue()})
        except ConfigError as exc:
            self.message.setText(f"Not saved: {exc}")
            return False
        self.ctx.extra["config"] = new
        await self.api.apply_config(new)
        self.message.setText(f"Saved: {', '.join(symbols)}")
        self.saved.emit(symbols)
        return True

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.search.setFocus()
