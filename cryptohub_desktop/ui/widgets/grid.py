"""A light plot grid: one path of the axes' major tick lines.

pyqtgraph's own grid is drawn by the axes, every tick level, replayed from a QPicture
on each frame; on a 1280-pixel chart that costs more than the data. This item draws
only the major lines, with one cosmetic pen, in one ``drawPath``. It lives in the
view box's own (pixel) coordinates, so its bounds change only when the plot is resized.
The path is built when the range or size changes, never inside ``paint`` (asking the
date axis for ticks from within a paint crashes PySide 6.11's override lookup).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen


class GridItem(pg.GraphicsObject):
    """Grid lines at the major ticks of ``plot``'s bottom and left axes."""

    def __init__(self, plot: pg.PlotItem, color: str = "#dee2e6") -> None:
        super().__init__()
        self._plot = plot
        self._vb = plot.getViewBox()
        self.pen = QPen(QColor(color))
        self.pen.setCosmetic(True)
        self.pen.setWidthF(1.0)
        self.setParentItem(self._vb)
        self.setZValue(-100)  # under the data (the view box's child group)
        self._path = QPainterPath()
        self._vb.sigResized.connect(self.on_vb_resized)
        self._vb.sigRangeChanged.connect(self.on_vb_range_changed)

    def set_color(self, color: str) -> None:
        self.pen.setColor(QColor(color))
        self.update()

    def on_vb_resized(self, *_: object) -> None:
        self.prepareGeometryChange()
        self.rebuild()

    def on_vb_range_changed(self, *_: object) -> None:
        self.rebuild()

    def boundingRect(self) -> QRectF:
        return QRectF(self._vb.rect())

    def _major(self, axis: str, lo: float, hi: float, size: float) -> np.ndarray:
        try:
            levels = self._plot.getAxis(axis).tickValues(lo, hi, max(1.0, size))
        except AttributeError:  # the date axis knows its font only after its first paint
            QTimer.singleShot(50, self.rebuild)
            return np.zeros(0)
        if not levels:
            return np.zeros(0)
        values = np.asarray(levels[0][1], dtype=float)
        return values[(values >= lo) & (values <= hi)]

    def rebuild(self) -> None:
        """Recompute the lines for the current range and size."""
        self._path = self._build()
        self.update()

    def paint(self, p: QPainter, *_: Any) -> None:
        if not self._path.isEmpty():
            p.setPen(self.pen)
            p.drawPath(self._path)

    def _build(self) -> QPainterPath:
        r = self._vb.viewRect()
        box = self._vb.rect()
        if r.width() <= 0 or r.height() <= 0 or box.width() <= 0:
            return QPainterPath()
        t = self._vb.childTransform()  # view (data) coordinates -> view box pixels
        xs = self._major("bottom", r.left(), r.right(), box.width()) * t.m11() + t.dx()
        ys = self._major("left", r.top(), r.bottom(), box.height()) * t.m22() + t.dy()
        if not len(xs) and not len(ys):
            return QPainterPath()
        px = np.concatenate([np.repeat(xs, 2), np.tile([box.left(), box.right()], len(ys))])
        py = np.concatenate([np.tile([box.top(), box.bottom()], len(xs)), np.repeat(ys, 2)])
        return pg.arrayToQPath(px, py, connect="pairs", finiteCheck=False)
