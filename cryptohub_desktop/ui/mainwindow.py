"""The main window: a menu bar, a sidebar of views, the pages, the status bar, and a
banner when this machine is offline.

Bus events (through :class:`~cryptohub_desktop.ui.bridge.HubBridge`) mark the
pages that show that topic as stale; the visible page refreshes within 250 ms,
hidden pages when shown. Closing the window hides it to the tray when a tray
exists and the user did not turn that off; collection goes on.

Keyboard: Ctrl+1 … Ctrl+9 and Ctrl+0 switch views (in sidebar order), F5 / Ctrl+R
refreshes the page, Ctrl+F finds (the page's filter or search box), Ctrl+B backfills
history, Ctrl+Shift+R collects now, F1 shows "Getting started", Ctrl+Q quits.
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.hub_state import HubBanner, connected, gate, remote
from cryptohub_desktop.ui.statusbar import HubStatusBar
from cryptohub_desktop.ui.tray import Tray
from cryptohub_desktop.ui.views import VIEWS
from cryptohub_desktop.ui.views.backfill import BackfillDialog
from cryptohub_desktop.ui.views.base import View

#: the smallest window that stays usable (a 1024 x 768 screen minus panels)
MIN_SIZE = (960, 620)
SHORTCUTS = [("Ctrl+1 … Ctrl+0", "switch views, in sidebar order"),
             ("F5 or Ctrl+R", "refresh the page"), ("Ctrl+F", "find on the page"),
             ("Ctrl+B", "backfill price history"), ("Ctrl+Shift+R", "collect now"),
             ("F1", "getting started"), ("Ctrl+W", "close the window (to the tray)"),
             ("Ctrl+Q", "quit")]


class OfflineBanner(QFrame):
    """Says once, above every page, that this machine is offline."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ctx.theme.style(self, "banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.details = QPushButton("Providers…")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.details)
        self.hide()

    def show_state(self, net: dict[str, Any]) -> None:
        if net.get("online", True):
            self.hide()
            return
        since = fmt.short(net.get("since")) if net.get("since") else "a moment ago"
        n = len(net.get("unreachable_providers") or [])
        self.label.setText(
            f"<b>This computer is offline</b> — no data provider could be reached since "
            f"{since} ({n} tried). Collection goes on and recovers by itself when the "
            "network is back; what you see meanwhile is the last known data, with its age.")
        self.show()

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
        self.setMinimumSize(*MIN_SIZE)
        self.nav = QListWidget()
        ctx.theme.style(self.nav, "nav")
        self.nav.setFixedWidth(164)
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
        self.banner = OfflineBanner(ctx)
        self.banner.details.clicked.connect(lambda: self.show_view("providers"))
        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.setContentsMargins(0, 0, 0, 0)
        rlay.setSpacing(0)
        rlay.addWidget(self.banner)
        self.hub_banner = HubBanner(ctx.theme)
        rlay.addWidget(self.hub_banner)
        rlay.addWidget(self.stack, 1)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.nav)
        lay.addWidget(right, 1)
        self.setCentralWidget(central)
        self.status = HubStatusBar(ctx.api, ctx.server, self)
        self.setStatusBar(self.status)
        self.backfill_dialog: BackfillDialog | None = None
        self._build_menus()
        ctx.bridge.event.connect(self.on_bridge_event)
        ctx.bridge.status_changed.connect(lambda *_: self.status.refresh())
        ctx.bridge.hub_state.connect(self.on_bridge_hub_state)
        self.status.refreshed.connect(self.banner.show_state)
        for view in self.views.values():
            view.status_message.connect(self.say)
            if hasattr(view, "backfill_requested"):
                view.backfill_requested.connect(self.open_backfill)  # type: ignore[attr-defined]
        self._prices = QTimer(self)
        self._prices.setSingleShot(True)
        self._prices.setInterval(500)
        self._prices.timeout.connect(self.on_prices_timeout)
        for view in self.views.values():
            if hasattr(view, "open_view"):
                view.open_view.connect(self.show_view)  # type: ignore[attr-defined]
        self.resize(1280, 820)
        self._network_shown = True
        geometry = ctx.state.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.show_view(ctx.state.view if ctx.state.view in self.views else "dashboard")
        self.on_bridge_hub_state(ctx.api.state)

    # --- menus -----------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.actions: dict[str, QAction] = {}

        def act(menu: Any, name: str, text: str, slot: Any, keys: Any = None) -> QAction:
            a = QAction(text, self)
            if keys is not None:
                seqs = keys if isinstance(keys, list) else [keys]
                a.setShortcuts([QKeySequence(k) for k in seqs])
            a.triggered.connect(lambda *_: slot())
            menu.addAction(a)
            self.actions[name] = a
            return a

        f = bar.addMenu("&File")
        act(f, "backfill", "&Backfill price history…", self.open_backfill, "Ctrl+B")
        act(f, "collect", "&Collect all providers now", self.collect_now, "Ctrl+Shift+R")
        f.addSeparator()
        act(f, "close", "&Close window", self.close, QKeySequence.StandardKey.Close)
        act(f, "quit", "&Quit", self.quit, QKeySequence.StandardKey.Quit)
        v = bar.addMenu("&View")
        for i, (key, view) in enumerate(self.views.items()):
            act(v, f"view:{key}", view.title, lambda k=key: self.show_view(k),
                f"Ctrl+{(i + 1) % 10}" if i < 10 else None)
        v.addSeparator()
        act(v, "refresh", "&Refresh", self.refresh_current, ["F5", "Ctrl+R"])
        act(v, "find", "&Find…", self.find, QKeySequence.StandardKey.Find)
        h = bar.addMenu("&Help")
        act(h, "getting_started", "&Getting started", self.show_getting_started, "F1")
        act(h, "shortcuts", "&Keyboard shortcuts", self.show_shortcuts, "Ctrl+/")
        h.addSeparator()
        act(h, "about", "&About Crypto Hub Desktop", self.show_about)

    def quit(self) -> None:
        self.quitting = True
        self.close()

    def collect_now(self) -> None:
        self.say("Collecting from every provider…")
        try:
            task = asyncio.ensure_future(self.ctx.api.collect_all())
        except RuntimeError:
            return
        task.add_done_callback(
            lambda t: None if t.cancelled() or t.exception() else self.say(t.result().message))

    def refresh_current(self) -> None:
        view = self.current_view()
        view.poke()
        if hasattr(view, "reload"):
            view.reload()  # type: ignore[attr-defined]
        self.status.refresh()

    def find(self) -> QLineEdit | None:
        """Focus the current page's search or filter box; returns it."""
        view = self.current_view()
        box = getattr(view, "find_box", None)
        box = box() if callable(box) else None
        if box is None:
            box = next((w for w in view.findChildren(QLineEdit)
                        if w.isVisible() and w.placeholderText().lower().startswith(
                            ("filter", "search", "find"))), None)
        if box is not None:
            box.setFocus()
            box.selectAll()
        else:
            self.say("Nothing to search on this page.")
        return box

    def open_backfill(self, symbols: list[str] | None = None) -> BackfillDialog:
        """The backfill dialog (one, non-modal)."""
        if self.backfill_dialog is None:
            self.backfill_dialog = BackfillDialog(self.ctx.api, self)
            self.backfill_dialog.finished_run.connect(self.say)
        if symbols:
            self.backfill_dialog.symbols.setText(", ".join(symbols))
        self.backfill_dialog.apply_access()
        self.backfill_dialog.show()
        self.backfill_dialog.raise_()
        return self.backfill_dialog

    def show_getting_started(self) -> None:
        view = self.show_view("dashboard")
        view.show_welcome(True)  # type: ignore[attr-defined]

    def show_shortcuts(self) -> QMessageBox:
        rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>"
                       for k, v in SHORTCUTS)
        return self._info("Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> QMessageBox:
        return self._info(
            "About Crypto Hub Desktop",
            f"<h3>Crypto Hub Desktop {_version()}</h3>"
            "<p>Watches the crypto market through public data providers, stores what it "
            "sees on this computer, checks every provider's health and serves it all to "
            "your own scripts on localhost.</p>"
            "<p>Keys stay in the OS keychain. Data and logs: Settings shows the folders. "
            "Every table and chart exports to CSV (charts also to PNG).</p>")

    def _info(self, title: str, html: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, title, html,
                          QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): no nested event loop under qasync
        return box

    def say(self, text: str) -> None:
        """A passing message in the status bar (exports, backfill, collect)."""
        self.status.showMessage(text, 8000)

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
            if view.wants(topic, data):
                view.poke()
        if topic == "health_checker" and data.get("event") == "network":
            self.show_network(data)
        if topic == "market_data" and self.ctx.rules.prices and not self._prices.isActive():
            self._prices.start()

    def on_bridge_hub_state(self, _state: str) -> None:
        """The hub connection changed: say so, gate the actions, re-read when it is back."""
        api = self.ctx.api
        self.hub_banner.show_state(api)
        self.status.refresh()
        menu = [self.actions["backfill"], self.actions["collect"]]
        if self.tray is not None:
            menu.append(self.tray.collect_action)
        for action in menu:
            action.setEnabled(True)
        gate(api, menu)
        if self.backfill_dialog is not None:
            self.backfill_dialog.apply_access()
        for view in self.views.values():
            view.apply_access()
            if connected(api):
                view.poke()

    def show_network(self, net: dict[str, Any] | None = None) -> None:
        """Show or hide the offline banner (from an event, or the hub's memory)."""
        self.banner.show_state(net if net is not None else self.ctx.api.network())
        self.status.refresh()

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
                if remote(self.ctx.api):
                    self.tray.notify("Still attached to the hub",
                                     "Crypto Hub keeps following the hub in the tray. "
                                     "Use Quit in the tray menu to stop it.")
                else:
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


def _version() -> str:
    try:
        return version("cryptohub-desktop")
    except PackageNotFoundError:  # a source checkout without metadata
        return ""
