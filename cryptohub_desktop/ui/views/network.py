"""Network: gas per chain, RPC node heights and lag, explorer statistics, on-chain metrics."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

from cryptohub_desktop.ui.models import data as data_models
from cryptohub_desktop.ui.views.base import Card, View, heading, muted
from cryptohub_desktop.ui.widgets.table import DataTable


class NetworkView(View):
    key = "network"
    title = "Network"
    topics = ("explorers", "rpc_nodes", "onchain")

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.gas = data_models.gas_model()
        self.nodes = data_models.nodes_model()
        self.explorers = data_models.explorers_model()
        self.onchain = data_models.onchain_model()
        self.gas_table = DataTable(self.gas, "gas", "No gas readings yet (explorers and "
                                   "mempool.space, every 5 min).")
        self.nodes_table = DataTable(self.nodes, "rpc-nodes", "No RPC node checked yet "
                                     "(every 5 min).", filter_box=True)
        self.explorers_table = DataTable(self.explorers, "chain-stats",
                                         "No explorer statistics yet.")
        self.onchain_table = DataTable(self.onchain, "onchain", "No on-chain metrics yet "
                                       "(DefiLlama, Coin Metrics, every 5 min).",
                                       filter_box=True, max_widths={"metric": 190})
        self.nodes_note = muted("")
        grid = QGridLayout()
        cards = [("Gas", self.gas_table, 0, 0), ("Chain statistics", self.explorers_table, 0, 1),
                 ("RPC nodes: block height and lag behind the highest", self.nodes_table, 1, 0),
                 ("On-chain metrics", self.onchain_table, 1, 1)]
        for title, table, r, c in cards:
            card = Card(title)
            if table is self.nodes_table:
                card.body.addWidget(self.nodes_note)
            card.body.addWidget(table)
            grid.addWidget(card, r, c)
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(heading("Network"))
        lay.addLayout(grid, 1)

    async def refresh(self) -> None:
        api = self.api
        self.gas.set_rows((await api.gas())["gas"])
        blocks = await api.blocks()
        nodes = [{"chain": c["chain"], **n} for c in blocks["blocks"] for n in c["nodes"]]
        self.nodes.set_rows(nodes)
        self.explorers.set_rows(blocks["explorers"])
        self.onchain.set_rows((await api.onchain())["onchain"])
        if blocks["blocks"]:
            self.nodes_note.setText(" · ".join(
                f"{c['chain']}: block {c['highest_block']:,} "
                f"({len(c['nodes'])} node{'s' * (len(c['nodes']) != 1)})"
                for c in blocks["blocks"]))
        else:
            self.nodes_note.setText("")
