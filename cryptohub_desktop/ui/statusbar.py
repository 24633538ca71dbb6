"""The status bar: this machine's network, providers by status, server, database size;
attached to a team hub, the hub connection ("hub: connected", "hub: reconnecting (2)",
"hub: auth failed" ...) instead of the local server, refreshed on each change.

Counts come from the hub's memory (``HubApi.counts``), the same numbers the Providers
page's summary shows, so the two always agree; the bar refreshes every 2 s and at once
when a provider's status changes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.hub_state import connected, remote, status_text
from cryptohub_desktop.ui.server_ctl import ServerControl
from cryptohub_desktop.ui.theme import STATUS_COLORS

#: statuses the bar counts, in order (zero counts of the last three are left out)
SHOWN = ("online", "degraded", "offline", "empty", "idle", "unknown")
LABELS = {"empty": "empty", "idle": "idle", "unknown": "not checked"}


def counts_text(c: dict[str, int], html: bool = True) -> str:
    """"● 31 online  ● 2 degraded  ● 0 offline  ● 1 empty" (the Providers page uses it)."""
    parts = []
    for s in SHOWN:
        n = c.get(s, 0)
        if s not in ("online", "degraded", "offline") and not n:
            continue
        label = f"{n} {LABELS.get(s, s)}"
        parts.append(f"<span style='color:{STATUS_COLORS[s]}'>●</span> {label}" if html
                     else label)
    return " &nbsp; ".join(parts) if html else ", ".join(parts)


class HubStatusBar(QStatusBar):
    """Refreshes itself every 2 s from the hub's memory (no database reads).

    Args:
        api: the hub.
        server: the server controller, or None when the server is not part of this run.

    Signals:
        refreshed(dict): the bar was refreshed; the hub's network state (``HubApi.network``).
    """

    refreshed = Signal(dict)

    def __init__(self, api: HubApi, server: ServerControl | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.server = server
        self.network = QLabel()
        self.hub = QLabel()
        self.counts = QLabel()
        self.server_label = QLabel()
        self.db = QLabel()
        for w in (self.network, self.hub, self.counts, self.server_label, self.db):
            self.addPermanentWidget(w)
        self.hub.setVisible(remote(api))
        self.server_label.setVisible(not remote(api))
        if server is not None:
            server.changed.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        net: dict[str, Any] = self.api.network() if self.api.ready else {"online": True}
        if net.get("online", True):
            self.network.hide()
        else:
            self.network.setText(f"<span style='color:{STATUS_COLORS['offline']}'>"
                                 f"<b>Offline</b></span> since {fmt.short(net.get('since'))}")
            self.network.setToolTip(str(net.get("detail") or ""))
            self.network.show()
        counts = counts_text(self.api.counts())
        self.counts.setText(counts if connected(self.api) else f"last known: {counts}")
        self.server_label.setText(self.server.describe() if self.server else "Server off")
        size = self.api.database_size()
        if remote(self.api):
            self.hub.setText(status_text(self.api))
            self.hub.setToolTip(self.api.detail)
            self.db.setText(f"Hub database {fmt.size(size)}" if size is not None else "")
        else:
            self.db.setText(f"Database {fmt.size(size)}" if size is not None
                            else "Database opening…")
        self.refreshed.emit(net)
