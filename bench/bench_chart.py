"""Frames per second of the price chart while panning and zooming over one year of
1-minute candles (525,600 per source), in line and candle modes.

Each frame changes the visible range (a zoom step or a pan step) and lets Qt process the
resulting events, which paints the plot; a frame's time covers pyqtgraph's range
handling, downsampling / candle bucketing and the paint. The number of paints is counted
to make sure every frame really painted. Offscreen (software raster), 1280x760 chart,
with the volume pane under it (every candle carries a volume).

    QT_QPA_PLATFORM=offscreen python bench/bench_chart.py [--frames 300] [--sources 2]

Target (SPEC section 12): >= 60 fps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cryptohub_desktop.ui.widgets.price_chart import PriceChart, Series  # noqa: E402

MINUTES = 365 * 24 * 60


def year_of_candles(source: str, seed: int, volume: bool = True) -> Series:
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 60.0 * np.arange(MINUTES)
    close = 40000 * np.exp(np.cumsum(rng.normal(0, 0.0008, MINUTES)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0, 8, MINUTES))
    vol = np.abs(rng.normal(20, 6, MINUTES))
    return Series(source, t, close, open_, np.maximum(open_, close) + wick,
                  np.minimum(open_, close) - wick, "1m", volume=vol if volume else None)


def ranges(t0: float, t1: float, frames: int) -> list[tuple[float, float]]:
    """A zoom from the whole year to one hour, then a pan across a week, then back out."""
    out: list[tuple[float, float]] = []
    third = max(1, frames // 3)
    span0, span1 = t1 - t0, 3600.0
    for i in range(third):  # zoom in (log steps)
        span = span0 * (span1 / span0) ** (i / (third - 1 or 1))
        out.append((t1 - span, t1))
    week = 7 * 86400.0
    for i in range(third):  # pan a one-week window from the start to the end of the year
        start = t0 + (t1 - t0 - week) * i / (third - 1 or 1)
        out.append((start, start + week))
    for i in range(frames - 2 * third):  # zoom back out around the middle
        mid = (t0 + t1) / 2
        span = span1 * (span0 / span1) ** (i / max(1, frames - 2 * third - 1))
        out.append((mid - span / 2, mid + span / 2))
    return out


class _Counter(QObject):
    """Counts paint events of the plot's viewport."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def run(app: QApplication, mode: str, series: list[Series], frames: int) -> dict[str, float]:
    chart = PriceChart()
    chart.resize(1280, 760)
    chart.show()
    chart.set_mode(mode)
    chart.range_key = "1y"
    chart.set_series(series)
    chart.apply_pending()
    app.processEvents()
    counter = _Counter()
    chart.plot.viewport().installEventFilter(counter)
    t0, t1 = float(series[0].t[0]), float(series[0].t[-1])
    times = []
    for x0, x1 in ranges(t0, t1, frames):
        start = time.perf_counter()
        chart.vb.setXRange(x0, x1, padding=0)
        app.processEvents()
        times.append(time.perf_counter() - start)
    chart.close()
    assert counter.paints >= len(times), f"only {counter.paints} paints for {len(times)} frames"
    times.sort()
    total = sum(times)
    return {"frames": len(times), "paints": counter.paints, "fps": round(len(times) / total, 1),
            "p50_ms": round(1000 * statistics.median(times), 2),
            "p99_ms": round(1000 * times[int(0.99 * (len(times) - 1))], 2),
            "max_ms": round(1000 * times[-1], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--sources", type=int, default=2, help="sources overlaid (line mode)")
    ap.add_argument("--no-volume", action="store_true",
                    help="candles without volume (no volume pane), for comparison")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    t = time.perf_counter()
    series = [year_of_candles(f"source-{i + 1}", i, volume=not args.no_volume)
              for i in range(args.sources)]
    gen = time.perf_counter() - t
    results = {"candles_per_source": MINUTES, "sources": args.sources,
               "generate_s": round(gen, 2)}
    for mode in ("line", "candles"):
        results[mode] = run(app, mode, series, args.frames)
    print(json.dumps(results, indent=2))
    del app


if __name__ == "__main__":
    main()
