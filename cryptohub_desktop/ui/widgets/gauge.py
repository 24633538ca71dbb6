"""The Fear & Greed gauge: a half dial from extreme fear (red) to extreme greed (green)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: (upper bound, colour, label) of the index's five bands (alternative.me)
BANDS = [(25, "#e03131", "Extreme Fear"), (45, "#f08c00", "Fear"), (55, "#fab005", "Neutral"),
         (75, "#82c91e", "Greed"), (100, "#2f9e44", "Extreme Greed")]


def band(value: float) -> tuple[str, str]:
    """(colour, label) of a 0-100 value."""
    for upper, color, label in BANDS:
        if value <= upper:
            return color, label
    return BANDS[-1][1], BANDS[-1][2]


class FearGreedGauge(QWidget):
    """Shows a 0-100 value with its classification; ``None`` shows "no data"; a stale
    value is drawn faded with "stale" under it (last known, never as current)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value: float | None = None
        self.classification = ""
        self.stale = False
        self.setMinimumSize(180, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_value(self, value: float | None, classification: str = "",
                  stale: bool = False) -> None:
        self.stale = stale and value is not None
        self.value = None if value is None else max(0.0, min(100.0, float(value)))
        self.classification = classification or (band(self.value)[1] if self.value is not None
                                                 else "")
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, 140)

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        radius = max(10.0, min(w / 2 - 12, h - 12 - 60))
        center = QPointF(w / 2, 12 + radius)
        rect = QRectF(center.x() - radius, center.y() - radius, 2 * radius, 2 * radius)
        thick = max(8.0, radius * 0.18)
        start = 0
        for upper, color, _ in BANDS:
            pen = QPen(QColor(color), thick, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
            if self.value is None or self.stale:
                c = QColor(color)
                c.setAlpha(70)
                pen.setColor(c)
            p.setPen(pen)
            a0 = 180 - start * 1.8
            p.drawArc(rect.adjusted(thick / 2, thick / 2, -thick / 2, -thick / 2),
                      int(a0 * 16), int(-(upper - start) * 1.8 * 16))
            start = upper
        text = self.palette().text().color()
        if self.value is not None:
            ang = math.radians(180 - self.value * 1.8)
            tip = QPointF(center.x() + math.cos(ang) * (radius - thick * 1.3),
                          center.y() - math.sin(ang) * (radius - thick * 1.3))
            p.setPen(QPen(text, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(center, tip)
            p.setBrush(text)
            p.drawEllipse(center, 5, 5)
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.9)
        f.setBold(True)
        p.setFont(f)
        p.setPen(text)
        value_text = "—" if self.value is None else f"{self.value:.0f}"
        p.drawText(QRectF(0, center.y() + 4, w, 30), Qt.AlignmentFlag.AlignHCenter, value_text)
        f2 = QFont(self.font())
        p.setFont(f2)
        color = band(self.value)[0] if self.value is not None else self.palette().mid().color()
        p.setPen(QColor(color) if self.value is not None and not self.stale else text)
        label = self.classification or "no sentiment data yet"
        p.drawText(QRectF(0, center.y() + 34, w, 20), Qt.AlignmentFlag.AlignHCenter,
                   f"{label} · stale" if self.stale else label)
        p.end()
