"""Alert rules: which alerts become desktop notifications, and price thresholds.

The engine raises provider-down, quota (rate limit at 80 %), staleness and
price-deviation alerts itself. The user adds price thresholds ("BTC above
70000"); :meth:`AlertRules.check_prices` turns a crossing into one alert (again
only after the price went back). Rules are kept in the UI's QSettings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptohub_desktop.ui.state import UiState

#: alert type -> (label in Settings, notify by default)
KINDS = {
    "price_threshold": ("Price thresholds", True),
    "provider_down": ("Provider down", True),
    "rate_limit_warning": ("Quota (rate limit at 80 %)", True),
    "staleness": ("Stale data", True),
    "price_deviation": ("Source deviates from consensus", False),
    "provider_recovered": ("Provider recovered", False),
    "storage_error": ("Storage errors", True),
}
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class PriceRule:
    symbol: str
    direction: str  # "above" / "below"
    price: float

    @property
    def key(self) -> str:
        return f"{self.symbol}:{self.direction}:{self.price:g}"

    def hit(self, price: float) -> bool:
        return price > self.price if self.direction == "above" else price < self.price

    def describe(self) -> str:
        return f"{self.symbol} {self.direction} {self.price:,.6g}"


class AlertRules:
    """The rules, loaded from and saved to :class:`UiState`."""

    def __init__(self, state: UiState) -> None:
        self._state = state
        raw = state.alert_rules
        notify = raw.get("notify") or {}
        self.notify = {k: bool(notify.get(k, default)) for k, (_, default) in KINDS.items()}
        self.min_severity = raw.get("min_severity") if raw.get("min_severity") in SEVERITIES \
            else "info"
        self.prices: list[PriceRule] = []
        for r in raw.get("prices") or []:
            try:
                self.prices.append(PriceRule(str(r["symbol"]).upper(), str(r["direction"]),
                                             float(r["price"])))
            except (KeyError, TypeError, ValueError):
                continue
        self._inside: dict[str, bool] = {}

    def save(self) -> None:
        self._state.alert_rules = {
            "notify": self.notify, "min_severity": self.min_severity,
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
            self._inside.pop(rule.key, None)
        self.save()

    def notify_for(self, alert: dict[str, Any]) -> bool:
        """Whether ``alert`` (an alerts row) should pop up on the desktop."""
        kind = str(alert.get("alert_type") or "")
        if not self.notify.get(kind, True):
            return False
        sev = str(alert.get("severity") or "info")
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return rank.get(sev, 1) >= rank[self.min_severity]

    def check_prices(self, prices: dict[str, float]) -> list[tuple[PriceRule, float]]:
        """The rules that the consensus ``prices`` newly cross (each fires once per
        crossing)."""
        fired = []
        for rule in self.prices:
            price = prices.get(rule.symbol)
            if price is None:
                continue
            hit = rule.hit(price)
            if hit and not self._inside.get(rule.key, False):
                fired.append((rule, price))
            self._inside[rule.key] = hit
        return fired
