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
    "empty": "#ae3ec9",
    "idle": "#1098ad",
}
STATUS_LABELS = {"needs_key": "needs key", "empty": "empty answer", "idle": "idle (no input)",
                 "unknown": "not checked yet"}
#: what each status means, for tooltips and the legend
STATUS_HELP = {
    "online": "answers with data",
    "degraded": "the last run failed, fewer than 80 % of the recent runs succeeded, or slow",
    "offline": "3 failures in a row, or cannot be reached while this machine is offline",
    "empty": "answered, but nothing usable came out (counts as a failed run)",
    "idle": "had no input to work on (no headline, no price yet) and asked nobody",
    "unknown": "not run since the app started",
    "needs_key": "waits for its API key (Settings → API keys)",
    "disabled": "switched off",
}

GREEN, AMBER, RED = "#2f9e44", "#e8a317", "#e03131"
UP, DOWN = "#2f9e44", "#e03131"
#: distinct line colours for sources overlaid on one chart
SERIES = ["#4c6ef5", "#f08c00", "#2f9e44", "#ae3ec9", "#1098ad", "#e03131", "#74b816",
          "#d6336c", "#495057", "#fab005"]

_LIGHT = {"window": "#f4f5f7", "base": "#ffffff", "alt": "#f1f3f5", "text": "#1f2328",
          "button": "#e9ecef", "highlight": "#4c6ef5", "mid": "#ced4da", "muted": "#6c757d",
          "light": "#ffffff", "midlight": "#f8f9fa", "dark": "#adb5bd", "shadow": "#868e96",
          "banner": "#fff3bf", "banner_text": "#5c3c00"}
# Fusion draws the frames of text fields, drop-downs and check boxes in the window colour
# darkened by 40 %: fields a little lighter than the window keep those frames visible
_DARK = {"window": "#1b1e23", "base": "#262a31", "alt": "#2c3139", "text": "#e6e8eb",
         "button": "#30353e", "highlight": "#5c7cfa", "mid": "#4a515c", "muted": "#9aa3ad",
         "light": "#454c57", "midlight": "#383e47", "dark": "#0f1114", "shadow": "#000000",
         "banner": "#5c3c00", "banner_text": "#fff3bf"}


def status_color(status: str) -> QColor:
    return QColor(STATUS_COLORS.get(status, STATUS_COLORS["unknown"]))


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " "))


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
                       (role.Mid, "mid"), (role.PlaceholderText, "muted"),
                       (role.Light, "light"), (role.Midlight, "midlight"), (role.Dark, "dark"),
                       (role.Shadow, "shadow")):
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
QListWidget {{ border: none; background: {alt}; font-size: 10pt; padding-top: 6px; }}
QListWidget::item {{ padding: 7px 8px; border-radius: 4px; margin: 1px 4px; }}
QListWidget::item:selected {{ background: {highlight}; color: white; }}
""",
    "toolbar": """
QToolButton {{ padding: 2px 4px; border: 1px solid {mid}; border-radius: 3px;
              background: {button}; }}
QToolButton[popupMode="2"] {{ padding-right: 16px; }}
QToolButton:checked {{ background: {highlight}; color: white; border-color: {highlight}; }}
""",
    "welcome": """
QFrame {{ background: {base}; border: 1px solid {highlight}; border-radius: 4px; }}
QLabel {{ border: none; }}
""",
    "banner": """
QFrame {{ background: {banner}; border-radius: 4px; }}
QLabel {{ color: {banner_text}; }}
QPushButton {{ color: {banner_text}; background: transparent; border: 1px solid {banner_text};
              border-radius: 3px; padding: 2px 10px; }}
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
