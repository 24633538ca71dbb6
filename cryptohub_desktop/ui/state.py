"""What the window remembers across restarts (QSettings): geometry, selected view,
chart range/mode/symbol, close-to-tray, alert rules, the getting-started panel, the
time zone of times shown, and column widths the user set by hand.

Settings that change the engine (intervals, server, watchlist ...) live in the
TOML config instead (:mod:`cryptohub_desktop.ui.views.settings_io`); keys live in
the keychain and never here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from cryptohub_desktop.paths import APP


class UiState:
    """Typed access to the UI's QSettings.

    Args:
        path: an INI file to use (tests, screenshots); default: the platform's
            user settings for the app.
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._s = QSettings(APP, APP)
        else:
            self._s = QSettings(str(path), QSettings.Format.IniFormat)

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self._s.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool and isinstance(value, str):
                return value.lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def sync(self) -> None:
        self._s.sync()

    # --- window --------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._s.setValue("window/geometry", value)

    @property
    def view(self) -> str:
        return self._get("window/view", "dashboard", str)

    @view.setter
    def view(self, value: str) -> None:
        self._s.setValue("window/view", value)

    @property
    def close_to_tray(self) -> bool:
        return self._get("window/close_to_tray", True, bool)

    @close_to_tray.setter
    def close_to_tray(self, value: bool) -> None:
        self._s.setValue("window/close_to_tray", bool(value))

    @property
    def theme(self) -> str:
        """The theme when the config file cannot hold it (see settings_io)."""
        return self._get("window/theme", "system", str)

    @theme.setter
    def theme(self, value: str) -> None:
        self._s.setValue("window/theme", value)

    @property
    def welcome_done(self) -> bool:
        """The getting-started panel was dismissed."""
        return self._get("window/welcome_done", False, bool)

    @welcome_done.setter
    def welcome_done(self, value: bool) -> None:
        self._s.setValue("window/welcome_done", bool(value))

    @property
    def times(self) -> str:
        """Times shown in the local zone ("local") or in UTC ("utc")."""
        return self._get("window/times", "local", str)

    @times.setter
    def times(self, value: str) -> None:
        self._s.setValue("window/times", value)

    def column_widths(self, table: str) -> dict[str, int]:
        """Column widths the user set by hand in ``table`` (column key -> pixels)."""
        raw = self._get(f"tables/{table}", "", str)
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return {str(k): int(v) for k, v in value.items()
                if isinstance(v, int | float)} if isinstance(value, dict) else {}

    def set_column_widths(self, table: str, widths: dict[str, int]) -> None:
        self._s.setValue(f"tables/{table}", json.dumps(widths))

    # --- chart -----------------------------------------------------------------------
    @property
    def chart_range(self) -> str:
        return self._get("chart/range", "24h", str)

    @chart_range.setter
    def chart_range(self, value: str) -> None:
        self._s.setValue("chart/range", value)

    @property
    def chart_mode(self) -> str:
        return self._get("chart/mode", "line", str)

    @chart_mode.setter
    def chart_mode(self, value: str) -> None:
        self._s.setValue("chart/mode", value)

    @property
    def chart_symbol(self) -> str:
        return self._get("chart/symbol", "BTC", str)

    @chart_symbol.setter
    def chart_symbol(self, value: str) -> None:
        self._s.setValue("chart/symbol", value)

    # --- alerts ----------------------------------------------------------------------
    @property
    def alert_rules(self) -> dict[str, Any]:
        raw = self._get("alerts/rules", "", str)
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    @alert_rules.setter
    def alert_rules(self, value: dict[str, Any]) -> None:
        self._s.setValue("alerts/rules", json.dumps(value))
