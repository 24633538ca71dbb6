"""PostgreSQL goes away under a running hub and comes back.

The database is reached through a TCP proxy (tests/pgproxy.py) that the test cuts:
every open connection breaks and new ones are refused, as when the server crashes or
the network to it fails, while the shared test server keeps running for everyone else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx
import pytest

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.server import start_server
from cryptohub_desktop.storage.models import MarketPrice
from tests.conftest import SLOW, config_for
from tests.dbs import TestDatabase
from tests.tcpproxy import TcpProxy

pytestmark = pytest.mark.postgresql


async def status_of(base: str, want: str) -> dict:
    """/api/status once its database field says ``want`` (it is re-checked every 2 s)."""
    deadline = time.monotonic() + 10 * SLOW
    async with httpx.AsyncClient(timeout=10 * SLOW) as c:
        while True:
            r = await c.get(base + "/api/status")
            assert r.status_code == 200
            if r.json()["database"] == want or time.monotonic() > deadline:
                return r.json()
            await asyncio.sleep(0.2)


async def test_database_away_mid_run_is_reported_and_recovers(tmp_path, replay, secrets,
                                                              database):
    """Collectors keep running while PostgreSQL is away; each run's write fails with one
    storage_error alert; /health stays 200, /api/status says the database is
    unavailable and a read of stored data answers 503 database_unavailable; nothing committed is lost; the first run after it is back stores again."""
    with TcpProxy() as proxy:
        db = TestDatabase("postgresql", database.url.replace("127.0.0.1:5432", proxy.url_host))
        cfg = config_for(tmp_path, replay, ["coingecko"], database=db)
        hub = Hub(cfg, [coingecko.PROVIDER], secrets)
        hub.request_timeout = 2.0 * SLOW
        await hub.start(schedule=False)
        server = await start_server(LocalApi(hub), dataclasses.replace(cfg.server, port=0),
                                    secrets)
        base = f"http://127.0.0.1:{server.port}"
        published: list[dict] = []
        hub.bus.subscribe("alerts", lambda ev: published.append(ev.data))
        try:
            assert (await hub.runner.run_provider("coingecko")).status == "success"
            assert (await status_of(base, "connected"))["database"] == "connected"

            proxy.cut()
            calls = replay.count("/coingecko")
            for _ in range(3):
                r = await hub.runner.run_provider("coingecko")
                assert (r.status, r.error_type) == ("failure", "storage_error"), r
                assert "cannot be reached" in r.error and "\n" not in r.error
            await hub.settle()
            assert replay.count("/coingecko") == calls + 3  # the provider was still called
            storage = [a for a in published if a["alert_type"] == "storage_error"]
            assert len(storage) == 1 and storage[0]["id"] is None  # published, not stored
            async with httpx.AsyncClient(timeout=10 * SLOW) as c:
                health = await c.get(base + "/health")
            assert health.status_code == 200 and health.json()["status"] == "healthy"
            st = await status_of(base, "unavailable")
            assert (st["database"], st["status"]) == ("unavailable", "unhealthy")
            async with httpx.AsyncClient(timeout=10 * SLOW) as c:  # a read of stored data
                news = await c.get(base + "/api/news")
            assert news.status_code == 503, news.text
            assert news.json()["error"] == "database_unavailable"
            assert "cannot be reached" in news.json()["detail"]

            proxy.restore()
            assert (await hub.runner.run_provider("coingecko")).status == "success"
            prices = await hub.store.read(lambda: MarketPrice.select().count())
            assert prices == 2  # the one before the outage and the one after
            assert (await status_of(base, "connected"))["database"] == "connected"
        finally:
            await server.close()
            await hub.settle()
            await hub.stop()
