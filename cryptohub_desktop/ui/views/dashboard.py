"""Dashboard: the watchlist (editable), the price chart with volume, Fear & Greed, gas
and top news; every latest value with its age, stale ones marked. On the first launch
a getting-started panel sits on top."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton, QSplitter, QVBoxLayout, QWidget

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.freshness import LIMITS, stale_color
from cryptohub_desktop.ui.hub_state import connected, remote
from cryptohub_desktop.ui.models import market as market_models
from cryptohub_desktop.ui.models.table import Column, RowsModel
from cryptohub_desktop.ui.views.base import Card, View, muted
from cryptohub_desktop.ui.views.chart_panel import ChartPanel
from cryptohub_desktop.ui.views.watchlist_edit import WatchlistDialog
from cryptohub_desktop.ui.views.welcome import WelcomePanel
from cryptohub_desktop.ui.widgets.delegates import SparklineDelegate
from cryptohub_desktop.ui.widgets.gauge import FearGreedGauge
from cryptohub_desktop.ui.widgets.table import DataTable

SPARK_BUCKET = 1800  # seconds per sparkline point (48 points a day)
CHART_EVERY = 5.0  # reload the chart at most this often on live updates

TOP_NEWS = [
    Column("title", "Headline",
           tooltip=lambda r: f"{r.get('title')}\n{r.get('source')} · "
                             f"{fmt.local(r.get('published_at'))}"),
    Column("published_at", "Age", fmt=fmt.ago_short,
           tooltip=lambda r: f"{fmt.local(r.get('published_at'))} ({fmt.ago(r.get('published_at'))})"),
]
def _gas(key: str) -> Any:
    """A gas price with its unit ("0.50 gwei", "7 sat/vB"); the full table is in Network."""
    def text(row: dict[str, Any]) -> str:
        v = row.get(key)
        return f"{fmt.number(v, 2)} {row.get('unit', '')}" if v is not None else "—"
    return text


MINI_GAS = [
    Column("blockchain", "Chain", fmt=lambda v: str(v).capitalize()),
    Column("standard", "Standard", numeric=True, display=_gas("standard"),
           tooltip=lambda r: f"slow {r.get('slow')} · fast {r.get('fast')} {r.get('unit')}"),
    Column("timestamp", "Age", value=lambda r: fmt.ago_short(r.get("timestamp")),
           color=stale_color("gas"),
           tooltip=lambda r: f"{fmt.as_of(r.get('timestamp'), LIMITS['gas'])} · "
                             f"{fmt.local(r.get('timestamp'))} · {r.get('source')}"),
]
#: watchlist columns hidden when the table is narrower than this (pixels)
WIDE_ONLY = {"market_cap": 640, "volume": 560}


class DashboardView(View):
    """The first page: what the market does now.

    Signals:
        open_view(str, object): go to another page (Settings for keys).
        backfill_requested(list): open the backfill dialog for these symbols.
    """

    key = "dashboard"
    title = "Dashboard"
    topics = ("market_data", "sentiment", "explorers", "news")
    #: live streams send many ticks a second: one refresh a second at most (four reads)
    refresh_ms = 1000
    open_view = Signal(str, object)
    backfill_requested = Signal(list)

    def wants(self, topic: str, data: dict[str, Any]) -> bool:
        """Also a stream's state change: a stream gone stale sends no tick, and its prices
        must lose their live mark anyway."""
        return super().wants(topic, data) or (topic == "health_checker"
                                               and data.get("event") == "stream")

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.welcome = WelcomePanel(ctx.theme)
        self.welcome.add_keys.connect(lambda: self.open_view.emit("settings", None))
        self.welcome.backfill.connect(lambda: self.backfill_requested.emit([]))
        self.welcome.dismissed.connect(lambda: self.show_welcome(False))
        # keys and collection are a hub's business when attached to one
        self.welcome.setVisible(not ctx.state.welcome_done and not remote(ctx.api))
        self.watch_dialog: WatchlistDialog | None = None
        self.watchlist = market_models.make_model()
        self.watch_table = DataTable(self.watchlist, "watchlist",
                                     "No prices yet: the market collectors run every minute.",
                                     stretch="spark", compact=True)
        self.watch_table.view.setToolTip("Select a symbol to chart it; right-click to export")
        spark_col = self.watchlist.column_of("spark")
        self.watch_table.view.setItemDelegateForColumn(spark_col, SparklineDelegate(self))
        self.watch_table.view.setColumnWidth(spark_col, 120)
        self.watch_table.row_selected.connect(self.on_watch_table_row_selected)
        self.chart_panel = ChartPanel(self.api, ctx.state, ctx.theme)
        self.gauge = FearGreedGauge()
        self.gauge_note = muted("")
        self.gas = RowsModel(MINI_GAS, key=lambda r: r["blockchain"])
        self.gas_table = DataTable(self.gas, "gas", "No gas readings yet.", stretch="blockchain",
                                   compact=True)
        self.news = RowsModel(TOP_NEWS, key=lambda r: r["url"])
        self.news_table = DataTable(self.news, "top-news", "No headlines yet.", stretch="title",
                                    compact=True)
        self.news_table.view.doubleClicked.connect(self.on_news_double_clicked)

        left = QSplitter(Qt.Orientation.Vertical)
        wcard = Card("Watchlist")
        self.edit_watchlist = QPushButton("Edit…")
        self.edit_watchlist.setToolTip("Add or remove symbols (search the symbol map)")
        self.edit_watchlist.clicked.connect(self.open_watchlist_editor)
        wcard.header.addWidget(self.edit_watchlist)
        wcard.body.addWidget(self.watch_table)
        wcard.setMinimumHeight(215)
        ccard = Card("Price")
        ccard.body.addWidget(self.chart_panel)
        left.addWidget(wcard)
        left.addWidget(ccard)
        left.setStretchFactor(0, 0)
        left.setStretchFactor(1, 1)
        left.setSizes([230, 600])
        right = QVBoxLayout()
        gcard = Card("Fear & Greed")
        gcard.body.addWidget(self.gauge)
        gcard.body.addWidget(self.gauge_note)
        right.addWidget(gcard)
        gascard = Card("Gas")
        gascard.body.addWidget(self.gas_table)
        gascard.setFixedHeight(200)
        right.addWidget(gascard)
        ncard = Card("Top news (double-click to open)")
        ncard.body.addWidget(self.news_table)
        right.addWidget(ncard, 1)
        side = QWidget()
        side.setLayout(right)
        side.setMinimumWidth(200)
        side.setMaximumWidth(420)
        right.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([900, 350])
        self.watch_table.installEventFilter(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.welcome)
        lay.addWidget(split, 1)
        self._spark: dict[str, dict[int, float]] = {}
        self._seeded = False
        self._chart_at = 0.0
        self.apply_access()

    def apply_access(self) -> None:
        """Attached to a hub: its watchlist is the hub's; while the hub is away, every
        price is the last known one (stale, with its age), never current."""
        if remote(self.api):
            self.edit_watchlist.setEnabled(False)
            self.edit_watchlist.setToolTip("The watchlist is the hub's: change [watchlist] "
                                           "in the hub's config.")
        if not connected(self.api):
            self.watchlist.set_rows([{**r, "fresh": False, "change": None}
                                     for r in self.watchlist.rows])

    async def refresh(self) -> None:
        api = self.api
        market = await api.market()
        if not self._seeded:
            hist = await api.price_history(hours=24, buckets=48)
            for sym, pts in hist["series"].items():
                self._spark[sym] = {int(t // SPARK_BUCKET): p for t, p in pts if p}
            self._seeded = True
        now_bucket = int(time.time() // SPARK_BUCKET)
        for m in market["market"]:
            if m.get("consensus_price"):
                series = self._spark.setdefault(m["symbol"], {})
                series[now_bucket] = m["consensus_price"]
                for b in [b for b in series if b < now_bucket - 48]:
                    del series[b]
        spark = {s: [v for _, v in sorted(d.items())] for s, d in self._spark.items()}
        self.watchlist.set_rows(market_models.watchlist_rows(market, spark))
        self.chart_panel.set_symbols(api.watchlist)

        sent = await api.sentiment()
        fg = sent.get("fear_greed")
        if fg:
            stale = fmt.is_stale(fg["timestamp"], LIMITS["fear_greed"])
            self.gauge.set_value(fg["value"], fg.get("classification") or "", stale=stale)
            ts = fg["timestamp"]
            self.gauge_note.setText(
                f"{fg['source']} · {fmt.as_of(ts, LIMITS['fear_greed'])}" if stale
                else f"{fg['source']} · {fmt.short(ts)} ({fmt.ago(ts)})")
        else:
            self.gauge.set_value(None)
            self.gauge_note.setText("alternative.me's index arrives with the sentiment "
                                    "collectors (every 15 min).")
        self.gas.set_rows((await api.gas())["gas"])
        self.news.set_rows((await api.news(limit=12))["news"])
        if time.monotonic() - self._chart_at >= CHART_EVERY:
            self._chart_at = time.monotonic()
            await self.chart_panel.load()

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt override
        if obj is self.watch_table and event.type() == QEvent.Type.Resize:
            self._fit_watch_columns()
        return False

    def _fit_watch_columns(self, *_: object) -> None:
        """Narrow: leave out market cap and volume, keep price, age and sources in view."""
        width = self.watch_table.width()
        for key, needs in WIDE_ONLY.items():
            self.watch_table.view.setColumnHidden(self.watchlist.column_of(key), width < needs)

    def reload(self) -> None:
        """Refresh now, chart included (View → Refresh)."""
        self._chart_at = 0.0
        self.poke()

    def show_welcome(self, shown: bool) -> None:
        """Show or dismiss the getting-started panel (dismissing is remembered)."""
        self.welcome.setVisible(shown)
        if not shown:
            self.ctx.state.welcome_done = True
            self.ctx.state.sync()
        else:
            try:
                asyncio.ensure_future(self._check_keychain())
            except RuntimeError:
                pass

    async def _check_keychain(self) -> None:
        ok, _ = await asyncio.to_thread(self.ctx.secrets.available)
        self.welcome.set_keychain(ok)

    def open_watchlist_editor(self) -> WatchlistDialog:
        if self.watch_dialog is None:
            self.watch_dialog = WatchlistDialog(self.ctx, self)
            self.watch_dialog.saved.connect(self.on_watchlist_saved)
        self.watch_dialog.show()
        self.watch_dialog.raise_()
        return self.watch_dialog

    def on_watchlist_saved(self, symbols: list[str]) -> None:
        self.chart_panel.set_symbols(symbols)
        self.status_message.emit(f"Watchlist saved: {', '.join(symbols)}")
        self.reload()

    def on_watch_table_row_selected(self, row: dict[str, Any]) -> None:
        self.chart_panel.symbol.setCurrentText(row["symbol"])

    def on_news_double_clicked(self, index: Any) -> None:
        row = self.news_table.current_row()
        if row and row.get("url"):
            QDesktopServices.openUrl(QUrl(row["url"]))

