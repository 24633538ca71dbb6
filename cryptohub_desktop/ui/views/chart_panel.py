"""The dashboard's chart panel: symbol, range and mode controls around the price chart,
loading its series from ``HubApi.chart`` (remembered across restarts). Ranges end at
now; an empty range says when the latest data is from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import Theme
from cryptohub_desktop.ui.widgets.export import ask_path
from cryptohub_desktop.ui.widgets.price_chart import MODES, RANGES, PriceChart, Series

RANGE_WORDS = {"1h": "the last hour", "24h": "the last 24 h", "7d": "the last 7 days",
               "30d": "the last 30 days", "1y": "the last year", "max": "any range"}


def to_series(data: dict[str, Any]) -> list[Series]:
    """``HubApi.chart`` answer -> numpy series (runs off the UI thread)."""
    out = []
    for s in data.get("series", []):
        t = np.asarray(s["t"], dtype=float)
        close = np.asarray(s["close"], dtype=float)
        if s.get("open") is not None:
            vol = s.get("volume")
            out.append(Series(s["source"], t, close, np.asarray(s["open"], dtype=float),
                              np.asarray(s["high"], dtype=float),
                              np.asarray(s["low"], dtype=float), s["interval"],
                              volume=np.asarray([v if v is not None else np.nan for v in vol],
                                                dtype=float) if vol else None))
        else:
            out.append(Series(s["source"], t, close, interval=s.get("interval", "tick")))
    return out


class ChartPanel(QWidget):
    """Controls + chart.

    Signals:
        loaded(int): series were loaded for the current symbol/range (their count).
    """

    loaded = Signal(int)

    def __init__(self, api: HubApi, state: UiState, theme: Theme,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.state = state
        self.theme = theme
        self.chart = PriceChart()
        theme.changed.connect(self.on_theme_changed)
        self.on_theme_changed(theme.dark)
        bar = QHBoxLayout()
        bar.setSpacing(2)
        self.symbol = QComboBox()
        self.symbol.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.symbol.setMinimumContentsLength(4)
        self.set_symbols(api.watchlist)
        self.symbol.currentTextChanged.connect(self.on_symbol_changed)
        bar.addWidget(self.symbol)
        bar.addSpacing(4)
        self.ranges = QButtonGroup(self)
        for key in RANGES:
            b = QToolButton()
            b.setText(key)
            b.setCheckable(True)
            b.setChecked(key == state.chart_range)
            self.ranges.addButton(b)
            bar.addWidget(b)
        self.ranges.buttonClicked.connect(self.on_range_clicked)
        bar.addSpacing(4)
        self.modes = QButtonGroup(self)
        for mode in MODES:
            b = QToolButton()
            b.setText(mode.capitalize())
            b.setCheckable(True)
            b.setChecked(mode == state.chart_mode)
            self.modes.addButton(b)
            bar.addWidget(b)
        self.modes.buttonClicked.connect(self.on_mode_clicked)
        bar.addStretch(1)
        self.export = QToolButton()
        self.export.setText("Export")
        self.export.setToolTip("Save the chart's data as CSV or its image as PNG")
        self.export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export)
        menu.addAction("Data as CSV…", self.on_csv_clicked)
        menu.addAction("Image as PNG…", self.on_png_clicked)
        self.export.setMenu(menu)
        bar.addWidget(self.export)
        self.toolbar = QWidget()
        self.toolbar.setLayout(bar)
        bar.setContentsMargins(0, 0, 0, 0)
        theme.style(self.toolbar, "toolbar")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.chart, 1)
        self.chart.range_key = state.chart_range if state.chart_range in RANGES else "24h"
        self.chart.mode = state.chart_mode if state.chart_mode in MODES else "line"
        self._loading: asyncio.Task[None] | None = None

    def set_symbols(self, symbols: list[str]) -> None:
        current = self.symbol.currentText() or self.state.chart_symbol
        self.symbol.blockSignals(True)
        self.symbol.clear()
        self.symbol.addItems(symbols)
        if current in symbols:
            self.symbol.setCurrentText(current)
        self.symbol.blockSignals(False)

    def on_theme_changed(self, _dark: bool) -> None:
        self.chart.set_colors(*self.theme.plot_colors())

    async def load(self) -> None:
        """Read the series of the chosen symbol and range and show them."""
        symbol = self.symbol.currentText()
        if not symbol or not self.api.ready:
            return
        key = self.chart.range_key
        data = await self.api.chart(symbol, RANGES[key])
        series = await asyncio.to_thread(to_series, data)
        start, end = fmt.when(data.get("start")), fmt.when(data.get("end"))
        self.chart.set_window(start.timestamp() if start else None,
                              end.timestamp() if end else None)
        if not series:
            latest = data.get("latest")
            if latest:
                self.chart.set_empty_text(
                    f"No data for {symbol} in {RANGE_WORDS[key]}.\nLatest: "
                    f"{fmt.local(latest)} ({fmt.ago(latest)}); choose “max” to see it.")
            else:
                self.chart.set_empty_text(
                    f"No price history for {symbol} yet.\nPrices appear here as collectors "
                    "run; File → Backfill (Ctrl+B) fetches past candles.")
        self.chart.set_series(series)
        self.loaded.emit(len(series))

    def on_symbol_changed(self, symbol: str) -> None:
        if symbol:
            self.state.chart_symbol = symbol
            self.chart.set_range(self.chart.range_key)
            self._reload()

    def on_range_clicked(self, button: QToolButton) -> None:
        key = button.text()
        self.state.chart_range = key
        self.chart.set_range(key)
        self._reload()

    @asyncSlot()
    async def _reload(self) -> None:
        """Read and draw at once (the user is waiting), then fit the chosen range."""
        await self.load()
        self.chart.apply_pending()
        self.chart.set_range(self.chart.range_key)

    def on_mode_clicked(self, button: QToolButton) -> None:
        mode = button.text().lower()
        self.state.chart_mode = mode
        self.chart.set_mode(mode)

    def title(self) -> str:
        """The exported image's title line."""
        sources = ", ".join(s.source for s in self.chart.series) or "no data"
        end = self.chart.window_range[1] if self.chart.window_range else None
        to = f" to {fmt.local(fmt.when(end and _iso(end)))}" if end else ""
        return (f"{self.symbol.currentText()} · {self.chart.range_key}{to} · "
                f"{self.chart.mode} · {sources}")

    def on_csv_clicked(self) -> None:
        ask_path(self, "Export chart data", f"{self.symbol.currentText()}-prices.csv",
                 "CSV files (*.csv)", self.export_csv)

    def on_png_clicked(self) -> None:
        ask_path(self, "Export chart image", f"{self.symbol.currentText()}-chart.png",
                 "PNG images (*.png)", self.export_png)

    def export_csv(self, path: Any) -> Any:
        return self.chart.export_csv(path)

    def export_png(self, path: Any) -> Any:
        """The chart as shown, without the crosshair, titled with symbol, range and time."""
        return self.chart.export_png(path, self.title())


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()
