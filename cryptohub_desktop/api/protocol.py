"""HubApi: the one interface the UI and the server use to reach a hub.

Every read the UI and the local server make, and every action the UI offers, is
a method here. :class:`~cryptohub_desktop.api.local.LocalApi` implements it on
the engine running in this process; a remote implementation speaks to a hub over
REST and WebSocket. Views and the server never know which one they have.

Reads return the JSON shapes of SPEC section 7 (plain dicts, UTC ISO-8601 text
timestamps), so a remote hub's answers can be passed through unchanged. Events
are the updates of SPEC section 8 (:class:`~cryptohub_desktop.core.topics.Event`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.topics import Subscriber

Answer = dict[str, Any]


@dataclass(frozen=True)
class ProviderInfo:
    """What the UI shows of a provider without asking the hub (the catalogue)."""

    id: str
    name: str
    category: str
    key_names: tuple[str, ...]
    requires_key: bool


@dataclass(frozen=True)
class ActionResult:
    """The answer to an action: whether it was done, and one line saying what happened.

    Attributes:
        ok: the action was carried out.
        message: one line for a person ("coingecko: success, 5 records in 312 ms").
        data: details (a run's status, records, ms, error ...).
    """

    ok: bool
    message: str
    data: dict[str, Any]


class HubApi(Protocol):
    """A hub as the UI and the server see it.

    Attributes:
        mode: "local" (the engine runs in this process) or "remote".
        instance_id: the (team hub) instance behind the interface.
        can_act: whether actions are allowed (False: read-only access; why in
            :attr:`read_only_reason`).
        state: "local" for the engine in this process; for a remote hub its connection:
            "connecting", "connected", "reconnecting (n)", "auth failed", "unreachable",
            "incompatible".
        detail: one line about the state ("the hub refused the token (401)").
    """

    mode: str
    can_act: bool
    read_only_reason: str
    instance_id: str
    state: str
    detail: str

    async def start(self) -> None:
        """Start (the local engine) or connect (a remote hub). Idempotent.

        Raises:
            UserError: it cannot start (database unusable, hub unreachable ...).
        """
        ...

    async def stop(self) -> None:
        """Stop or disconnect. Idempotent."""
        ...

    # --- what the hub is ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Answers can be read now (started and not stopping)."""
        ...

    @property
    def watchlist(self) -> list[str]:
        """The watched symbols, upper case."""
        ...

    def catalogue(self) -> list[ProviderInfo]:
        """Every provider, in catalogue order."""
        ...

    def counts(self) -> dict[str, int]:
        """Providers online / degraded / offline, from memory (no I/O)."""
        ...

    def prices(self) -> dict[str, float]:
        """The newest consensus price per watched symbol, from memory (no I/O)."""
        ...

    def database_size(self) -> int | None:
        """The database's size in bytes, from memory; None when unknown."""
        ...

    def last_seq(self, service: str) -> int:
        """The ``seq`` of the newest update of ``service`` delivered here (0: none yet); a
        snapshot read now reflects at least that update."""
        ...

    def network(self) -> Answer:
        """This machine's network as the hub sees it, from memory (no I/O):
        ``{"online", "since", "detail", "unreachable_providers"}``. Offline means no
        upstream host answers (the UI says so once, in a banner)."""
        ...

    def symbols(self) -> list[Answer]:
        """The symbols of the bundled symbol map, for a watchlist search:
        ``[{"symbol": "BTC", "name": "Bitcoin", "providers": 14}, ...]``."""
        ...

    def watch_state(self, fn: Callable[[str], None]) -> Callable[[], None]:
        """Call ``fn(state)`` on the event-loop thread each time :attr:`state` (or its
        detail) changes; returns the function that stops it. A local hub never changes."""
        ...

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` with every update (all services); returns the unsubscribe function.
        ``fn`` runs on the event-loop thread and must be quick."""
        ...

    # --- reads: the REST answers of SPEC section 7 -------------------------------------
    async def health(self) -> Answer: ...
    async def status(self) -> Answer: ...
    async def providers(self) -> Answer: ...
    async def rate_limits(self) -> Answer: ...
    async def schedule(self) -> Answer: ...
    async def freshness(self, by: str = "name") -> Answer: ...
    async def failures(self, limit: int = 50) -> Answer: ...
    async def market(self, symbols: Sequence[str] | None = None) -> Answer: ...
    async def history(self, symbol: str, interval: str = "1h", start: datetime | None = None,
                      end: datetime | None = None, source: str | None = None,
                      limit: int = 1000) -> Answer: ...
    async def news(self, limit: int = 20, q: str | None = None) -> Answer: ...
    async def sentiment(self) -> Answer: ...
    async def whales(self, min_usd: float | None = None, chain: str | None = None,
                     limit: int = 50) -> Answer: ...
    async def gas(self) -> Answer: ...
    async def blocks(self) -> Answer: ...
    async def onchain(self) -> Answer: ...
    async def alerts(self, limit: int = 50, unacknowledged: bool = False) -> Answer: ...
    async def pools(self) -> Answer: ...
    async def cluster(self) -> Answer: ...

    # --- reads the views need besides ----------------------------------------------------
    async def service_snapshot(self, service: str) -> Answer:
        """The current state of one WebSocket service (what a new subscriber gets)."""
        ...

    async def chart(self, symbol: str, seconds: int = 86400) -> Answer:
        """Price series of ``symbol`` for a chart range (candles or ticks per source)."""
        ...

    async def price_history(self, symbols: Sequence[str] | None = None, hours: int = 24,
                            buckets: int = 48) -> Answer:
        """Average price per symbol in ``buckets`` slots of the last ``hours``."""
        ...

    async def provider_activity(self, provider_id: str, limit: int = 200) -> Answer:
        """A provider's recent requests (response times) and its newest failures."""
        ...

    async def text_model(self) -> Answer:
        """The active text-sentiment model and whether the transformer is available."""
        ...

    async def score_text(self, text: str) -> Answer:
        """``{"label", "score", "model"}`` of ``text`` with the active model."""
        ...

    # --- actions the UI offers -----------------------------------------------------------
    async def set_enabled(self, provider_id: str, enabled: bool) -> ActionResult: ...
    async def collect_now(self, provider_id: str) -> ActionResult: ...
    async def collect_all(self) -> ActionResult: ...
    async def acknowledge_alerts(self, alert_ids: Sequence[int]) -> ActionResult: ...
    async def set_pool_strategy(self, pool: str, strategy: str) -> ActionResult: ...
    async def set_pool_order(self, pool: str, order: Sequence[str]) -> ActionResult: ...
    async def raise_alert(self, alert_type: str, severity: str,
                          message: str) -> ActionResult: ...

    async def backfill(self, symbols: Sequence[str] | None = None, days: int = 30,
                       progress: Callable[[int, int, str], None] | None = None
                       ) -> ActionResult:
        """Fetch the missing OHLCV history of ``symbols`` (default: the watchlist) for the
        last ``days`` (what ``cryptohub-desktop backfill`` does), only the gaps.

        ``progress(done, total, label)`` is called on the event-loop thread after each
        series. Cancel by cancelling the awaiting task: what was stored stays stored and
        a later run fills only what is still missing. ``data``: inserted, requests,
        gaps, errors."""
        ...

    async def reload_keys(self) -> None:
        """Keys changed in the keychain: use them (a remote hub keeps its own keys)."""
        ...

    async def apply_config(self, config: Config) -> ActionResult:
        """Use saved settings now: intervals, watchlist, retention."""
        ...

    # --- for the local server ------------------------------------------------------------
    def secrets_in_use(self) -> set[str]:
        """Secret values that must never leave in an answer (they are masked)."""
        ...

    def attach_server(self, clients: Callable[[], int]) -> None:
        """A local server serves this hub; ``clients`` counts its WebSocket clients."""
        ...


class RemoteHub(HubApi, Protocol):
    """A hub reached over the network (``mode == "remote"``): where it is, and how to
    attach to it again with other settings.

    Attributes:
        url: the hub's base URL.
        ca_file: the CA file trusted for it ("" for the system's store only).
    """

    url: str
    ca_file: str

    async def reconnect(self, url: str, token: str | None, ca_file: str | None = None
                        ) -> None:
        """Drop the connection and attach to ``url`` with ``token`` from now on.

        Raises:
            UserError: ``url`` or ``ca_file`` is unusable; the current connection is kept.
        """
        ...
