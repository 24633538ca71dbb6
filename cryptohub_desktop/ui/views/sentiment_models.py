"""Sentiment models: which text model is active, whether the optional transformer
is installed and its model present, and a box to score a sentence."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, RowsModel
from cryptohub_desktop.ui.theme import DOWN, UP, set_role
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.widgets.table import DataTable

_LABEL_COLORS = {"positive": UP, "negative": DOWN, "neutral": "#868e96"}


def _yes(v: bool) -> str:
    return "yes" if v else "no"


class SentimentModelsView(View):
    """The seed's ML console.

    Signals:
        scored(str, float): a sentence was scored (label, score).
    """

    key = "sentiment_models"
    title = "Sentiment models"
    topics = ()
    scored = Signal(str, float)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Sentiment models"))
        lay.addWidget(muted("Headlines and Reddit posts are scored by the active text model. "
                            "The offline lexicon model always works; the optional CryptoBERT "
                            "transformer is used when installed and its model is in the local "
                            "cache (it is never downloaded automatically)."))
        card = Card("Active model")
        form = QFormLayout()
        self.model_name = QLabel("loading…")
        set_role(self.model_name, "big")
        self.installed = QLabel()
        self.present = QLabel()
        self.terms = QLabel()
        self.detail = muted()
        form.addRow("Model", self.model_name)
        form.addRow("Transformer installed", self.installed)
        form.addRow("Transformer model present", self.present)
        form.addRow("Crypto lexicon terms", self.terms)
        form.addRow("Details", self.detail)
        card.body.addLayout(form)
        lay.addWidget(card)

        box = Card("Score a sentence")
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setPlaceholderText("e.g. Bitcoin ETF approval sends BTC to a new high")
        self.input.returnPressed.connect(self.on_score_clicked)
        self.score_button = QPushButton("Score")
        self.score_button.clicked.connect(self.on_score_clicked)
        row.addWidget(self.input, 1)
        row.addWidget(self.score_button)
        box.body.addLayout(row)
        self.result = QLabel("Type a sentence and press Score.")
        set_role(self.result, "muted")
        box.body.addWidget(self.result)
        self.history = RowsModel([
            Column("text", "Sentence"),
            Column("label", "Label"),
            Column("score", "Score", fmt=lambda v: f"{v:+.3f}", numeric=True),
            Column("model", "Model"),
        ], key=lambda r: r["n"])
        self.history_table = DataTable(self.history, "sentiment-scores",
                                       "Sentences you score appear here.", stretch="text")
        box.body.addWidget(self.history_table, 1)
        lay.addWidget(box, 1)
        self._n = 0

    async def refresh(self) -> None:
        st = await self.api.text_model()
        if st.get("active_model") is None:
            self.model_name.setText("not loaded")
            self.detail.setText(str(st.get("detail") or "The text model loads when the hub "
                                "starts."))
            return
        self.model_name.setText(str(st.get("active_model")))
        self.installed.setText(_yes(st.get("transformer_installed", False)))
        self.present.setText(_yes(st.get("transformer_model_present", False)))
        self.terms.setText(str(st.get("crypto_terms", "")))
        self.detail.setText(str(st.get("detail", "")))

    @asyncSlot()
    async def on_score_clicked(self) -> None:
        await self.score(self.input.text())

    async def score(self, text: str) -> tuple[str, float] | None:
        """Score ``text`` with the active model (off the UI thread) and show it."""
        text = text.strip()
        if not text:
            self.result.setText("Type a sentence first.")
            return None
        self.score_button.setEnabled(False)
        try:
            scored = await self.api.score_text(text)
        except RuntimeError:
            self.result.setText("The text model is still loading.")
            return None
        finally:
            self.score_button.setEnabled(True)
        label, value, name = scored["label"], float(scored["score"]), scored["model"]
        color = _LABEL_COLORS.get(label, "#868e96")
        self.result.setText(f"<span style='color:{color}; font-weight:600'>{label}</span> "
                            f"score {value:+.3f} ({fmt.number(value * 100, 0)} on a −100…100 "
                            f"scale) by {name}")
        self._n += 1
        self.history.set_rows([{"n": self._n, "text": text, "label": label, "score": value,
                                "model": name}, *self.history.rows][:50])
        self.scored.emit(label, value)
        await self.refresh()
        return label, value
