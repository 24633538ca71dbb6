"""Column sets of the data tables: news, whales, gas, RPC nodes, explorers, on-chain."""

from __future__ import annotations

from PySide6.QtGui import QColor

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.freshness import age_text, stale_color
from cryptohub_desktop.ui.models.table import Column, Row, RowsModel
from cryptohub_desktop.ui.theme import AMBER, DOWN, GREEN, RED, UP

SENTIMENT_COLORS = {"positive": UP, "negative": DOWN, "neutral": "#868e96"}


def _sentiment_color(row: Row) -> QColor | None:
    c = SENTIMENT_COLORS.get(str(row.get("sentiment") or ""))
    return QColor(c) if c else None


NEWS = [
    Column("published_at", "Published", fmt=fmt.short,
           tooltip=lambda r: f"{fmt.local(r['published_at'])} ({fmt.ago(r['published_at'])})"),
    Column("source", "Source"),
    Column("title", "Title", tooltip=lambda r: r.get("summary") or r.get("title")),
    Column("sentiment", "Sentiment", color=_sentiment_color),
    Column("sentiment_score", "Score", fmt=lambda v: f"{v:+.2f}", numeric=True,
           color=_sentiment_color),
]


def news_model() -> RowsModel:
    return RowsModel(NEWS, key=lambda r: r["url"])


WHALES = [
    Column("timestamp", "Time", fmt=fmt.short,
           tooltip=lambda r: f"{fmt.local(r['timestamp'], True)} ({fmt.ago(r['timestamp'])})"),
    Column("blockchain", "Chain"),
    Column("symbol", "Asset"),
    Column("amount", "Amount", fmt=lambda v: fmt.number(v, 2 if abs(v) >= 1000 else 4),
           numeric=True),
    Column("amount_usd", "Value (USD)", fmt=lambda v: fmt.compact(v, "$"), numeric=True),
    Column("from_address", "From", fmt=fmt.short_hash, tooltip=lambda r: r.get("from_address")),
    Column("to_address", "To", fmt=fmt.short_hash, tooltip=lambda r: r.get("to_address")),
    Column("transaction_hash", "Transaction", fmt=fmt.short_hash,
           tooltip=lambda r: r.get("transaction_hash")),
    Column("source", "Source"),
]


def whales_model() -> RowsModel:
    return RowsModel(WHALES, key=lambda r: (r["blockchain"], r["transaction_hash"]))


def _gas(v: object) -> str:
    return fmt.number(v, 2)


GAS = [
    Column("blockchain", "Chain"),
    Column("slow", "Slow", fmt=_gas, numeric=True),
    Column("standard", "Standard", fmt=_gas, numeric=True),
    Column("fast", "Fast", fmt=_gas, numeric=True),
    Column("unit", "Unit"),
    Column("source", "Source"),
    Column("timestamp", "Updated", value=age_text("gas"), color=stale_color("gas"),
           tooltip=lambda r: fmt.local(r["timestamp"])),
]


def gas_model() -> RowsModel:
    return RowsModel(GAS, key=lambda r: r["blockchain"])


def _lag_color(row: Row) -> QColor | None:
    lag = row.get("lag_blocks") or 0
    return QColor(GREEN if lag <= 2 else AMBER if lag <= 10 else RED)


NODES = [
    Column("chain", "Chain"),
    Column("provider", "Node"),
    Column("block_height", "Block height", fmt=lambda v: f"{v:,}", numeric=True),
    Column("lag_blocks", "Lag (blocks)", numeric=True, color=_lag_color),
    Column("response_time_ms", "Response", fmt=fmt.ms, numeric=True),
    Column("timestamp", "Checked", value=age_text("block"), color=stale_color("block"),
           tooltip=lambda r: fmt.local(r["timestamp"])),
]


def nodes_model() -> RowsModel:
    return RowsModel(NODES, key=lambda r: (r["chain"], r["provider"]))


EXPLORERS = [
    Column("blockchain", "Chain"),
    Column("latest_block", "Latest block", fmt=lambda v: f"{v:,}", numeric=True),
    Column("mempool_size", "Mempool", fmt=lambda v: f"{v:,}", numeric=True),
    Column("network_hashrate", "Hashrate", fmt=fmt.hashrate, numeric=True,
           tooltip=lambda r: f"{r.get('network_hashrate') or 0:,.0f} hashes per second"),
    Column("difficulty", "Difficulty", fmt=fmt.compact, numeric=True),
    Column("total_transactions", "Transactions", fmt=fmt.compact, numeric=True),
    Column("source", "Source"),
    Column("timestamp", "Updated", value=age_text("explorer"), color=stale_color("explorer"),
           tooltip=lambda r: fmt.local(r["timestamp"])),
]


def explorers_model() -> RowsModel:
    return RowsModel(EXPLORERS, key=lambda r: (r["blockchain"], r["source"]))


def _metric_value(row: Row) -> str:
    v = row.get("value")
    return fmt.compact(v, "$") if str(row.get("metric", "")).endswith("_usd") else fmt.compact(v)


ONCHAIN = [
    Column("metric", "Metric", fmt=fmt.metric_name, tooltip=lambda r: r.get("metric")),
    Column("chain", "Chain"),
    Column("value", "Value", numeric=True, display=_metric_value,
           tooltip=lambda r: f"{r.get('value'):,}"),
    Column("source", "Source"),
    Column("timestamp", "Updated", value=age_text("onchain"), color=stale_color("onchain"),
           tooltip=lambda r: fmt.local(r["timestamp"])),
]


def onchain_model() -> RowsModel:
    return RowsModel(ONCHAIN, key=lambda r: (r["metric"], r["chain"], r["source"]))
