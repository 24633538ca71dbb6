"""Pools: each category's source pool, its strategy, members in order with health, the
current provider and rotation history; the strategy and the order can be changed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.core.topics import POOL_STRATEGIES
from cryptohub_desktop.ui.hub_state import gate
from cryptohub_desktop.ui.models.pools import history_model, members_model, pools_model
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.widgets.delegates import StatusDelegate
from cryptohub_desktop.ui.widgets.table import DataTable

EXPLAIN = {
    "priority": "the first healthy member in this order answers",
    "round_robin": "healthy members take turns, in this order",
    "least_used": "the healthy member used least so far answers",
}


class PoolsView(View):
    key = "pools"
    title = "Pools"
    topics = ("health_checker",)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.pools = pools_model()
        self.pools_table = DataTable(self.pools, "pools", "Pools appear once the hub started.")
        self.pools_table.row_selected.connect(self.on_pools_table_row_selected)
        self.members = members_model()
        self.members_table = DataTable(self.members, "pool-members", "This pool has no member.",
                                       stretch="provider_id")
        self.members_table.view.setSortingEnabled(False)
        self.members_table.view.setItemDelegateForColumn(self.members.column_of("status"),
                                                         StatusDelegate(self))
        self.history = history_model()
        self.history_table = DataTable(self.history, "rotations",
                                       "No rotation yet: the pool has kept its current provider.",
                                       stretch="reason")
        self.strategy = QComboBox()
        for s in POOL_STRATEGIES:
            self.strategy.addItem(s.replace("_", " "), s)
        self.strategy.activated.connect(self.on_strategy_activated)
        self.up = QPushButton("Move up")
        self.down = QPushButton("Move down")
        self.up.clicked.connect(lambda: self.on_move_clicked(-1))
        self.down.clicked.connect(lambda: self.on_move_clicked(1))
        self.explain = muted("")
        self.message = muted("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Strategy"))
        bar.addWidget(self.strategy)
        bar.addStretch(1)
        bar.addWidget(self.up)
        bar.addWidget(self.down)
        mcard = Card("Members in order")
        mcard.body.addLayout(bar)
        mcard.body.addWidget(self.explain)
        mcard.body.addWidget(self.members_table, 1)
        mcard.body.addWidget(self.message)
        hcard = Card("Rotation history")
        hcard.body.addWidget(self.history_table)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(mcard)
        right.addWidget(hcard)
        pcard = Card("Pools")
        pcard.body.addWidget(self.pools_table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(pcard)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([560, 640])
        pcard.setMinimumWidth(220)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Pools"))
        lay.addWidget(muted("Each category is a pool of providers. When the current provider "
                            "fails, is rate limited or its circuit opens, the pool rotates to "
                            "the next healthy member and records why."))
        lay.addWidget(split, 1)
        self.selected: str | None = None
        self._data: dict[str, dict[str, Any]] = {}
        self.apply_access()

    def apply_access(self) -> None:
        for w in (self.strategy, self.up, self.down):
            w.setEnabled(True)
        gate(self.api, (self.strategy, self.up, self.down),
             {self.strategy: "How the pool picks the provider that answers",
              self.up: "Move the selected member up", self.down: "Move the selected member down"})

    async def refresh(self) -> None:
        data = (await self.api.pools())["pools"]
        self._data = {p["name"]: p for p in data}
        self.pools.set_rows([{**p, "healthy": sum(1 for m in p["members"] if m["healthy"])}
                             for p in data])
        if self.selected is None and data:
            self.pools_table.select_key(data[0]["name"])
        self._show_selected()

    def on_pools_table_row_selected(self, row: dict[str, Any]) -> None:
        self.selected = row["name"]
        self._show_selected()

    def _show_selected(self) -> None:
        pool = self._data.get(self.selected or "")
        if pool is None:
            return
        i = self.strategy.findData(pool["strategy"])
        self.strategy.setCurrentIndex(i)
        self.explain.setText(f"{pool['strategy'].replace('_', ' ')}: "
                             f"{EXPLAIN.get(pool['strategy'], '')}. Current provider: "
                             f"{pool['current_provider'] or 'none yet'}.")
        self.members.set_rows([{**m, "current": m["provider_id"] == pool["current_provider"]}
                               for m in pool["members"]])
        self.history.set_rows(list(reversed(pool["rotation_history"])))

    def focus_item(self, name: str) -> None:
        self.pools_table.select_key(name)

    @asyncSlot()
    async def on_strategy_activated(self, _index: int) -> None:
        await self.set_strategy(self.strategy.currentData())

    async def set_strategy(self, strategy: str) -> None:
        """Use ``strategy`` for the selected pool and store it."""
        if self.selected is None:
            return
        result = await self.api.set_pool_strategy(self.selected, strategy)
        self.message.setText(result.message)
        await self.refresh()

    @asyncSlot()
    async def on_move_clicked(self, step: int) -> None:
        row = self.members_table.current_row()
        if row is not None:
            await self.move(row["provider_id"], step)

    async def move(self, provider_id: str, step: int) -> None:
        """Move a member up (-1) or down (+1) in the selected pool and store the order."""
        if self.selected is None:
            return
        order = [m["provider_id"] for m in self.members.rows]
        i = order.index(provider_id)
        j = max(0, min(len(order) - 1, i + step))
        if i == j:
            return
        order[i], order[j] = order[j], order[i]
        result = await self.api.set_pool_order(self.selected, order)
        self.message.setText(f"{self.selected}: {provider_id} moved to position {j + 1}"
                             if result.ok else result.message)
        await self.refresh()
        self.members_table.select_key(provider_id)
