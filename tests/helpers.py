"""Test helpers: run a provider's real collector against the replay server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from cryptohub_desktop.core.records import Candle, Record
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.providers.upstream import Attempt, Context, HistoryQuery, Upstream

WATCHLIST = ("BTC", "ETH", "BNB", "SOL", "XRP")


async def collect_with(provider: Provider, base_url: str, *, keys: Sequence[str] = (),
                       symbols: Sequence[str] = WATCHLIST, prices: dict[str, float] | None = None,
                       options: dict[str, Any] | None = None, ctx: Context | None = None,
                       attempts: list[Attempt] | None = None) -> list[Record]:
    """One real collection pass of ``provider`` against ``base_url`` (real HTTP)."""
    async with httpx.AsyncClient() as client:
        api = Upstream(provider.spec, client, base_url=base_url, keys=keys,
                       on_attempt=attempts.append if attempts is not None else None)
        ctx = ctx or Context(symbols=list(symbols), symbol_map=SymbolMap.bundled(),
                             prices=prices if prices is not None else {"BTC": 65000.0,
                                                                       "ETH": 3000.0},
                             options=options or {})
        return await provider.collect(api, ctx)


async def history_with(provider: Provider, base_url: str, query: HistoryQuery,
                       keys: Sequence[str] = ()) -> list[Candle]:
    assert provider.history is not None
    async with httpx.AsyncClient() as client:
        api = Upstream(provider.spec, client, base_url=base_url, keys=keys)
        return await provider.history(api, query)
