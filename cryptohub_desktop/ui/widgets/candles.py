"""Candlesticks for pyqtgraph that stay smooth over a year of 1-minute candles.

Only the visible candles are drawn, and when more candles are visible than fit
at :data:`MIN_PX` pixels each, consecutive candles are merged into one per
bucket (first open, highest high, lowest low, last close) before drawing, so a
paint never handles more than a few hundred candles whatever the zoom. Wicks and
bodies are each one ``QPainterPath`` built with numpy (no per-candle Python).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from cryptohub_desktop.ui.theme import DOWN, UP

MIN_PX = 3.0


def bucket(t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
           i0: int, i1: int, buckets: int) -> tuple[np.ndarray, ...]:
    """Merge candles ``[i0, i1)`` into at most ``buckets`` candles (OHLC rules)."""
    n = i1 - i0
    if n <= buckets:
        sl = slice(i0, i1)
        return t[sl], o[sl], h[sl], lo[sl], c[sl]
    edges = np.unique(np.linspace(i0, i1, buckets + 1).astype(np.int64))
    starts, ends = edges[:-1], edges[1:]
    hi = np.maximum.reduceat(h[i0:i1], starts - i0)
    low = np.minimum.reduceat(lo[i0:i1], starts - i0)
    return t[starts], o[starts], hi, low, c[ends - 1]


class CandlestickItem(pg.GraphicsObject):
    """OHLC candles; ``t`` in Unix seconds, sorted ascending."""

    def __init__(self) -> None:
        super().__init__()
        empty = np.zeros(0)
        self._t = self._o = self._h = self._l = self._c = empty
        self._step = 60.0
        self._bounds = QRectF()
        self.up_color = QColor(UP)
        self.down_color = QColor(DOWN)

    def set_data(self, t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                 c: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._t, self._o, self._h, self._l, self._c = (np.asarray(a, dtype=float)
                                                       for a in (t, o, h, lo, c))
        if len(self._t) >= 2:
            self._step = float(np.median(np.diff(self._t[: min(len(self._t), 1000)])))
        if len(self._t):
            self._bounds = QRectF(self._t[0] - self._step, float(np.nanmin(self._l)),
                                  self._t[-1] - self._t[0] + 2 * self._step,
                                  float(np.nanmax(self._h) - np.nanmin(self._l)))
        else:
            self._bounds = QRectF()
        self.informViewBoundsChanged()
        self.update()

    def __len__(self) -> int:
        return len(self._t)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def dataBounds(self, ax: int, frac: float = 1.0,
                   orthoRange: Any = None) -> tuple[float | None, float | None]:
        if not len(self._t):
            return None, None
        if ax == 0:
            return self._t[0] - self._step / 2, self._t[-1] + self._step / 2
        i0, i1 = 0, len(self._t)
        if orthoRange is not None:
            i0 = int(np.searchsorted(self._t, orthoRange[0]))
            i1 = int(np.searchsorted(self._t, orthoRange[1], side="right"))
            if i1 <= i0:
                return None, None
        return float(np.nanmin(self._l[i0:i1])), float(np.nanmax(self._h[i0:i1]))

    def visible(self) -> tuple[np.ndarray, ...]:
        """The candles to draw now: visible ones, merged to fit the pixel width."""
        vb = self.getViewBox()
        if vb is None or not len(self._t):
            return (np.zeros(0),) * 5
        (x0, x1), _ = vb.viewRange()
        i0 = max(0, int(np.searchsorted(self._t, x0 - self._step)))
        i1 = min(len(self._t), int(np.searchsorted(self._t, x1 + self._step, side="right")))
        width_px = max(1.0, vb.width())
        return bucket(self._t, self._o, self._h, self._l, self._c, i0, i1,
                      max(1, int(width_px / MIN_PX)))

    def paint(self, p: QPainter, *_: Any) -> None:
        t, o, h, lo, c = self.visible()
        if not len(t):
            return
        span = (t[-1] - t[0]) / max(1, len(t) - 1) if len(t) > 1 else self._step
        half = 0.35 * max(span, self._step)
        up = c >= o
        for mask, color in ((up, self.up_color), (~up, self.down_color)):
            if not mask.any():
                continue
            tx, ox, hx, lx, cx = t[mask], o[mask], h[mask], lo[mask], c[mask]
            pen = QPen(color)
            pen.setCosmetic(True)
            pen.setWidthF(1.0)
            p.setPen(pen)
            p.drawPath(pg.arrayToQPath(np.repeat(tx, 2), np.column_stack([lx, hx]).ravel(),
                                       connect="pairs", finiteCheck=False))
            p.setBrush(color)
            p.drawPath(_bodies(tx, np.minimum(ox, cx), np.maximum(ox, cx), half))

    def export_rows(self) -> list[tuple[float, float, float, float, float]]:
        return list(zip(self._t.tolist(), self._o.tolist(), self._h.tolist(),
                        self._l.tolist(), self._c.tolist(), strict=True))


def _bodies(t: np.ndarray, bottom: np.ndarray, top: np.ndarray, half: float) -> QPainterPath:
    """One path of closed rectangles (a candle body each)."""
    n = len(t)
    xs = np.empty((n, 5))
    ys = np.empty((n, 5))
    left, right = t - half, t + half
    xs[:, 0], xs[:, 1], xs[:, 2], xs[:, 3], xs[:, 4] = left, right, right, left, left
    ys[:, 0], ys[:, 1], ys[:, 2], ys[:, 3], ys[:, 4] = bottom, bottom, top, top, bottom
    connect = np.ones((n, 5), dtype=bool)
    connect[:, -1] = False
    return pg.arrayToQPath(xs.ravel(), ys.ravel(), connect=connect.ravel(), finiteCheck=False)
