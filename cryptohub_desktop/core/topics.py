"""The names the whole product shares: provider categories and the services (bus
topics, WebSocket services) their data is published on (SPEC sections 5 and 8)."""

from __future__ import annotations

CATEGORIES = (
    "market_data",
    "blockchain_explorers",
    "news",
    "sentiment",
    "whale_tracking",
    "rpc_nodes",
    "onchain_analytics",
)

#: Service (bus topic / WebSocket service) that a category's records are published on.
CATEGORY_SERVICE = {
    "market_data": "market_data",
    "blockchain_explorers": "explorers",
    "news": "news",
    "sentiment": "sentiment",
    "whale_tracking": "whale_tracking",
    "rpc_nodes": "rpc_nodes",
    "onchain_analytics": "onchain",
}

#: Every service, in the order the API documents them (``all`` subscribes to each).
TOPICS = ("market_data", "explorers", "news", "sentiment", "whale_tracking", "rpc_nodes",
          "onchain", "health_checker", "scheduler", "alerts")
