"""The hub's updates, bridged to Qt signals.

The hub calls subscribers synchronously on the event-loop thread, which in the
GUI is the Qt thread (qasync), so the bridge only re-emits: receivers decide
what to refresh and coalesce it (:class:`~cryptohub_desktop.ui.coalesce.Coalescer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from cryptohub_desktop.core.topics import RESYNC, Event, Subscriber


class HubBridge(QObject):
    """Re-emits every update of the hub as Qt signals.

    Args:
        subscribe: subscribes to every update (``HubApi.subscribe``).

    Signals:
        event(str, dict): any event: (topic, data).
        status_changed(str, str): a provider's health status changed: (id, new).
        alert(dict): an alert row was stored (id, severity, alert_type, message ...).
        hub_state(str): the connection to a remote hub changed state (``HubApi.state``).
    """

    event = Signal(str, dict)
    status_changed = Signal(str, str)
    alert = Signal(dict)
    hub_state = Signal(str)

    def __init__(self, subscribe: Callable[[Subscriber], Callable[[], None]],
                 watch_state: Callable[[Callable[[str], None]], Callable[[], None]]
                 | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = subscribe(self._on_bus_event)
        self._unwatch = watch_state(self.hub_state.emit) if watch_state else (lambda: None)

    def _on_bus_event(self, ev: Event) -> None:
        data: dict[str, Any] = ev.data
        self.event.emit(ev.topic, data)
        if ev.kind == RESYNC:  # the state was read afresh: views re-read, nothing to notify
            return
        if ev.topic == "health_checker" and data.get("event") == "status":
            self.status_changed.emit(str(data.get("provider")), str(data.get("new")))
        elif ev.topic == "alerts":
            self.alert.emit(data)

    def close(self) -> None:
        """Stop listening (idempotent)."""
        self._unsubscribe()
        self._unwatch()
