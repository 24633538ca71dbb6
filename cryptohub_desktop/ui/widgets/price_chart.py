"""The price chart: several sources overlaid as lines, or candles, with a crosshair and
the volume as bars along its bottom.

Lines use pyqtgraph's peak downsampling and clip-to-view, candles use
:class:`~cryptohub_desktop.ui.widgets.candles.CandlestickItem` (visible candles
only, merged per pixel bucket), so a year of 1-minute candles pans and zooms
smoothly; the volume pane draws its bars the same way (:class:`~.volume.VolumeBars`). New data
is coalesced: :meth:`PriceChart.set_series` stores it and a 250 ms timer applies the
latest.

A range ends at now (:meth:`PriceChart.set_window`, from the answer's ``start`` and
``end``), so old data looks old: a day in May shown in December sits far left of an
axis that carries the year. A source with a single point is drawn as a dot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.theme import SERIES, set_role
from cryptohub_desktop.ui.widgets.candles import CandlestickItem
from cryptohub_desktop.ui.widgets.export import write_csv
from cryptohub_desktop.ui.widgets.grid import GridItem
from cryptohub_desktop.ui.widgets.time_axis import TimeAxis
from cryptohub_desktop.ui.widgets.volume import VolumeBars

FEW_POINTS = 3  # a source with fewer points is drawn with dots


class PriceAxis(pg.AxisItem):
    """Prices with thousands separators and only the decimals the scale needs."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        digits = 0 if spacing >= 1 else min(8, max(0, -int(np.floor(np.log10(spacing)))))
        return [f"{v:,.{digits}f}" for v in values]


#: window ending now; "max" shows all stored history (20 years)
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "1y": 365 * 86400,
          "max": 20 * 365 * 86400}
MODES = ("line", "candles")


@dataclass
class Series:
    """One source's prices: ``t`` Unix seconds ascending; OHLC arrays optional."""

    source: str
    t: np.ndarray
    close: np.ndarray
    open: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    interval: str = ""
    color: str = field(default="")
    volume: np.ndarray | None = None

    @property
    def has_ohlc(self) -> bool:
        return self.open is not None and self.high is not None and self.low is not None

    def value_at(self, x: float) -> float | None:
        if not len(self.t):
            return None
        i = int(np.searchsorted(self.t, x, side="right")) - 1
        if i < 0:
            return None
        return float(self.close[i])


class PriceChart(QWidget):
    """The plot (range, mode and symbol controls live in the owning view).

    Signals:
        applied(): pending data was drawn.
        user_moved(): the user panned or zoomed (the chart stops following).
    """

    applied = Signal()
    user_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range_key = "24h"
        self.mode = "line"
        self.series: list[Series] = []
        self._pending: list[Series] | None = None
        self._follow = True
        self._lines: dict[str, pg.PlotDataItem] = {}
        self._layout: list[tuple[str, bool]] | None = None
        self.window_range: tuple[float, float] | None = None
        self.time_axis = TimeAxis()
        self.plot = pg.PlotWidget(axisItems={"bottom": self.time_axis,
                                             "left": PriceAxis(orientation="left")})
        self.plot.setMinimumHeight(220)
        self.item = self.plot.getPlotItem()
        self.grid = GridItem(self.item)
        self.item.setClipToView(True)
        self.item.setDownsampling(auto=True, mode="peak")
        self.item.hideButtons()
        self.item.getAxis("left").setWidth(70)
        self.legend = self.item.addLegend(offset=(10, 6), labelTextSize="8pt", colCount=5)
        self.vb = self.item.getViewBox()
        self.vb.setAutoVisible(y=True)
        self.vb.sigRangeChangedManually.connect(self.on_vb_range_changed_manually)
        self.candles = CandlestickItem()
        self.candles.setZValue(5)
        self.vline = pg.InfiniteLine(angle=90, movable=False,
                                     pen=pg.mkPen((128, 128, 128, 150), style=Qt.PenStyle.DashLine))
        self.hline = pg.InfiniteLine(angle=0, movable=False,
                                     pen=pg.mkPen((128, 128, 128, 150), style=Qt.PenStyle.DashLine))
        for line in (self.vline, self.hline):
            line.setZValue(20)
            line.hide()
            self.item.addItem(line, ignoreBounds=True)
        self.empty = pg.TextItem("", anchor=(0.5, 0.5), color=(130, 130, 130))
        self.empty.setZValue(30)
        self.item.addItem(self.empty, ignoreBounds=True)
        self.volume_bars = VolumeBars()  # along the bottom fifth, behind the prices
        self.volume_bars.setZValue(-5)
        self.item.addItem(self.volume_bars, ignoreBounds=True)
        self.volume_shown = False
        self.crosshair = QLabel(" ")
        set_role(self.crosshair, "muted")
        self.crosshair.setTextFormat(Qt.TextFormat.RichText)
        self.plot.scene().sigMouseMoved.connect(self.on_scene_mouse_moved)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.apply_pending)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.crosshair)
        self.set_empty_text("No price history yet.")
        self.fit()

    # --- look ---------------------------------------------------------------------------
    def set_colors(self, background: str, foreground: str) -> None:
        self.plot.setBackground(background)
        fill = QColor(background)
        fill.setAlpha(215)
        self.legend.setBrush(fill)
        self.legend.setPen(pg.mkPen(foreground, width=0.5))
        self.legend.setLabelTextColor(foreground)
        grid = QColor(foreground)
        grid.setAlpha(45)
        self.grid.set_color(grid.name(QColor.NameFormat.HexArgb))
        for name in ("left", "bottom"):
            ax = self.item.getAxis(name)
            ax.setPen(pg.mkPen(foreground))
            ax.setTextPen(pg.mkPen(foreground))
        # opaque (the background mixed with a quarter of the foreground): an opaque fill is
        # ~7x cheaper for Qt's raster engine than a blended one
        bg, fg = QColor(background), QColor(foreground)
        self.volume_bars.color = QColor(*(round(0.75 * b + 0.25 * f) for b, f in (
            (bg.red(), fg.red()), (bg.green(), fg.green()), (bg.blue(), fg.blue()))))
        self.volume_bars.update()
        self.time_axis.setLabel(f"times in {fmt.zone_name()}", color=foreground)

    def set_empty_text(self, text: str) -> None:
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        self._place_empty()

    def _place_empty(self) -> None:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        self.empty.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    # --- data ---------------------------------------------------------------------------
    def set_series(self, series: list[Series]) -> None:
        """Show ``series`` within 250 ms (several calls in that time draw once)."""
        self._pending = series
        if not self._timer.isActive():
            self._timer.start()

    def apply_pending(self) -> None:
        self._timer.stop()
        if self._pending is None:
            return
        self.series, self._pending = self._pending, None
        self._redraw()
        self.applied.emit()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self._layout = None
        self._redraw()

    def set_range(self, key: str) -> None:
        """Show the last ``key`` (1h, 24h, 7d, 30d, 1y, max) and follow it."""
        if key not in RANGES:
            raise ValueError(key)
        self.range_key = key
        self._follow = True
        self.fit()

    def set_window(self, start: float | None, end: float | None) -> None:
        """The time window of the data shown (the answer's start and end: up to now).
        None: up to the newest data point (a chart without a hub)."""
        self.window_range = (start, end) if start is not None and end is not None else None
        self.time_axis.follow_zone()

    def primary(self) -> Series | None:
        """The source drawn as candles: the one with the most candles."""
        ohlc = [s for s in self.series if s.has_ohlc and len(s.t)]
        return max(ohlc, key=lambda s: len(s.t)) if ohlc else None

    def _redraw(self) -> None:
        """Draw :attr:`series`: new data for the same sources only updates the items in
        place (creating plot items and the legend costs far more than new data)."""
        primary = self.primary() if self.mode == "candles" else None
        layout = [(s.source, s is primary) for s in self.series]
        for i, s in enumerate(self.series):
            s.color = s.color or SERIES[i % len(SERIES)]
        if layout != self._layout:
            self._rebuild(primary)
            self._layout = layout
        else:
            for s in self.series:
                if s is primary:
                    assert s.open is not None and s.high is not None and s.low is not None
                    self.candles.set_data(s.t, s.open, s.high, s.low, s.close)
                else:
                    self._lines[s.source].setData(s.t, s.close, **_dots(s))
        self._draw_volume(primary)
        if any(len(s.t) for s in self.series):
            self.set_empty_text("")
        if self._follow:
            self.fit()

    def volume_source(self, primary: Series | None = None) -> Series | None:
        """The series whose volumes the pane shows: the candles drawn, else the source
        with the most candles that carry volume."""
        if primary is not None and primary.volume is not None:
            return primary
        with_vol = [s for s in self.series if s.volume is not None and len(s.t)]
        return max(with_vol, key=lambda s: len(s.t)) if with_vol else None

    def _draw_volume(self, primary: Series | None) -> None:
        src = self.volume_source(primary)
        had = self.volume_shown
        if src is None or src.volume is None or not np.nansum(src.volume):
            self.volume_bars.set_data(np.zeros(0), np.zeros(0))
            self.volume_shown = False
        else:
            self.volume_bars.set_data(src.t, src.volume)
            self.volume_shown = True
        if had != self.volume_shown or self.volume_shown:
            self.legend.removeItem("volume")
            if self.volume_shown:
                self.legend.addItem(pg.BarGraphItem(x=[0], height=[1], width=1,
                                                    brush=self.volume_bars.color), "volume")



    def _rebuild(self, primary: Series | None) -> None:
        for line in self._lines.values():
            self.item.removeItem(line)
        self._lines.clear()
        self.legend.clear()
        if self.candles.scene() is not None:
            self.item.removeItem(self.candles)
        for s in self.series:
            if s is primary:
                assert s.open is not None and s.high is not None and s.low is not None
                self.candles.set_data(s.t, s.open, s.high, s.low, s.close)
                self.item.addItem(self.candles)
                self.legend.addItem(pg.BarGraphItem(x=[0], height=[1], width=1,
                                                    brush=QColor(s.color)),
                                    f"{s.source} (candles)")
                continue
            line = pg.PlotDataItem(s.t, s.close, pen=pg.mkPen(s.color, width=1),
                                   name=s.source, skipFiniteCheck=True, **_dots(s))
            self.item.addItem(line)  # takes the plot's peak downsampling + clip-to-view
            self._lines[s.source] = line

    def fit(self) -> None:
        """Show the selected range: up to now (the window), or without one up to the
        newest data point; "max" starts at the first point."""
        ends = [float(s.t[-1]) for s in self.series if len(s.t)]
        self.item.getAxis("left").setStyle(showValues=bool(ends))
        span = RANGES[self.range_key]
        if self.window_range is not None:
            start, end = self.window_range
        else:
            end = max(ends) if ends else datetime.now(UTC).timestamp()
            start = end - span
        if not ends:
            self.vb.setRange(xRange=(start, end), yRange=(0, 1), padding=0)
            self._place_empty()
            return
        first = min(float(s.t[0]) for s in self.series if len(s.t))
        if self.range_key == "max" or self.window_range is None:
            start = max(start, first) if end - first > 0 else end - span
        pad = (end - start) * 0.02 or 60.0
        self.vb.setXRange(start - pad, end + pad, padding=0)
        self.vb.enableAutoRange(axis="y")
        self._place_empty()

    def on_vb_range_changed_manually(self, *_: object) -> None:
        self._follow = False
        self.user_moved.emit()

    # --- crosshair ----------------------------------------------------------------------
    def on_scene_mouse_moved(self, pos: object) -> None:
        if not self.series or not self.item.sceneBoundingRect().contains(pos):
            return
        point = self.vb.mapSceneToView(pos)
        self.show_crosshair(point.x(), point.y())

    def show_crosshair(self, x: float, y: float) -> str:
        """Put the crosshair at (x, y) and write each source's price there."""
        self.vline.setPos(x)
        self.hline.setPos(y)
        self.vline.show()
        self.hline.show()
        when = fmt.local(datetime.fromtimestamp(x, UTC))
        parts = [f"<b>{when}</b>", f"cursor {y:,.2f}"]
        for s in self.series:
            v = s.value_at(x)
            if v is not None:
                parts.append(f"<span style='color:{s.color}'>■</span> {s.source} {v:,.2f}")
        text = " · ".join(parts)
        self.crosshair.setText(text)
        return text

    # --- export -------------------------------------------------------------------------
    def hide_crosshair(self) -> None:
        self.vline.hide()
        self.hline.hide()
        self.crosshair.setText(" ")

    def export_csv(self, path: Path) -> Path:
        """Every series as rows: time (UTC), source, interval, OHLC, volume."""
        rows = []
        for s in self.series:
            for i in range(len(s.t)):
                ts = datetime.fromtimestamp(float(s.t[i]), UTC).isoformat().replace("+00:00", "Z")
                ohlc = ([float(s.open[i]), float(s.high[i]), float(s.low[i])]  # type: ignore[index]
                        if s.has_ohlc else ["", "", ""])
                vol = float(s.volume[i]) if s.volume is not None else ""
                rows.append([ts, s.source, s.interval or "tick", *ohlc, float(s.close[i]), vol])
        return write_csv(path, ["time_utc", "source", "interval", "open", "high", "low", "close",
                                "volume"], rows)

    def image(self, title: str = "") -> QPixmap:
        """The chart (and volume pane) as a picture for export: no crosshair, a title
        line above ("BTC · 24h to 2026-12-07 17:52 UTC · sources")."""
        shown = self.vline.isVisible()
        self.vline.hide()
        self.hline.hide()
        try:
            parts = [self.plot.grab()]
        finally:
            if shown:
                self.vline.show()
                self.hline.show()
        width = max(p.width() for p in parts)
        head = 34 if title else 0
        out = QPixmap(width, head + sum(p.height() for p in parts))
        out.fill(self.plot.backgroundBrush().color())
        painter = QPainter(out)
        y = head
        if title:
            f = QFont(self.font())
            f.setBold(True)
            f.setPointSizeF(f.pointSizeF() * 1.15)
            painter.setFont(f)
            painter.setPen(self.item.getAxis("left").textPen().color())
            painter.drawText(QRectF(10, 0, width - 20, head),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        for p in parts:
            painter.drawPixmap(0, y, p)
            y += p.height()
        painter.end()
        return out

    def export_png(self, path: Path, title: str = "") -> Path:
        """Save :meth:`image` as a PNG file."""
        if not self.image(title).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path


def _dots(s: Series) -> dict[str, object]:
    """Draw a source with very few points as dots (a single point has no line)."""
    if len(s.t) >= FEW_POINTS:
        return {"symbol": None}
    return {"symbol": "o", "symbolSize": 7, "symbolBrush": s.color or SERIES[0],
            "symbolPen": None}
