"""Symbol map: a plain watchlist symbol (BTC) -> each provider's own id or pair.

The map ships in ``resources/symbols.json``: explicit entries first, then a
per-provider pattern (``{symbol}USDT`` for Binance ...). Collectors that can list
a provider's assets call :meth:`SymbolMap.learn` for symbols the map lacks.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


class SymbolMap:
    """Lookup of provider ids; an explicit ``None`` means "not listed there"."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._symbols: dict[str, dict[str, str | None]] = {
            k.upper(): dict(v) for k, v in data.get("symbols", {}).items()}
        self._patterns: dict[str, str] = dict(data.get("_patterns", {}))
        self._quotes: dict[str, str] = dict(data.get("_quotes", {}))

    @classmethod
    def bundled(cls) -> SymbolMap:
        return cls(_bundled_data())

    def get(self, provider_id: str, symbol: str) -> str | None:
        """The provider's id for ``symbol``, or None when unknown / unlisted."""
        symbol = symbol.upper()
        entry = self._symbols.get(symbol, {})
        if provider_id in entry:
            return entry[provider_id]
        pattern = self._patterns.get(provider_id)
        if pattern:
            return pattern.format(symbol=symbol, lower=symbol.lower())
        return None

    def known(self, provider_id: str, symbol: str) -> bool:
        return provider_id in self._symbols.get(symbol.upper(), {})

    def learn(self, provider_id: str, symbol: str, provider_symbol: str | None) -> None:
        """Remember an id found in the provider's own listing."""
        self._symbols.setdefault(symbol.upper(), {})[provider_id] = provider_symbol

    def symbols(self) -> list[str]:
        """Every symbol with an explicit entry, sorted."""
        return sorted(self._symbols)

    def entry(self, symbol: str) -> dict[str, str | None]:
        """The explicit ids of ``symbol`` per provider (None: not listed there)."""
        return dict(self._symbols.get(symbol.upper(), {}))

    def patterns(self) -> list[str]:
        """The providers that build any symbol's id from a pattern."""
        return list(self._patterns)

    def listing(self, provider_ids: set[str]) -> list[dict[str, Any]]:
        """Every symbol with its name and how many of ``provider_ids`` list it, for a
        watchlist search: ``[{"symbol": "BTC", "name": "Bitcoin", "providers": 14}]``."""
        patterned = set(self._patterns)
        out = []
        for sym in self.symbols():
            entry = self.entry(sym)
            listed = {p for p, v in entry.items() if v} | (patterned - set(entry))
            slug = entry.get("coingecko") or entry.get("coincap") or ""
            out.append({"symbol": sym, "name": slug.replace("-", " ").title() or sym,
                        "providers": len(listed & provider_ids)})
        return out

    def quote(self, provider_id: str) -> str:
        """The quote currency of the pairs the patterns build (USD unless said)."""
        return self._quotes.get(provider_id, "USD")

    def reverse(self, provider_id: str, symbols: list[str]) -> dict[str, str]:
        """Provider id -> plain symbol, for the given symbols that have one."""
        out = {}
        for s in symbols:
            pid = self.get(provider_id, s)
            if pid:
                out[pid] = s.upper()
        return out


@cache
def _bundled_data() -> dict[str, Any]:
    text = resources.files("cryptohub_desktop.resources").joinpath("symbols.json").read_text()
    return json.loads(text)
