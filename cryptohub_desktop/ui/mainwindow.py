"""The main window: a sidebar of views, the pages, the status bar.

Bus events (through :class:`~cryptohub_desktop.ui.bridge.HubBridge`) mark the
pages that show that topic as stale; the visible page refreshes within 250 ms,
hidden pages when shown. Closing the window hides it to the tray when a tray
exists and the user did not turn that off; collection goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.statusbar import HubStatusBar
from cryptohub_desktop.ui.tray import Tray
from cryptohub_desktop.ui.views import VIEWS
from cryptohub_desktop.ui.views.base import View

log = logging.getLogger("cryptohub.ui")


class MainWindow(QMainWindow):
    """The window.

    Args:
        ctx: the hub and UI services.
        tray: the tray icon (None: no tray, closing quits).

    Signals:
        first_painted(): the window was painted for the first time.
        quit_requested(): the user wants the app to end (close without tray, or Quit).
    """

    first_painted = Signal()
    quit_requested = Signal()

    def __init__(self, ctx: UiContext, tray: Tray | None = None,
                 icon: QIcon | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.tray = tray
        self.quitting = False
        self._painted = False
        self._told_tray = False
        self.setWindowTitle("Crypto Hub Desktop")
        if icon is not None:
            self.setWindowIcon(icon)
        self.nav = QListWidget()
        ctx.theme.style(self.nav, "nav")
        self.nav.setFixedWidth(184)
        self.nav.setIconSize(QSize(0, 0))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.views: dict[str, View] = {}
        for cls in VIEWS:
            view = cls(ctx)
            self.views[view.key] = view
            self.stack.addWidget(view)
            item = QListWidgetItem(view.title)
            item.setData(Qt.ItemDataRole.UserRole, view.key)
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.on_nav_row_changed)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.nav)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.status = HubStatusBar(ctx.api, ctx.server, self)
        self.setStatusBar(self.status)
        ctx.bridge.event.connect(self.on_bridge_event)
        self._prices = QTimer(self)
        self._prices.setSingleShot(True)
        self._prices.setInterval(500)
        self._prices.timeout.connect(self.on_prices_timeout)
        for view in self.views.values():
            if hasattr(view, "open_view"):
                view.open_view.connect(self.show_view)  # type: ignore[attr-defined]
        self.resize(1280, 820)
        geometry = ctx.state.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.show_view(ctx.state.view if ctx.state.view in self.views else "dashboard")

    # --- navigation ------------------------------------------------------------------
    def show_view(self, key: str, focus: Any = None) -> View:
        """Switch to the page ``key`` (``focus``: something to select there)."""
        view = self.views[key]
        row = list(self.views).index(key)
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
        if focus is not None and hasattr(view, "focus_item"):
            view.focus_item(focus)
        return view

    def on_nav_row_changed(self, row: int) -> None:
        if row < 0:
            return
        key = self.nav.item(row).data(Qt.ItemDataRole.UserRole)
        self.stack.setCurrentWidget(self.views[key])
        self.ctx.state.view = key

    def current_view(self) -> View:
        return self.stack.currentWidget()  # type: ignore[return-value]

    # --- events ----------------------------------------------------------------------
    def on_bridge_event(self, topic: str, data: dict[str, Any]) -> None:
        for view in self.views.values():
            if topic in view.topics:
                view.poke()
        if topic == "market_data" and self.ctx.rules.prices and not self._prices.isActive():
            self._prices.start()

    def on_prices_timeout(self) -> None:
        """Check the price-threshold rules against the hub's consensus prices."""
        for rule, price in self.ctx.rules.check_prices(self.ctx.api.prices()):
            msg = f"{rule.describe()}: consensus price is now {price:,.6g}"
            try:
                asyncio.ensure_future(self.ctx.api.raise_alert("price_threshold", "warning", msg))
            except RuntimeError:
                log.warning("price alert not stored (no loop): %s", msg)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.first_painted.emit)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_state()
        if (not self.quitting and self.tray is not None and self.tray.available()
                and self.ctx.state.close_to_tray):
            event.ignore()
            self.hide()
            if not self._told_tray:
                self._told_tray = True
                self.tray.notify("Still collecting",
                                 "Crypto Hub keeps collecting in the tray. "
                                 "Use Quit in the tray menu to stop it.")
            return
        event.accept()
        self.quit_requested.emit()

    def save_state(self) -> None:
        self.ctx.state.geometry = self.saveGeometry()
        self.ctx.state.sync()

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()
