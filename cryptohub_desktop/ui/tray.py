"""The system tray icon: desktop notifications for the alerts worth an interruption
(:mod:`cryptohub_desktop.ui.notify_policy`), and a menu to show the window, collect now
or quit while the window is closed to the tray."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.notify_policy import Decision, NotifyPolicy

log = logging.getLogger("cryptohub.ui")
TITLES = {"price_threshold": "Price alert", "provider_down": "Provider down",
          "quota": "Quota running out", "storage_error": "Database cannot be written",
          "provider_recovered": "Provider back", "rate_limit_warning": "Rate limit busy",
          "staleness": "Stale data", "price_deviation": "Source deviates"}

_ICONS = {"critical": QSystemTrayIcon.MessageIcon.Critical,
          "warning": QSystemTrayIcon.MessageIcon.Warning,
          "info": QSystemTrayIcon.MessageIcon.Information}


class Tray(QObject):
    """Wraps a :class:`QSystemTrayIcon`.

    Args:
        icon: the app icon.
        rules: decides which alerts become notifications.
        api: the hub, asked whether a provider is still down after the wait.

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

    def __init__(self, icon: QIcon, rules: AlertRules, api: HubApi | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rules = rules
        self.api = api
        self.policy = NotifyPolicy(rules)
        self._waiting: dict[str, QTimer] = {}
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Crypto Hub Desktop")
        self.menu = QMenu()
        for text, signal in (("Show window", self.show_requested),
                             ("Collect now", self.collect_requested),
                             ("Quit", self.quit_requested)):
            action = QAction(text, self.menu)
            action.triggered.connect(signal.emit)
            self.menu.addAction(action)
            if signal is self.collect_requested:
                self.collect_action = action
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
        """An alert was stored: notify if the policy says it is worth an interruption."""
        decision = self.policy.decide(alert)
        if decision.action == "wait":
            pid = str(alert.get("provider_id") or "")
            old = self._waiting.pop(pid, None)
            if old is not None:
                old.stop()
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(int(decision.wait_seconds * 1000))
            timer.timeout.connect(lambda a=alert: self._check_down(a))
            self._waiting[pid] = timer
            timer.start()
            return
        self._apply(alert, decision)

    def on_bridge_status_changed(self, provider_id: str, status: str) -> None:
        """A provider back before its wait ended: nothing to say."""
        if status != "offline":
            timer = self._waiting.pop(provider_id, None)
            if timer is not None:
                timer.stop()
                timer.deleteLater()

    def _check_down(self, alert: dict[str, Any]) -> None:
        pid = str(alert.get("provider_id") or "")
        timer = self._waiting.pop(pid, None)
        if timer is not None:
            timer.deleteLater()
        try:
            asyncio.ensure_future(self.check_down(alert))
        except RuntimeError:  # no loop (shutting down)
            pass

    async def check_down(self, alert: dict[str, Any]) -> Decision:
        """After the wait: still offline and depended on? Then notify."""
        pid = str(alert.get("provider_id") or "")
        status, keyed = None, False
        if self.api is not None and self.api.ready:
            rows = (await self.api.providers())["providers"]
            row = next((r for r in rows if r["id"] == pid), None)
            if row is not None:
                status, keyed = row["status"], row.get("key_state") == "present"
        decision = self.policy.still_down(alert, status, keyed)
        if decision.action == "show":
            minutes = self.rules.down_minutes
            alert = {**alert, "message": f"{alert.get('message')} — for over "
                     f"{minutes:g} min" if minutes else alert.get("message")}
        self._apply(alert, decision)
        return decision

    def _apply(self, alert: dict[str, Any], decision: Decision) -> None:
        if decision.action != "show":
            log.debug("alert not notified (%s): %s", decision.reason, alert.get("message"))
            return
        severity = str(alert.get("severity") or "info")
        kind = str(alert.get("alert_type") or "alert")
        title = TITLES.get(kind, kind.replace("_", " ").capitalize())
        message = str(alert.get("message") or "")
        held = self.policy.take_held_back()
        if held:
            message += f"\n({held} more alert{'s' * (held != 1)} not shown: see Alerts)"
        self.notify(title, message, severity)

    def notify(self, title: str, message: str, severity: str = "info") -> None:
        """Show a desktop notification (recorded even where no tray exists)."""
        self.history.append((title, message))
        del self.history[:-50]
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(title, message, _ICONS.get(severity, _ICONS["info"]), 8000)
        self.notified.emit(title, message)

    def hide(self) -> None:
        self.icon.hide()
