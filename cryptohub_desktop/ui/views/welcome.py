"""The first-run panel: what happens in the first minute, where keys go, how to backfill.

Shown at the top of the Dashboard on the first launch (and from Help → Getting started,
F1) until the user dismisses it; UiState remembers that.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cryptohub_desktop.ui.theme import Theme

TEXT = (
    "<b>Welcome to Crypto Hub Desktop.</b> "
    "<b>The first minute:</b> every provider runs once, spread over 15 seconds; after that "
    "market prices come every minute, explorers and on-chain data every 5, news every 10 "
    "and sentiment every 15 minutes. Rows fill in as answers arrive; <i>Providers</i> "
    "shows how each one is doing, and every value says how old it is. "
    "<b>Keys:</b> 30+ providers need none. For the others (CoinMarketCap, Etherscan, "
    "Whale Alert …) paste a key in <i>Settings → API keys</i>; {keychain} "
    "<b>History:</b> the chart shows what is collected from now on; "
    "<i>Backfill</i> fetches past candles for the watchlist (File → Backfill, Ctrl+B).")
WITH_KEYCHAIN = "it is kept in this computer's keychain, never in a file."
WITHOUT_KEYCHAIN = ("this computer has no usable keychain, so keys can be given as "
                    "environment variables instead (ETHERSCAN_KEY_1=… and so on).")


class WelcomePanel(QFrame):
    """The getting-started panel.

    Signals:
        add_keys(): "Add API keys…" was clicked.
        backfill(): "Backfill history…" was clicked.
        dismissed(): "Got it" was clicked.
    """

    add_keys = Signal()
    backfill = Signal()
    dismissed = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        theme.style(self, "welcome")
        self.text = QLabel(TEXT.format(keychain=WITH_KEYCHAIN))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        keys = QPushButton("Add API keys…")
        keys.clicked.connect(self.add_keys.emit)
        fill = QPushButton("Backfill history…")
        fill.clicked.connect(self.backfill.emit)
        done = QPushButton("Got it")
        done.clicked.connect(self.dismissed.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (keys, fill, done):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.addWidget(self.text)
        lay.addLayout(buttons)

    def set_keychain(self, available: bool) -> None:
        """Say where keys go on this computer."""
        self.text.setText(TEXT.format(keychain=WITH_KEYCHAIN if available
                                      else WITHOUT_KEYCHAIN))
