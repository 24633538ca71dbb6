"""LocalApi: :class:`~cryptohub_desktop.api.protocol.HubApi` on the engine running in
this process (the desktop's own hub, or ``serve``).

Reads are the answers of :mod:`cryptohub_desktop.api.answers`; actions call the
engine and say what happened in an :class:`ActionResult`.

Example::

    hub = Hub(config, collectors.PROVIDERS, Secrets())
    api = LocalApi(hub)
    await hub.start()
    (await api.market(["BTC"]))["market"][0]["consensus_price"]
    await api.collect_now("coingecko")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cryptohub_desktop.api import answers
from cryptohub_desktop.api.protocol import ActionResult, Answer, ProviderInfo
from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.topics import Subscriber
from cryptohub_desktop.engine import bookkeeping
from cryptohub_desktop.engine.backfill import SeriesReport
from cryptohub_desktop.engine.backfill import backfill as run_backfill
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.engine.pools import STRATEGIES
from cryptohub_desktop.engine.runner import RunResult


class LocalApi:
    """The in-process hub behind the HubApi interface.

    Args:
        hub: the engine (started by its owner; reads before that raise RuntimeError).
    """

    mode = "local"
    can_act = True
    read_only_reason = ""
    state = "local"
    detail = ""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.instance_id = hub.coordinator.instance_id

    async def start(self) -> None:
        if self.hub.store is None:
            await self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()

    # --- what the hub is ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.hub.store is not None

    @property
    def watchlist(self) -> list[str]:
        return list(self.hub.config.watchlist)

    def catalogue(self) -> list[ProviderInfo]:
        return [ProviderInfo(p.id, p.spec.name, p.spec.category, p.spec.auth.key_names,
                             p.spec.auth.requires_key) for p in self.hub.providers.values()]

    def counts(self) -> dict[str, int]:
        return self.hub.status_counts()

    def prices(self) -> dict[str, float]:
        return dict(self.hub.prices)

    def database_size(self) -> int | None:
        store = self.hub.store
        return store.size_bytes() if store is not None else None

    def network(self) -> Answer:
        return self.hub.network()

    def symbols(self) -> list[Answer]:
        return self.hub.symbol_map.listing(set(self.hub.providers))

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        return self.hub.bus.subscribe("*", fn)

    def watch_state(self, fn: Callable[[str], None]) -> Callable[[], None]:
        return lambda: None  # the engine in this process has no connection to lose

    def last_seq(self, service: str) -> int:
        return self.hub.bus.last_seq(service)

    # --- reads ---------------------------------------------------------------------------
    async def health(self) -> Answer:
        return await answers.health(self.hub)

    async def status(self) -> Answer:
        return await answers.status(self.hub)

    async def providers(self) -> Answer:
        return await answers.providers(self.hub)

    async def rate_limits(self) -> Answer:
        return await answers.rate_limits(self.hub)

    async def schedule(self) -> Answer:
        return await answers.schedule(self.hub)

    async def freshness(self, by: str = "name") -> Answer:
        return await answers.freshness(self.hub, by)

    async def failures(self, limit: int = 50) -> Answer:
        return await answers.failures(self.hub, limit)

    async def market(self, symbols: Sequence[str] | None = None) -> Answer:
        return await answers.market(self.hub, symbols)

    async def history(self, symbol: str, interval: str = "1h", start: datetime | None = None,
                      end: datetime | None = None, source: str | None = None,
                      limit: int = 1000) -> Answer:
        return await answers.history(self.hub, symbol, interval, start, end, source, limit)

    async def news(self, limit: int = 20, q: str | None = None) -> Answer:
        return await answers.news(self.hub, limit, q)

    async def sentiment(self) -> Answer:
        return await answers.sentiment(self.hub)

    async def whales(self, min_usd: float | None = None, chain: str | None = None,
                     limit: int = 50) -> Answer:
        return await answers.whales(self.hub, min_usd, chain, limit)

    async def gas(self) -> Answer:
        return await answers.gas(self.hub)

    async def blocks(self) -> Answer:
        return await answers.blocks(self.hub)

    async def onchain(self) -> Answer:
        return await answers.onchain(self.hub)

    async def alerts(self, limit: int = 50, unacknowledged: bool = False) -> Answer:
        return await answers.alerts(self.hub, limit, unacknowledged)

    async def pools(self) -> Answer:
        return await answers.pools(self.hub)

    async def cluster(self) -> Answer:
        return await answers.cluster(self.hub)

    async def service_snapshot(self, service: str) -> Answer:
        return await answers.service_snapshot(self.hub, service)

    async def chart(self, symbol: str, seconds: int = 86400) -> Answer:
        return await answers.chart(self.hub, symbol, seconds)

    async def price_history(self, symbols: Sequence[str] | None = None, hours: int = 24,
                            buckets: int = 48) -> Answer:
        return await answers.price_history(self.hub, symbols, hours, buckets)

    async def provider_activity(self, provider_id: str, limit: int = 200) -> Answer:
        return await answers.provider_activity(self.hub, provider_id, limit)

    async def text_model(self) -> Answer:
        model = self.hub.text_model
        if model is None:
            return {"active_model": None, "detail": "The text model loads when the hub starts."}
        return await asyncio.to_thread(model.status)

    async def score_text(self, text: str) -> Answer:
        model = self.hub.text_model
        if model is None:
            raise RuntimeError("the text model is not loaded yet")
        label, score = await asyncio.to_thread(model.score, text)
        return {"label": label, "score": score, "model": model.name}

    # --- actions -------------------------------------------------------------------------
    async def set_enabled(self, provider_id: str, enabled: bool) -> ActionResult:
        if provider_id not in self.hub.providers:
            return ActionResult(False, f"no provider {provider_id!r}", {})
        await self.hub.set_enabled(provider_id, enabled)
        return ActionResult(True, f"{provider_id} {'enabled' if enabled else 'disabled'}",
                            {"provider": provider_id, "enabled": enabled,
                             "active": self.hub.catalogue.is_active(provider_id)})

    async def collect_now(self, provider_id: str) -> ActionResult:
        if provider_id not in self.hub.providers or self.hub.runner is None:
            return ActionResult(False, f"no provider {provider_id!r} to run", {})
        if self.hub.catalogue.key_state(provider_id) == "missing":
            return ActionResult(False, f"{provider_id} needs a key first",
                                {"provider": provider_id, "status": "needs_key"})
        return _run_result(await self.hub.runner.run_provider(provider_id))

    async def collect_all(self) -> ActionResult:
        if self.hub.runner is None:
            return ActionResult(False, "the hub is not started", {})
        results = await self.hub.runner.collect_once()
        ok = sum(r.status == "success" for r in results)
        return ActionResult(True, f"{ok}/{len(results)} providers succeeded",
                            {"results": [_run_result(r).data for r in results]})

    async def acknowledge_alerts(self, alert_ids: Sequence[int]) -> ActionResult:
        store = self.hub.store
        if store is None:
            return ActionResult(False, "the hub is not started", {})
        done = 0
        try:
            for alert_id in alert_ids:
                done += bool(await store.write(bookkeeping.acknowledge_alert, int(alert_id)))
        except StoreError as exc:
            return ActionResult(False, str(exc), {"acknowledged": done})
        return ActionResult(True, f"{done} alert{'s' * (done != 1)} acknowledged",
                            {"acknowledged": done})

    async def set_pool_strategy(self, pool: str, strategy: str) -> ActionResult:
        p = self.hub.pools.get(pool)
        if p is None:
            return ActionResult(False, f"no pool {pool!r}", {})
        if strategy not in STRATEGIES:
            return ActionResult(False, f"strategy must be one of {', '.join(STRATEGIES)}", {})
        p.set_strategy(strategy)
        await self.hub.save_pool(pool)
        return ActionResult(True, f"{pool}: strategy {strategy.replace('_', ' ')} saved",
                            {"pool": pool, "strategy": strategy})

    async def set_pool_order(self, pool: str, order: Sequence[str]) -> ActionResult:
        p = self.hub.pools.get(pool)
        if p is None:
            return ActionResult(False, f"no pool {pool!r}", {})
        unknown = [m for m in order if p.member(m) is None]
        if unknown:
            return ActionResult(False, f"{', '.join(unknown)} not in pool {pool}", {})
        p.reorder(list(order))
        await self.hub.save_pool(pool)
        return ActionResult(True, f"{pool}: order saved", {"pool": pool, "order": p.order()})

    async def raise_alert(self, alert_type: str, severity: str, message: str) -> ActionResult:
        await self.hub.alerts.fire(alert_type, severity, message)
        return ActionResult(True, "alert raised", {"alert_type": alert_type})

    async def backfill(self, symbols: Sequence[str] | None = None, days: int = 30,
                       progress: Callable[[int, int, str], None] | None = None
                       ) -> ActionResult:
        hub = self.hub
        if hub.store is None:
            return ActionResult(False, "the hub is not started", {})
        providers = hub.catalogue.with_history()
        if not providers:
            return ActionResult(False, "no enabled provider offers history", {})
        wanted = [s.upper() for s in (symbols or hub.config.watchlist)]
        def told(done: int, total: int, series: SeriesReport | None) -> None:
            if progress is not None:
                progress(done, total, series.label if series else "")

        report = await run_backfill(hub.store, providers, hub.upstream, hub.symbol_map,
                                    symbols=wanted, days=max(1, int(days)), progress=told)
        data = {"inserted": report.inserted, "requests": report.requests,
                "gaps": report.gaps, "errors": report.errors}
        text = (f"{report.inserted:,} candles stored for {', '.join(wanted)} "
                f"({report.gaps} gaps, {report.requests} requests"
                + (f", {len(report.errors)} errors" if report.errors else "") + ")")
        if report.inserted:
            hub.bus.publish("market_data", {"provider": "backfill", "category": "market_data",
                                            "records": [], "counts": {"ohlcv": report.inserted}})
        return ActionResult(not report.errors or bool(report.inserted), text, data)

    async def reload_keys(self) -> None:
        await self.hub.reload_keys()

    async def apply_config(self, config: Config) -> ActionResult:
        live = self.hub.config
        live.schedule, live.retention_days = config.schedule, config.retention_days
        live.watchlist, live.server = config.watchlist, config.server
        await self.hub.reload_keys()  # re-schedules with the new intervals
        return ActionResult(True, "settings applied", {})

    # --- for the local server ------------------------------------------------------------
    def secrets_in_use(self) -> set[str]:
        values = set(self.hub.secrets.seen)
        for keys in self.hub.catalogue.keys.values():
            values.update(keys)
        return {v for v in values if v and len(v) >= 8}

    def attach_server(self, clients: Callable[[], int]) -> None:
        self.hub.server_clients = clients


def _run_result(r: RunResult) -> ActionResult:
    data: dict[str, Any] = {"provider": r.provider_id, "category": r.category,
                            "status": r.status, "records": r.records, "ms": r.ms,
                            "error_type": r.error_type, "error": r.error}
    text = (f"{r.provider_id}: {r.status}, {r.records} records in {r.ms:.0f} ms"
            + (f" ({r.error})" if r.error else ""))
    return ActionResult(r.status == "success", text, data)
