"""Volume bars along the bottom of the price chart, as light as the candles above them.

The bars live in the price chart's own view box (one paint for both) and fill its
bottom :data:`SHARE` whatever the price scale: their heights are computed at paint time
from the visible y range, and they never take part in the price axis' auto range. Only
the visible bars are drawn, merged per :data:`~.candles.MIN_PX` pixels (volumes summed)
when more are visible than fit, as device-space rectangles (``drawRects``: filling one
path of tall thin polygons costs Qt's raster engine ~10x more), so a year of 1-minute
volumes pans and zooms as smoothly as the candles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter

from cryptohub_desktop.ui.widgets.candles import MIN_PX

SHARE = 0.2  # the tallest visible bar reaches this fraction of the plot's height


class VolumeBars(pg.GraphicsObject):
    """Bars of volume; ``t`` in Unix seconds, sorted ascending. Add it to a plot with
    ``ignoreBounds=True`` (it follows the plot's y range, it does not set it)."""

    def __init__(self) -> None:
        super().__init__()
        self._t = self._v = np.zeros(0)
        self._step = 60.0
        self.color = QColor(200, 205, 210)  # opaque: see PriceChart.set_colors
        self._watched: Any = None

    def set_data(self, t: np.ndarray, v: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._t = np.asarray(t, dtype=float)
        self._v = np.nan_to_num(np.asarray(v, dtype=float))
        if len(self._t) >= 2:
            self._step = float(np.median(np.diff(self._t[: min(len(self._t), 1000)])))
        self._watch()
        self.update()

    def _watch(self) -> None:
        vb = self.getViewBox()
        if vb is not None and vb is not self._watched:
            vb.sigYRangeChanged.connect(self.on_vb_y_range_changed)
            self._watched = vb

    def on_vb_y_range_changed(self, *_: object) -> None:
        self.prepareGeometryChange()

    def __len__(self) -> int:
        return len(self._t)

    def boundingRect(self) -> QRectF:
        vb = self.getViewBox()
        if vb is None or not len(self._t):
            return QRectF()
        (_, _), (y0, y1) = vb.viewRange()
        return QRectF(self._t[0] - self._step, y0, self._t[-1] - self._t[0] + 2 * self._step,
                      y1 - y0)

    def _window(self) -> tuple[int, int, int]:
        vb = self.getViewBox()
        if vb is None or not len(self._t):
            return 0, 0, 1
        (x0, x1), _ = vb.viewRange()
        i0 = max(0, int(np.searchsorted(self._t, x0 - self._step)))
        i1 = min(len(self._t), int(np.searchsorted(self._t, x1 + self._step, side="right")))
        return i0, i1, max(1, int(max(1.0, vb.width()) / MIN_PX))

    def visible(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, volumes) to draw now: the visible bars, summed to fit the width."""
        i0, i1, buckets = self._window()
        if i1 <= i0:
            return np.zeros(0), np.zeros(0)
        if i1 - i0 <= buckets:
            return self._t[i0:i1], self._v[i0:i1]
        edges = np.unique(np.linspace(i0, i1, buckets + 1).astype(np.int64))
        starts = edges[:-1]
        return self._t[starts], np.add.reduceat(self._v[i0:i1], starts - i0)

    def visible_max(self) -> float:
        """The tallest bar drawn now."""
        _, v = self.visible()
        return float(v.max()) if len(v) else 0.0

    def paint(self, p: QPainter, *_: Any) -> None:
        vb = self.getViewBox()
        t, v = self.visible()
        if vb is None or not len(t) or not v.max():
            return
        (_, _), (y0, y1) = vb.viewRange()
        heights = v / v.max() * SHARE * (y1 - y0)
        span = (t[-1] - t[0]) / max(1, len(t) - 1) if len(t) > 1 else self._step
        half = 0.4 * max(span, self._step)
        tr = p.transform()  # data -> device, applied here in float64 (times are ~1.7e9)
        left = tr.m11() * (t - half) + tr.dx()
        width = np.maximum(1.0, tr.m11() * 2 * half)
        bottom = tr.m22() * y0 + tr.dy()
        top = tr.m22() * (y0 + heights) + tr.dy()
        p.save()
        p.resetTransform()
        p.setPen(pg.mkPen(None))
        p.setBrush(self.color)
        p.drawRects([QRectF(x, y, w, b - y) for x, y, w, b in
                     zip(left.tolist(), top.tolist(), np.broadcast_to(width, left.shape).tolist(),
                         np.full(len(t), bottom).tolist(), strict=True)])
        p.restore()
