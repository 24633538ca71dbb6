"""Settings: API keys (keychain), intervals, retention, server, watchlist, theme, times.

Everything but the keys is written to the TOML config file
(:func:`~cryptohub_desktop.ui.views.settings_io.save_settings`, the user's comments
kept) and applied to the running hub at once: intervals re-schedule, the server
restarts when its bind changes. The theme and the time zone apply the moment they are
picked. Intervals read as words ("every 5 min"); the file keeps its tokens.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import ConfigError
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.core.topics import CATEGORIES
from cryptohub_desktop.secrets import KeychainUnavailable
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.hub_state import HUB_OWNS, remote
from cryptohub_desktop.ui.theme import GREEN, MODES, RED
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.views.settings_hub import HubPanel
from cryptohub_desktop.ui.views.settings_io import save_settings
from cryptohub_desktop.ui.views.settings_keys import KeysPanel

CATEGORY_LABELS = {
    "market_data": "Market data", "blockchain_explorers": "Blockchain explorers",
    "news": "News", "sentiment": "Sentiment", "whale_tracking": "Whale tracking",
    "rpc_nodes": "RPC nodes", "onchain_analytics": "On-chain analytics",
}
PRESETS = ["every_30_sec", "every_1_min", "every_2_min", "every_5_min", "every_10_min",
           "every_15_min", "every_30_min", "every_1_hour"]
THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
ZONE_NAMES = {"local": "This computer's time zone", "utc": "UTC"}


def interval_combo(token: str) -> QComboBox:
    """An editable drop-down of readable intervals ("every 5 min") holding the tokens."""
    combo = QComboBox()
    combo.setEditable(True)
    for t in PRESETS:
        combo.addItem(fmt.interval_name(t), t)
    i = combo.findData(token)
    if i >= 0:
        combo.setCurrentIndex(i)
    else:
        combo.setEditText(fmt.interval_name(token))
    combo.setMinimumWidth(130)
    return combo


def combo_token(combo: QComboBox) -> str:
    """The token of what the drop-down shows (a typed "every 3 min" too)."""
    text = combo.currentText().strip()
    i = combo.findText(text)
    data = combo.itemData(i) if i >= 0 else None
    return str(data) if data else fmt.interval_token(text)


class SettingsView(View):
    key = "settings"
    title = "Settings"
    topics = ()

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.cfg: Config = ctx.extra["config"]  # type: ignore[assignment]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        page = QWidget()
        scroll.setWidget(page)
        lay = QVBoxLayout(page)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Settings"))
        self.path_label = muted(f"Config file: {self.cfg.path}")
        lay.addWidget(self.path_label)
        self.remote_note = muted(HUB_OWNS)
        self.remote_note.setVisible(remote(self.api))
        lay.addWidget(self.remote_note)

        hub = Card("Hub")
        self.hub = HubPanel(self.api, ctx.secrets, self.cfg)
        hub.body.addWidget(self.hub)
        if remote(self.api):  # first when attached to one; below this computer's otherwise
            lay.addWidget(hub)

        self.keys_card = Card("API keys")
        self.keys = KeysPanel(self.api, ctx.secrets)
        self.keys_card.body.addWidget(self.keys)
        lay.addWidget(self.keys_card)

        sched = Card("Collection")
        grid = QGridLayout()
        self.intervals: dict[str, QComboBox] = {}
        for i, cat in enumerate(CATEGORIES):
            combo = interval_combo(self.cfg.schedule.get(cat, "every_5_min"))
            self.intervals[cat] = combo
            grid.addWidget(QLabel(CATEGORY_LABELS.get(cat, cat)), i // 2, (i % 2) * 2)
            grid.addWidget(combo, i // 2, (i % 2) * 2 + 1)
        grid.setColumnStretch(4, 1)
        sched.body.addLayout(grid)
        form = QFormLayout()
        self.retention = QSpinBox()
        self.retention.setRange(0, 3650)
        self.retention.setSuffix(" days")
        self.retention.setSpecialValueText("keep forever")
        self.retention.setValue(self.cfg.retention_days)
        self.retention.setMaximumWidth(180)
        form.addRow("Keep history for", self.retention)
        self.watchlist = QLineEdit(", ".join(self.cfg.watchlist))
        self.watchlist.setPlaceholderText("BTC, ETH, SOL")
        form.addRow("Watchlist", self.watchlist)
        sched.body.addLayout(form)
        lay.addWidget(sched)
        self.sched_card = sched

        srv = Card("Local server")
        form = QFormLayout()
        self.server_enabled = QCheckBox("Serve REST + WebSocket on this machine")
        self.server_enabled.setChecked(self.cfg.server.enabled)
        self.host = QLineEdit(self.cfg.server.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(self.cfg.server.port)
        self.port.setMaximumWidth(120)
        self.host.setMaximumWidth(260)
        token_row = QHBoxLayout()
        self.token = QLineEdit()
        self.token.setReadOnly(True)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_token = QPushButton("Show")
        self.show_token.setCheckable(True)
        self.show_token.toggled.connect(self.on_show_token_toggled)
        self.copy_token = QPushButton("Copy")
        self.copy_token.clicked.connect(self.on_copy_token_clicked)
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.show_token)
        token_row.addWidget(self.copy_token)
        form.addRow(self.server_enabled)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("Access token", token_row)
        self.token_note = muted("Needed by clients when the server listens beyond this "
                                "machine (Authorization: Bearer … or ?token=…).")
        form.addRow("", self.token_note)
        srv.body.addLayout(form)
        lay.addWidget(srv)
        self.server_card = srv
        if remote(self.api):  # the hub's keys, schedule and server are changed on the hub
            for card in (self.keys_card, sched, srv):
                card.hide()
        else:
            lay.addWidget(hub)

        look = Card("Window")
        form = QFormLayout()
        self.theme_combo = QComboBox()
        for mode in MODES:
            self.theme_combo.addItem(THEME_NAMES[mode], mode)
        self.theme_combo.setCurrentIndex(self.theme_combo.findData(ctx.theme.mode))
        self.theme_combo.currentIndexChanged.connect(self.on_theme_changed)
        self.zone_combo = QComboBox()
        for z in fmt.ZONES:
            self.zone_combo.addItem(ZONE_NAMES[z], z)
        self.zone_combo.setCurrentIndex(self.zone_combo.findData(fmt.zone_mode()))
        self.zone_combo.currentIndexChanged.connect(self.on_zone_changed)
        self.close_to_tray = QCheckBox("Closing the window keeps collecting in the tray")
        self.close_to_tray.setChecked(ctx.state.close_to_tray)
        self.close_to_tray.toggled.connect(self.on_close_to_tray_toggled)
        form.addRow("Theme", self.theme_combo)
        form.addRow("Times", self.zone_combo)
        form.addRow(self.close_to_tray)
        look.body.addLayout(form)
        lay.addWidget(look)

        buttons = QHBoxLayout()
        self.message = QLabel()
        self.save_button = QPushButton("Save settings")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.on_save_clicked)
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button)
        buttons.setContentsMargins(16, 6, 16, 8)
        lay.addStretch(1)
        outer.addLayout(buttons)  # below the scrolling page: always in reach

    async def refresh(self) -> None:
        cfg = self.ctx.extra.get("config")
        if isinstance(cfg, Config) and cfg is not self.cfg:  # saved elsewhere (Dashboard)
            self.cfg = cfg
            self.watchlist.setText(", ".join(cfg.watchlist))
        await self.hub.refresh()
        if remote(self.api):
            return
        await self.keys.refresh()
        token = await asyncio.to_thread(self.ctx.secrets.server_token)
        self.token.setText(token or "")
        self.token.setToolTip(mask(token))
        ok = self.keys.keychain_ok
        self.token_note.setText(
            "Needed by clients when the server listens beyond this machine (Authorization: "
            "Bearer … or ?token=…). " + ("Kept in the keychain." if ok else
                                         "No keychain here: the token lives only while the "
                                         "app runs, or set CRYPTOHUB_HUB_TOKEN."))

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.poke()

    def on_theme_changed(self, _index: int) -> None:
        """The theme applies at once (and is remembered; Save also writes it to the file)."""
        mode = self.theme_combo.currentData()
        self.ctx.theme.set_mode(mode)
        self.ctx.state.theme = mode
        self.ctx.state.sync()

    def on_zone_changed(self, _index: int) -> None:
        """Times follow the chosen zone at once, on every page."""
        mode = self.zone_combo.currentData()
        fmt.set_zone(mode)
        self.ctx.state.times = mode
        self.ctx.state.sync()
        window = self.window()
        for view in getattr(window, "views", {}).values():
            view.poke()
        self.ctx.theme.apply()  # charts re-read their axis labels

    def on_close_to_tray_toggled(self, on: bool) -> None:
        self.ctx.state.close_to_tray = on
        self.ctx.state.sync()

    def focus_item(self, entry: str) -> None:
        """Put the cursor in the key entry ``entry`` (from "Add key" elsewhere)."""
        self.keys.focus_entry(entry)

    def on_show_token_toggled(self, shown: bool) -> None:
        self.token.setEchoMode(QLineEdit.EchoMode.Normal if shown
                               else QLineEdit.EchoMode.Password)
        self.show_token.setText("Hide" if shown else "Show")

    def on_copy_token_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.token.text())
        self._say("Token copied to the clipboard", True)

    def changes(self) -> dict[str, dict[str, Any]]:
        """What the form says, as config sections (attached to a hub: the window's own
        and the Hub section only)."""
        if remote(self.api):
            return {"ui": {"theme": self.theme_combo.currentData()}, **self.hub.changes(self.cfg)}
        symbols = [s for s in re.split(r"[\s,;]+", self.watchlist.text().upper()) if s]
        return {
            "schedule": {c: combo_token(w) for c, w in self.intervals.items()},
            "retention": {"days": self.retention.value()},
            "watchlist": {"symbols": symbols},
            "server": {"enabled": self.server_enabled.isChecked(),
                       "host": self.host.text().strip(), "port": self.port.value()},
            "ui": {"theme": self.theme_combo.currentData()},
            **self.hub.changes(self.cfg),
        }

    @asyncSlot()
    async def on_save_clicked(self) -> None:
        await self.save()

    async def save(self) -> bool:
        """Validate, write the config file, store a new hub token, apply to the running
        app (attached to a hub: reconnect with what was saved)."""
        token = self.hub.new_token()
        try:
            new, ui_in_file = await asyncio.to_thread(
                save_settings, self.cfg, self.changes(),
                forbidden={*self.ctx.secrets.seen, token},
                known_providers={p.id for p in self.api.catalogue()} or None)
            await self.hub.store_token()
        except ConfigError as exc:
            self._say(f"Not saved: {exc}", False)
            return False
        except KeychainUnavailable as exc:
            self._say(f"Token not saved: {exc} (set CRYPTOHUB_HUB_TOKEN instead)", False)
            return False
        theme = self.theme_combo.currentData()
        if not ui_in_file:
            self.ctx.state.theme = theme
        self.ctx.state.close_to_tray = self.close_to_tray.isChecked()
        self.ctx.state.sync()
        self.cfg = new
        self.ctx.extra["config"] = new
        self.ctx.theme.set_mode(theme)
        if remote(self.api):
            said = await self.hub.apply(new, token_changed=bool(token))
            self._say(f"Saved to {new.path}. {said}".strip(), True)
            return True
        await self.api.apply_config(new)  # re-schedules with the new intervals
        if self.ctx.server is not None:
            await self.ctx.server.apply(new.server)
        self._say(f"Saved to {new.path}", True)
        return True

    def _say(self, text: str, ok: bool) -> None:
        self.message.setText(f"<span style='color:{GREEN if ok else RED}'>{text}</span>")
