"""Light and dark themes: Fusion palettes that follow the OS, with a Settings override.

The named colours here (provider status, rate-limit bar, up/down) are the only
colours the views use, so both themes stay consistent. pyqtgraph plots read
:meth:`Theme.plot_colors` and re-style themselves on :attr:`Theme.changed`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

MODES = ("system", "light", "dark")

#: provider status -> colour (same hue in both themes, legible on either background)
STATUS_COLORS = {
    "online": "#2f9e44",
    "degraded": "#e8a317",
    "offline": "#d9480f",
    "unknown": "#868e96",
    "needs_key": "#4c6ef5",
    "disabled": "#868e96",
}
STATUS_LABELS = {"needs_key": "needs key"}

GREEN, AMBER, RED = "#2f9e44", "#e8a317", "#e03131"
UP, DOWN = "#2f9e44", "#e03131"
#: distinct line colours for sources overlaid on one chart
SERIES = ["#4c6ef5", "#f08c00", "#2f9e44", "#ae3ec9", "#1098ad", "#e03131", "#74b816",
          "#d6336c", "#495057", "#fab005"]

_LIGHT = {"window": "#f4f5f7", "base": "#ffffff", "alt": "#f1f3f5", "text": "#1f2328",
          "button": "#e9ecef", "highlight": "#4c6ef5", "mid": "#ced4da", "muted": "#6c757d"}
_DARK = {"window": "#1e2126", "base": "#16181c", "alt": "#22262c", "text": "#e6e8eb",
         "button": "#2b3038", "highlight": "#5c7cfa", "mid": "#3a4049", "muted": "#98a1ab"}


def status_color(status: str) -> QColor:
    return QColor(STATUS_COLORS.get(status, STATUS_COLORS["unknown"]))


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def bar_color(percentage: float) -> str:
    """Rate-limit bar colour: green, amber from 80 %, red from 100 %."""
    if percentage >= 100.0:
        return RED
    if percentage >= 80.0:
        return AMBER
    return GREEN


def os_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    try:
        return hints.colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5
        return False


class Theme(QObject):
    """The active theme.

    Args:
        app: the application whose palette is set.
        mode: "system", "light" or "dark".

    Signals:
        changed(bool): the palette changed; the argument says whether it is dark.
    """

    changed = Signal(bool)

    def __init__(self, app: QApplication, mode: str = "system") -> None:
        super().__init__()
        self._app = app
        self.mode = mode if mode in MODES else "system"
        self.dark = False
        self._styled: dict[QWidget, str] = {}
        app.setStyle("Fusion")
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self.on_os_scheme_changed)
        self.apply()

    def set_mode(self, mode: str) -> None:
        """Use ``mode`` ("system" follows the OS) and repaint."""
        if mode not in MODES:
            raise ValueError(f"theme must be one of {', '.join(MODES)}")
        self.mode = mode
        self.apply()

    def on_os_scheme_changed(self, *_: object) -> None:
        if self.mode == "system":
            self.apply()

    def apply(self) -> None:
        dark = self.mode == "dark" or (self.mode == "system" and os_prefers_dark())
        self.dark = dark
        c = _DARK if dark else _LIGHT
        pal = QPalette()
        role = QPalette.ColorRole
        for r, key in ((role.Window, "window"), (role.Base, "base"),
                       (role.AlternateBase, "alt"), (role.Text, "text"),
                       (role.WindowText, "text"), (role.Button, "button"),
                       (role.ButtonText, "text"), (role.ToolTipBase, "base"),
                       (role.ToolTipText, "text"), (role.Highlight, "highlight"),
                       (role.Mid, "mid"), (role.PlaceholderText, "muted")):
            pal.setColor(r, QColor(c[key]))
        pal.setColor(role.HighlightedText, QColor("#ffffff"))
        pal.setColor(role.Link, QColor(c["highlight"]))
        for r in (role.Text, role.WindowText, role.ButtonText):
            pal.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["muted"]))
        self._app.setPalette(pal)
        for widget, kind in list(self._styled.items()):
            widget.setStyleSheet(_SHEETS[kind].format(**c))
        self.changed.emit(dark)

    def style(self, widget: QWidget, kind: str) -> None:
        """Apply the small style sheet ``kind`` ("nav", "toolbar") now and on theme changes."""
        self._styled[widget] = kind
        widget.destroyed.connect(lambda *_: self._styled.pop(widget, None))
        widget.setStyleSheet(_SHEETS[kind].format(**(_DARK if self.dark else _LIGHT)))

    def color(self, name: str) -> QColor:
        return QColor((_DARK if self.dark else _LIGHT)[name])

    def plot_colors(self) -> tuple[str, str]:
        """(background, foreground) for pyqtgraph plots."""
        c = _DARK if self.dark else _LIGHT
        return c["base"], c["muted"]


#: small style sheets for the few widgets that need more than the palette; an app-wide
#: sheet would restyle every widget through QStyleSheetStyle (+0.4 s at start-up)
_SHEETS = {
    "nav": """
QListWidget {{ border: none; background: {alt}; font-size: 10.5pt; padding-top: 6px; }}
QListWidget::item {{ padding: 7px 10px; border-radius: 4px; margin: 1px 6px; }}
QListWidget::item:selected {{ background: {highlight}; color: white; }}
""",
    "toolbar": """
QToolButton {{ padding: 2px 6px; border: 1px solid {mid}; border-radius: 3px;
              background: {button}; }}
QToolButton[popupMode="2"] {{ padding-right: 16px; }}
QToolButton:checked {{ background: {highlight}; color: white; border-color: {highlight}; }}
""",
}
_SCALE = {"title": 1.35, "big": 1.6}


def set_role(widget: QWidget, role: str) -> None:
    """Give a label a text role without a style sheet: "title", "big" (larger, bold),
    "muted" / "empty" (the palette's placeholder colour, so it follows the theme)."""
    if role in _SCALE:
        f = QFont(widget.font())
        f.setPointSizeF(f.pointSizeF() * _SCALE[role])
        f.setBold(True)
        widget.setFont(f)
    elif role in ("muted", "empty"):
        widget.setForegroundRole(QPalette.ColorRole.PlaceholderText)
