"""News & sentiment: headlines with their sentiment, Fear & Greed, text sentiment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget
from qasync import asyncSlot

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.freshness import LIMITS, age_text, stale_color
from cryptohub_desktop.ui.models.data import SENTIMENT_COLORS, news_model
from cryptohub_desktop.ui.models.table import Column, RowsModel
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.widgets.gauge import FearGreedGauge
from cryptohub_desktop.ui.widgets.ratio_bar import RatioBar
from cryptohub_desktop.ui.widgets.table import DataTable

NEWS_LIMIT = 200
METRICS = [
    Column("metric_name", "Metric", fmt=fmt.metric_name),
    Column("value", "Value", fmt=lambda v: fmt.number(v, 3), numeric=True),
    Column("classification", "Reading"),
    Column("source", "Source"),
    Column("timestamp", "Updated", value=age_text("sentiment"), color=stale_color("sentiment"),
           tooltip=lambda r: fmt.local(r.get("timestamp"))),
]


class NewsSentimentView(View):
    key = "news"
    title = "News & sentiment"
    topics = ("news", "sentiment")

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.gauge = FearGreedGauge()
        self.gauge_note = muted("")
        self.ratio = RatioBar()
        self.ratio_note = muted("")
        self.metrics = RowsModel(METRICS, key=lambda r: (r["metric_name"], r["source"]))
        self.metrics_table = DataTable(self.metrics, "sentiment-metrics",
                                       "Reddit and headline sentiment arrive with the "
                                       "sentiment collectors.", stretch="metric_name",
                                       compact=True)
        self.news = news_model()
        self.news_table = DataTable(self.news, "news", "No headlines yet: news collectors run "
                                    "every 10 minutes.", filter_box=True, stretch="title")
        self.news_table.view.doubleClicked.connect(self.on_news_double_clicked)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all stored headlines (Enter)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(280)
        self.search.returnPressed.connect(self.on_search_return_pressed)
        self.news_table.tools.insertWidget(0, self.search)

        top = QHBoxLayout()
        g = Card("Fear & Greed")
        g.body.addWidget(self.gauge)
        g.body.addWidget(self.gauge_note)
        g.setFixedWidth(280)
        for card in (g,):
            card.setMaximumHeight(230)
        h = Card("Headline sentiment")
        h.body.addWidget(self.ratio)
        h.body.addWidget(self.ratio_note)
        self.model_note = muted("")
        h.body.addWidget(self.model_note)
        h.body.addStretch(1)
        m = Card("Text sentiment metrics")
        m.body.addWidget(self.metrics_table)
        top.addWidget(g)
        top.addWidget(h, 1)
        top.addWidget(m, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("News & sentiment"))
        lay.addLayout(top)
        n = Card("Headlines (double-click to open)")
        n.body.addWidget(self.news_table)
        lay.addWidget(n, 1)

    async def refresh(self) -> None:
        api = self.api
        q = self.search.text().strip() or None
        news = (await api.news(limit=NEWS_LIMIT, q=q))["news"]
        self.news.set_rows(news)
        sent = await api.sentiment()
        fg = sent.get("fear_greed")
        stale = bool(fg) and fmt.is_stale(fg["timestamp"], LIMITS["fear_greed"])
        self.gauge.set_value(fg["value"] if fg else None, (fg or {}).get("classification", ""),
                             stale=stale)
        self.gauge_note.setText(
            f"{fg['source']} · {fmt.as_of(fg['timestamp'], LIMITS['fear_greed'])}" if fg
            else "No Fear & Greed reading yet.")
        text = sent.get("text") or {}
        self.metrics.set_rows(text.get("metrics") or [])
        heads = text.get("headlines") or {}
        window = heads.get("window_hours", 24)
        if heads.get("count"):
            counts = {k: heads.get(k, 0) for k in SENTIMENT_COLORS}
            note = (f"{heads['count']} headlines in the last {window} h, average score "
                    f"{heads.get('average_score') or 0:+.2f}")
        else:
            counts = {k: sum(1 for a in news if a.get("sentiment") == k) for k in SENTIMENT_COLORS}
            note = (f"No headline in the last {window} h: the bar counts the {len(news)} "
                    "stored headlines below." if news else "No headlines stored yet.")
        self.ratio.set_parts([(k, counts[k], SENTIMENT_COLORS[k])
                              for k in ("positive", "neutral", "negative")])
        self.ratio_note.setText(note + "\n" + " · ".join(
            f"{counts[k]} {k}" for k in ("positive", "neutral", "negative")))
        self.model_note.setText(f"Scored by {text.get('model') or 'the text model'} "
                                "(see Sentiment models).")

    @asyncSlot()
    async def on_search_return_pressed(self) -> None:
        await self.refresh()

    def on_news_double_clicked(self, _index: Any) -> None:
        row = self.news_table.current_row()
        if row and row.get("url"):
            QDesktopServices.openUrl(QUrl(row["url"]))
