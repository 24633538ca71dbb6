"""A horizontal bar split into coloured parts (positive / neutral / negative headlines)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget


class RatioBar(QWidget):
    """Parts are (label, count, colour); an empty bar says so."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parts: list[tuple[str, int, str]] = []
        self.setMinimumHeight(26)

    def set_parts(self, parts: list[tuple[str, int, str]]) -> None:
        self.parts = parts
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 26)

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        total = sum(n for _, n, _ in self.parts)
        p.setPen(Qt.PenStyle.NoPen)
        if not total:
            c = QColor(self.palette().mid().color())
            p.setBrush(c)
            p.drawRoundedRect(r, 4, 4)
            p.setPen(self.palette().text().color())
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no headlines")
            p.end()
            return
        x = r.left()
        for label, n, color in self.parts:
            if not n:
                continue
            w = r.width() * n / total
            seg = QRectF(x, r.top(), w, r.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(color))
            p.drawRect(seg)
            if w > 60:
                p.setPen(QColor("white"))
                p.drawText(seg, Qt.AlignmentFlag.AlignCenter, f"{label} {100 * n / total:.0f}%")
            x += w
        p.end()
