"""Write resources/icon.png (256 px): rendered from resources/icon.svg when it exists,
drawn with QPainter otherwise. Runs with Qt offscreen: ``python scripts/make_icon.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SIZE = 256


def draw(p: QPainter, size: int) -> None:
    """A rounded dark tile with a rising price line and a hub dot."""
    s = size / 256
    grad = QLinearGradient(0, 0, 0, size)
    grad.setColorAt(0, QColor("#1f2a44"))
    grad.setColorAt(1, QColor("#0d1321"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(grad)
    p.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 48 * s, 48 * s)
    p.setPen(QPen(QColor(255, 255, 255, 40), 3 * s))
    for y in (88, 128, 168):
        p.drawLine(QPointF(40 * s, y * s), QPointF(216 * s, y * s))
    line = QPainterPath(QPointF(40 * s, 184 * s))
    for x, y in ((84, 150), (118, 166), (160, 104), (192, 118), (216, 68)):
        line.lineTo(QPointF(x * s, y * s))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(
        QPen(
            QColor("#f7931a"),
            16 * s,
            Qt.PenStyle.SolidLine,
            Qt.PenCapStyle.RoundCap,
            Qt.PenJoinStyle.RoundJoin,
        )
    )
    p.drawPath(line)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#2ec4b6"))
    p.drawEllipse(QPointF(216 * s, 68 * s), 18 * s, 18 * s)


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    img = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    svg = RESOURCES / "icon.svg"
    if svg.exists():
        from PySide6.QtSvg import QSvgRenderer

        renderer = QSvgRenderer(str(svg))
        if not renderer.isValid():
            print(f"{svg}: not a valid SVG", file=sys.stderr)
            return 1
        renderer.render(painter, QRectF(0, 0, SIZE, SIZE))
    else:
        draw(painter, SIZE)
    painter.end()
    out = RESOURCES / "icon.png"
    if not img.save(str(out), "PNG"):
        print(f"cannot write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({'from icon.svg' if svg.exists() else 'drawn'})")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
