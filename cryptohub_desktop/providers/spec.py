"""What a provider is: its declared metadata (id, category, auth, limits, schedule).

A :class:`ProviderSpec` is pure data. The collector code that speaks a provider's
API lives in ``collectors/`` and is paired with its spec in a :class:`Provider`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from cryptohub_desktop.core.limits import RateLimit

if TYPE_CHECKING:
    from cryptohub_desktop.core.records import Candle, Record
    from cryptohub_desktop.providers.stream import StreamAdapter
    from cryptohub_desktop.providers.upstream import Context, HistoryQuery, Upstream


@dataclass(frozen=True)
class Auth:
    """How a provider takes its key.

    Attributes:
        kind: "none", "query" (``?param=KEY``) or "header" (``param: prefix+KEY``).
        param: the query parameter or header name.
        key_names: keychain / environment entry names, tried in order (backup keys
            are used when the first is rate limited).
        prefix: text before the key in a header, e.g. ``"Bearer "``.
        key_url: where a user gets a key.
    """

    kind: Literal["none", "query", "header", "path"] = "none"
    param: str = ""
    key_names: tuple[str, ...] = ()
    prefix: str = ""
    key_url: str = ""
    optional: bool = False  # a key raises limits but the provider works without one

    @property
    def requires_key(self) -> bool:
        return self.kind != "none" and not self.optional


NO_AUTH = Auth()


@dataclass(frozen=True)
class ProviderSpec:
    """Declared metadata of one provider (SPEC section 5)."""

    id: str
    name: str
    category: str
    base_url: str
    docs_url: str
    gives: str
    auth: Auth = NO_AUTH
    rate_limits: tuple[RateLimit, ...] = ()
    interval: str | None = None  # None: the category's interval
    tier: int = 2  # 1 = preferred, 3 = last resort
    pool: str | None = None  # None: the category
    enabled_by_default: bool = True  # False: a known-broken public endpoint, opt in
    limit_group: str | None = None  # providers sharing one account-wide rate limit

    @property
    def pool_name(self) -> str:
        return self.pool or self.category


CollectFn = Callable[["Upstream", "Context"], Awaitable[list["Record"]]]
HistoryFn = Callable[["Upstream", "HistoryQuery"], Awaitable[list["Candle"]]]


@dataclass(frozen=True)
class Provider:
    """A provider's spec paired with the code that speaks its API.

    Attributes:
        collect: one collection pass, returning normalized records.
        history: optional OHLCV fetcher for backfill (market data providers).
        history_intervals: the candle intervals ``history`` supports.
        stream: the exchange's live WebSocket stream (SPEC section 14), None when it
            has none we follow.
    """

    spec: ProviderSpec
    collect: CollectFn
    history: HistoryFn | None = None
    history_intervals: tuple[str, ...] = field(default=())
    stream: StreamAdapter | None = None

    @property
    def id(self) -> str:
        return self.spec.id


def key_names(specs: Iterable[ProviderSpec]) -> list[str]:
    """Every keychain entry name the catalogue uses, in catalogue order."""
    names: list[str] = []
    for spec in specs:
        for n in spec.auth.key_names:
            if n not in names:
                names.append(n)
    return names
