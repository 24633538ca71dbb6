"""The price chart: candles merged per pixel, lines, crosshair, range, export."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np

from cryptohub_desktop.ui.widgets.candles import CandlestickItem, bucket
from cryptohub_desktop.ui.widgets.price_chart import PriceChart, Series
from cryptohub_desktop.ui.widgets.time_axis import tick_text

YEAR_OF_MINUTES = 365 * 24 * 60


def _candles(n: int, start: float = 1.7e9, volume: bool = False) -> Series:
    """A price path of ``n`` 1-minute candles (a geometric walk, for drawing tests)."""
    rng = np.random.default_rng(1)
    t = start + 60.0 * np.arange(n)
    close = 50000 + np.cumsum(rng.normal(0, 20, n))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return Series("binance", t, close, open_, np.maximum(open_, close) + 5,
                  np.minimum(open_, close) - 5, "1m",
                  volume=np.full(n, 3.0) if volume else None)


def test_bucket_keeps_ohlc_rules():
    """Merged candles take the first open, highest high, lowest low and last close."""
    t = np.arange(6.0)
    o = np.array([1, 2, 3, 4, 5, 6.0])
    h = np.array([5, 9, 5, 5, 7, 5.0])
    lo = np.array([0, 1, -2, 1, 1, 1.0])
    c = np.array([2, 3, 4, 5, 6, 7.0])
    bt, bo, bh, bl, bc = bucket(t, o, h, lo, c, 0, 6, 2)
    assert list(bt) == [0, 3] and list(bo) == [1, 4] and list(bh) == [9, 7]
    assert list(bl) == [-2, 1] and list(bc) == [4, 7]


async def test_a_year_of_minute_candles_draws_a_few_hundred(qtbot):
    """With a year of 1-minute candles on screen, a paint handles at most one candle per
    3 pixels, whatever the zoom."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    chart.resize(1200, 600)
    chart.show()
    chart.mode = "candles"
    chart.range_key = "1y"
    series = _candles(YEAR_OF_MINUTES)
    chart.set_series([series])
    chart.apply_pending()
    item: CandlestickItem = chart.candles
    assert len(item) == YEAR_OF_MINUTES
    drawn = item.visible()[0]
    assert 0 < len(drawn) <= chart.vb.width() / 3 + 1
    x0, x1 = chart.vb.viewRange()[0]
    assert x1 - x0 > 360 * 86400
    end = float(series.t[-1])
    chart.vb.setXRange(end - 3600, end, padding=0)  # zoom to the last hour: real candles
    assert 55 <= len(item.visible()[0]) <= 65
    chart.grab()  # paints without error


async def test_lines_crosshair_and_export(qtbot, tmp_path):
    """Several sources overlay as lines; the crosshair names each source's price; the
    data exports as CSV and the chart as PNG."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    a = _candles(600)
    b = Series("kraken", a.t.copy(), a.close + 10.0, interval="tick")
    chart.set_series([a, b])
    chart.apply_pending()
    assert len(chart.item.listDataItems()) == 2
    text = chart.show_crosshair(float(a.t[100]), 50000.0)
    assert f"binance {a.close[100]:,.2f}" in text and f"kraken {a.close[100] + 10:,.2f}" in text
    out = chart.export_csv(tmp_path / "c.csv")
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["time_utc", "source", "interval", "open", "high", "low", "close",
                       "volume"]
    assert len(rows) == 1 + 1200
    png = chart.export_png(tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    chart.set_mode("candles")
    assert chart.candles.scene() is not None and len(chart.item.listDataItems()) == 1


async def test_range_follows_until_the_user_pans(qtbot):
    """The chart shows the chosen range up to the newest point, and keeps the user's own
    pan/zoom when new data arrives."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    s = _candles(3 * 24 * 60)
    chart.set_range("24h")
    chart.set_series([s])
    chart.apply_pending()
    x0, x1 = chart.vb.viewRange()[0]
    assert abs((x1 - x0) - 86400 * 1.04) < 600
    chart.on_vb_range_changed_manually()
    chart.vb.setXRange(s.t[0], s.t[100])
    chart.set_series([_candles(3 * 24 * 60 + 10)])
    chart.apply_pending()
    assert chart.vb.viewRange()[0][1] < s.t[200]


async def test_png_export_has_a_title_and_no_crosshair(qtbot, tmp_path):
    """The exported image is the same whether or not the crosshair is showing, and it
    carries a title line above the plot."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    s = _candles(600, volume=True)
    chart.set_series([s])
    chart.apply_pending()
    plain = chart.image("BTC · 24h").toImage()
    chart.show_crosshair(float(s.t[300]), float(s.close[300]))
    assert chart.vline.isVisible()
    crossed = chart.image("BTC · 24h").toImage()
    assert crossed == plain
    assert chart.vline.isVisible()  # the live chart keeps its crosshair
    assert plain.height() > chart.plot.height()  # the title line above the plot


async def test_volume_pane_and_csv_volume(qtbot, tmp_path):
    """Candles with volume show volume bars under the price; CSV rows carry the volume."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    chart.set_series([_candles(120, volume=True)])
    chart.apply_pending()
    assert chart.volume_shown
    assert len(chart.volume_bars) == 120
    assert chart.volume_bars.visible_max() == 3.0
    rows = list(csv.reader(chart.export_csv(tmp_path / "v.csv").read_text().splitlines()))
    assert rows[1][-1] == "3.0"
    chart.set_series([_candles(120)])  # no volume: no empty pane
    chart.apply_pending()
    assert not chart.volume_shown and len(chart.volume_bars) == 0


async def test_a_single_point_source_is_drawn(qtbot):
    """A source with one price is drawn as a dot, not left invisible."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    one = Series("kraken", np.array([1.7e9]), np.array([50000.0]), interval="tick")
    chart.set_series([_candles(60), one])
    chart.apply_pending()
    item = next(i for i in chart.item.listDataItems() if i.name() == "kraken")
    assert item.opts["symbol"] == "o"
    assert len(item.getData()[0]) == 1


async def test_range_ends_at_now_and_axis_carries_the_year(qtbot):
    """With a window ending now, 24 h of old data is placed where it belongs (far left,
    nothing drawn in range), and tick texts of another year carry that year."""
    chart = PriceChart()
    qtbot.addWidget(chart)
    now = datetime.now(UTC).timestamp()
    chart.set_window(now - 86400, now)
    chart.set_range("24h")
    chart.set_series([_candles(600, start=now - 200 * 86400)])
    chart.apply_pending()
    x0, x1 = chart.vb.viewRange()[0]
    assert x1 >= now and x0 <= now - 86400 < x0 + 86400 * 0.05
    assert tick_text(datetime(2025, 5, 17, tzinfo=UTC), 86400, 2026) == "17 May 2025"
    assert tick_text(datetime(2026, 5, 17, tzinfo=UTC), 86400, 2026) == "17 May"
    assert tick_text(datetime(2025, 5, 1, tzinfo=UTC), 31 * 86400, 2026) == "May 2025"
