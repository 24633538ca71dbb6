"""Providers: every provider's health, rate-limit use, freshness and key state, with a
details pane (response-time history, failures, enable/disable, collect now)."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from cryptohub_desktop.core.topics import TOPICS
from cryptohub_desktop.ui.hub_state import connected, remote
from cryptohub_desktop.ui.models import providers as provider_models
from cryptohub_desktop.ui.statusbar import counts_text
from cryptohub_desktop.ui.views.base import View, heading, muted
from cryptohub_desktop.ui.views.provider_details import ProviderDetails
from cryptohub_desktop.ui.widgets.delegates import RateBarDelegate, StatusDelegate
from cryptohub_desktop.ui.widgets.table import DataTable


class ProvidersView(View):
    """The providers page.

    Signals:
        open_view(str, object): go to Settings with a key entry to fill.
    """

    key = "providers"
    title = "Providers"
    topics = TOPICS
    open_view = Signal(str, object)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = provider_models.make_model()
        self.table = DataTable(self.model, "providers", "Loading the provider catalogue…",
                               filter_box=True, stretch="status_reason",
                               max_widths={"name": 190, "freshness": 130})
        v = self.table.view
        v.setItemDelegateForColumn(self.model.column_of("status"), StatusDelegate(self))
        v.setItemDelegateForColumn(self.model.column_of("rate_pct"), RateBarDelegate(self))
        self.table.row_selected.connect(self.on_table_row_selected)
        self.details = ProviderDetails(self.api, ctx.theme, ctx.rules)
        self.details.add_key.connect(self.on_details_add_key)
        self.details.ran.connect(lambda *_: self.poke())
        self.details.toggled.connect(lambda *_: self.poke())
        self.summary = muted("")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([480, 320])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Providers"))
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)

    async def refresh(self) -> None:
        api = self.api
        rows = provider_models.provider_rows(await api.providers(),
                                             await api.rate_limits(),
                                             await api.freshness())
        self.model.set_rows(rows)
        # the same numbers as the status bar (both from HubApi.counts, read now)
        counts = api.counts()
        others = {s: sum(1 for r in rows if r["status"] == s) for s in ("needs_key", "disabled")}
        needs = others["needs_key"]
        self.summary.setText(
            f"{len(rows)} providers: {counts_text(counts, html=False)}, "
            f"{others['disabled']} disabled"
            + (f". {needs} need a key on the hub." if needs and remote(api) else
               f". {needs} need a key: select one and use “Add key…”." if needs else ".")
            + (" This computer is offline: providers that cannot be reached show offline."
               if not api.network().get("online", True) else ""))
        current = self.table.current_row()
        if current is not None:
            i = self.model.find(current["id"])
            if i >= 0:
                self.details.show_row(self.model.row(i))
                await self.details.load()

    def apply_access(self) -> None:
        """The hub is away: what the table shows is its last known state, and says so."""
        self.details.apply_access()
        lost = "Last known, from before the hub connection was lost: "
        text = self.summary.text().removeprefix(lost)
        self.summary.setText(text if connected(self.api) else lost + text)

    def focus_item(self, provider_id: str) -> None:
        self.table.select_key(provider_id)

    def on_table_row_selected(self, row: dict[str, Any]) -> None:
        self.details.show_row(row)
        self.details.pid = row["id"]
        try:
            asyncio.ensure_future(self.details.load())
        except RuntimeError:
            pass

    def on_details_add_key(self, entry: str) -> None:
        self.open_view.emit("settings", entry)
