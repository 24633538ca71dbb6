"""The system tray icon: desktop notifications for alerts, and a menu to show the
window, collect now or quit while the window is closed to the tray."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from cryptohub_desktop.ui.alert_rules import AlertRules

_ICONS = {"critical": QSystemTrayIcon.MessageIcon.Critical,
          "warning": QSystemTrayIcon.MessageIcon.Warning,
          "info": QSystemTrayIcon.MessageIcon.Information}


class Tray(QObject):
    """Wraps a :class:`QSystemTrayIcon`.

    Args:
        icon: the app icon.
        rules: decides which alerts become notifications.

    Signals:
        notified(str, str): a notification was shown (title, message).
        show_requested(): the user wants the window.
        collect_requested(): "Collect now" from the tray menu.
        quit_requested(): "Quit" from the tray menu.
    """

    notified = Signal(str, str)
    show_requested = Signal()
    collect_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, rules: AlertRules, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rules = rules
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Crypto Hub Desktop")
        self.menu = QMenu()
        for text, signal in (("Show window", self.show_requested),
                             ("Collect now", self.collect_requested),
                             ("Quit", self.quit_requested)):
            action = QAction(text, self.menu)
            action.triggered.connect(signal.emit)
            self.menu.addAction(action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self.on_icon_activated)
        self.history: list[tuple[str, str]] = []
        if self.available():
            self.icon.show()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()

    def on_bridge_alert(self, alert: dict[str, Any]) -> None:
        """An alert was stored: notify if the rules say so."""
        if not self.rules.notify_for(alert):
            return
        severity = str(alert.get("severity") or "info")
        kind = str(alert.get("alert_type") or "alert").replace("_", " ")
        title = f"{severity.capitalize()}: {kind}"
        self.notify(title, str(alert.get("message") or ""), severity)

    def notify(self, title: str, message: str, severity: str = "info") -> None:
        """Show a desktop notification (recorded even where no tray exists)."""
        self.history.append((title, message))
        del self.history[:-50]
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(title, message, _ICONS.get(severity, _ICONS["info"]), 8000)
        self.notified.emit(title, message)

    def hide(self) -> None:
        self.icon.hide()
