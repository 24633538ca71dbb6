"""Price rules: "BTC above 70000", and when a consensus price newly crosses one.

A rule fires once when the price crosses it, and again only after the price went
back to the other side. The engine checks the rules of ``[alerts] price_rules``;
the desktop checks the rules its user adds in the Alerts view.

Example::

    rule = PriceRule.parse("BTC above 70000")
    crossings = Crossings()
    crossings.check([rule], {"BTC": 71234.5})   # [(rule, 71234.5)]
    crossings.check([rule], {"BTC": 71300.0})   # []: still above
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DIRECTIONS = ("above", "below")
_RULE = re.compile(r"^\s*([A-Za-z0-9]{1,15})\s+(above|below)\s+([0-9]+(?:\.[0-9]+)?)\s*$",
                   re.IGNORECASE)


@dataclass(frozen=True)
class PriceRule:
    symbol: str
    direction: str  # "above" / "below"
    price: float

    @classmethod
    def parse(cls, text: str) -> PriceRule:
        """``"BTC above 70000"`` as a rule.

        Raises:
            ValueError: not of the form SYMBOL above|below PRICE, or a price <= 0.
        """
        m = _RULE.match(text)
        if not m or float(m.group(3)) <= 0:
            raise ValueError(f"{text!r} is not a rule like 'BTC above 70000'")
        return cls(m.group(1).upper(), m.group(2).lower(), float(m.group(3)))

    @property
    def key(self) -> str:
        return f"{self.symbol}:{self.direction}:{self.price:g}"

    def hit(self, price: float) -> bool:
        return price > self.price if self.direction == "above" else price < self.price

    def describe(self) -> str:
        return f"{self.symbol} {self.direction} {self.price:,.6g}"


class Crossings:
    """Which rules the price is past now, to fire each crossing once."""

    def __init__(self) -> None:
        self._inside: dict[str, bool] = {}

    def check(self, rules: Iterable[PriceRule],
              prices: Mapping[str, float]) -> list[tuple[PriceRule, float]]:
        """The rules that ``prices`` newly cross, with the price that crossed."""
        fired = []
        for rule in rules:
            price = prices.get(rule.symbol)
            if price is None:
                continue
            hit = rule.hit(price)
            if hit and not self._inside.get(rule.key, False):
                fired.append((rule, price))
            self._inside[rule.key] = hit
        return fired

    def forget(self, rule: PriceRule) -> None:
        self._inside.pop(rule.key, None)
