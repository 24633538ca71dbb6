"""Alert rules: which alerts become desktop notifications, and price thresholds.

The engine raises provider-down, quota, rate-limit, staleness and price-deviation
alerts itself; every alert is listed on the Alerts page. Only what a person would want
to be interrupted for pops up on the desktop (:mod:`cryptohub_desktop.ui.notify_policy`):
by default a price threshold the user set, a provider they depend on down for longer
than :attr:`AlertRules.down_minutes`, a quota about to run out, and storage errors.
The user adds price thresholds ("BTC above 70000"); :meth:`AlertRules.check_prices`
turns a crossing into one alert (again only after the price went back). Providers the
user depends on: the ones ticked in Providers ("Notify me when it is down") and, unless
turned off, every provider they entered a key for. Rules are kept in QSettings.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.core.rules import Crossings, PriceRule
from cryptohub_desktop.ui.state import UiState

#: alert type -> (label in the Alerts page, notify by default)
KINDS = {
    "price_threshold": ("My price thresholds", True),
    "provider_down": ("A provider I depend on is down", True),
    "quota": ("A daily or monthly quota is at 80 %", True),
    "storage_error": ("The database cannot be written", True),
    "provider_recovered": ("…and back after a notified outage", True),
    "rate_limit_warning": ("Rate limits busy (per minute)", False),
    "staleness": ("Stale data", False),
    "price_deviation": ("Source deviates from consensus", False),
}
SEVERITIES = ("info", "warning", "critical")
DOWN_MINUTES = 15


class AlertRules:
    """The rules, loaded from and saved to :class:`UiState`."""

    def __init__(self, state: UiState) -> None:
        self._state = state
        raw = state.alert_rules
        notify = raw.get("notify") or {}
        self.notify = {k: bool(notify.get(k, default)) for k, (_, default) in KINDS.items()}
        self.min_severity = raw.get("min_severity") if raw.get("min_severity") in SEVERITIES \
            else "info"
        try:
            self.down_minutes = max(0.0, float(raw.get("down_minutes", DOWN_MINUTES)))
        except (TypeError, ValueError):
            self.down_minutes = float(DOWN_MINUTES)
        deps = raw.get("depends") or {}
        self.depends: dict[str, bool] = ({str(k): bool(v) for k, v in deps.items()}
                                         if isinstance(deps, dict) else {})
        self.depend_on_keyed = bool(raw.get("depend_on_keyed", True))
        self.prices: list[PriceRule] = []
        for r in raw.get("prices") or []:
            try:
                self.prices.append(PriceRule(str(r["symbol"]).upper(), str(r["direction"]),
                                             float(r["price"])))
            except (KeyError, TypeError, ValueError):
                continue
        self._crossings = Crossings()

    def save(self) -> None:
        self._state.alert_rules = {
            "notify": self.notify, "min_severity": self.min_severity,
            "down_minutes": self.down_minutes, "depends": self.depends,
            "depend_on_keyed": self.depend_on_keyed,
            "prices": [{"symbol": r.symbol, "direction": r.direction, "price": r.price}
                       for r in self.prices]}
        self._state.sync()

    def add_price(self, symbol: str, direction: str, price: float) -> PriceRule:
        if direction not in ("above", "below"):
            raise ValueError("direction must be above or below")
        if price <= 0:
            raise ValueError("price must be positive")
        rule = PriceRule(symbol.strip().upper(), direction, float(price))
        if rule not in self.prices:
            self.prices.append(rule)
        self.save()
        return rule

    def remove_price(self, rule: PriceRule) -> None:
        if rule in self.prices:
            self.prices.remove(rule)
            self._crossings.forget(rule)
        self.save()

    def set_depends(self, provider_id: str, on: bool) -> None:
        """Mark a provider as one the user depends on (or explicitly not)."""
        self.depends[provider_id] = on
        self.save()

    def depends_on(self, provider_id: str, key_present: bool) -> bool:
        """Ticked by the user, else (by default) any provider they entered a key for."""
        if provider_id in self.depends:
            return self.depends[provider_id]
        return self.depend_on_keyed and key_present

    def notify_for(self, alert: dict[str, Any]) -> bool:
        """Whether ``alert`` (an alerts row) is of a kind and severity that may pop up
        on the desktop (the policy adds dependence, duration, dedupe and rate)."""
        kind = str(alert.get("alert_type") or "")
        if not self.notify.get(kind, False):
            return False
        sev = str(alert.get("severity") or "info")
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return rank.get(sev, 1) >= rank[self.min_severity]

    def check_prices(self, prices: dict[str, float]) -> list[tuple[PriceRule, float]]:
        """The rules that the consensus ``prices`` newly cross (each fires once per
        crossing)."""
        return self._crossings.check(self.prices, prices)
