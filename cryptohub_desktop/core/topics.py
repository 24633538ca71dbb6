"""The names the whole product shares: provider categories and the services (bus
topics, WebSocket services) their data is published on (SPEC sections 5 and 8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

#: How a pool picks its provider (SPEC section 5)
POOL_STRATEGIES = ("priority", "round_robin", "least_used")

#: Every service, in the order the API documents them (``all`` subscribes to each).
TOPICS = ("market_data", "explorers", "news", "sentiment", "whale_tracking", "rpc_nodes",
          "onchain", "health_checker", "scheduler", "alerts")


@dataclass(frozen=True)
class Event:
    """One update published on a service.

    Attributes:
        topic: the service (one of :data:`TOPICS`).
        data: the update's payload (SPEC section 8).
        timestamp: when it was published (UTC).
        seq: grows by exactly 1 per update of the service (across a whole team hub);
            0 for a :data:`RESYNC` notice.
        origin: the instance that published it.
        kind: ``"update"``, or :data:`RESYNC`: updates of ``topic`` were lost in transit
            (a bus outage); whoever keeps state from them must read the state afresh.
    """

    topic: str
    data: dict[str, Any]
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int = 0
    origin: str = ""
    kind: str = "update"


RESYNC = "resync"


Subscriber = Callable[[Event], None]
