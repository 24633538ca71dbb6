"""The status bar: providers online / degraded / offline, server, database size."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.server_ctl import ServerControl
from cryptohub_desktop.ui.theme import STATUS_COLORS


class HubStatusBar(QStatusBar):
    """Refreshes itself every 2 s from the hub's memory (no database reads).

    Args:
        api: the hub.
        server: the server controller, or None when the server is not part of this run.
    """

    def __init__(self, api: HubApi, server: ServerControl | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.server = server
        self.counts = QLabel()
        self.server_label = QLabel()
        self.db = QLabel()
        for w in (self.counts, self.server_label, self.db):
            self.addPermanentWidget(w)
        if server is not None:
            server.changed.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        c = self.api.counts()
        dot = "<span style='color:{}'>●</span>"
        self.counts.setText(
            f"{dot.format(STATUS_COLORS['online'])} {c['online']} online &nbsp; "
            f"{dot.format(STATUS_COLORS['degraded'])} {c['degraded']} degraded &nbsp; "
            f"{dot.format(STATUS_COLORS['offline'])} {c['offline']} offline")
        self.server_label.setText(self.server.describe() if self.server else "Server off")
        size = self.api.database_size()
        self.db.setText(f"Database {fmt.size(size)}" if size is not None else "Database opening…")
