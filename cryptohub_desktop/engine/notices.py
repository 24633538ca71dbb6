"""The team's own notices: price rules from ``[alerts] price_rules`` and the delivery of
every alert to the ``[notify]`` channels.

Both are done by the instance holding the team lease (a single instance always
holds it), so a team hub raises a price rule once and delivers each alert once,
whichever instance raised it: alerts reach every instance through the bus, and only
the holder passes them to its dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.rules import Crossings
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.core.topics import Event
from cryptohub_desktop.engine.alerts import Alerts
from cryptohub_desktop.engine.ports import TEAM, Coordinator, EventBus
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.hub")


class Notices:
    """Price rules and alert delivery for one engine.

    Args:
        config: ``price_rules`` and ``notify_channels``.
        alerts: raises the price-rule alerts.
        coordinator: whether this instance holds the team lease.
        secrets: resolves ``{ENTRY}`` placeholders of channel URLs.
    """

    def __init__(self, config: Config, bus: EventBus, alerts: Alerts, coordinator: Coordinator,
                 secrets: Secrets) -> None:
        self.config = config
        self.bus = bus
        self.alerts = alerts
        self.coordinator = coordinator
        self.secrets = secrets
        self.dispatcher: Any = None
        self._crossings = Crossings()
        self._unsubscribe: Callable[[], None] = lambda: None

    async def start(self, store: Store) -> None:
        """Start delivering alerts to the configured channels (none configured: nothing)."""
        if not self.config.notify_channels:
            return
        # apprise loads only when a channel is configured (it costs 0.2 s at start-up)
        from cryptohub_desktop.engine.notify import AlertDispatcher
        self.dispatcher = AlertDispatcher(self.config.notify_channels.values(), self.secrets,
                                          store=store)
        await self.dispatcher.start()
        self._unsubscribe = self.bus.subscribe("alerts", self._on_alert)

    async def stop(self) -> None:
        """Send what is pending (summaries), briefly, and stop."""
        self._unsubscribe()
        if self.dispatcher is not None:
            await self.dispatcher.close()
            self.dispatcher = None

    def _on_alert(self, event: Event) -> None:
        if (event.kind == "update" and self.dispatcher is not None
                and self.coordinator.owns(TEAM) and "alert_type" in event.data):
            self.dispatcher.submit(event.data)

    def check_prices(self, prices: Mapping[str, float]) -> None:
        """Raise an alert for each price rule the consensus ``prices`` newly cross."""
        if not self.config.price_rules or not self.coordinator.owns(TEAM):
            return
        for rule, price in self._crossings.check(self.config.price_rules, prices):
            self.alerts.fire_soon(
                "price_threshold", "warning",
                f"{rule.describe()}: the consensus price of {rule.symbol} is {price:,.6g} "
                f"(at {utcnow():%Y-%m-%d %H:%M:%S} UTC)")
