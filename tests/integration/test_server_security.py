"""Security of the local server (SPEC section 9) over real sockets: Origin allow-list,
Host check (DNS rebinding), the token on non-loopback binds, the per-client rate limit
and that no key ever appears in an answer."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.server import start_server
from cryptohub_desktop.storage.models import FailureLog
from tests.asyncapi_check import check_message
from tests.conftest import SLOW

EVIL = "https://evil.example"
KEYS = {"ETHERSCAN_KEY_1": "ETHKEYabcdef0123456789SECRET01",
        "COINMARKETCAP_KEY_1": "cmc-11112222-3333-4444-SECRET02",
        "WHALE_ALERT_KEY": "whaleKEY9876543210SECRET03"}


def _catalogue(*ids: str) -> list[Any]:
    from cryptohub_desktop.collectors import PROVIDERS
    by_id = {p.id: p for p in PROVIDERS}
    return [by_id[i] for i in ids if i in by_id]


@pytest.fixture
async def served(make_hub):
    """``await served(providers, extra="", keys=None, host=...)`` -> (hub, handle)."""
    handles = []

    async def factory(providers=(coingecko.PROVIDER,), extra="", keys=None, host=None):
        hub = await make_hub(list(providers), extra=extra, keys=keys)
        cfg = dataclasses.replace(hub.config.server, port=0, host=host or hub.config.server.host)
        handle = await start_server(LocalApi(hub), cfg, hub.secrets)
        handles.append(handle)
        return hub, handle

    yield factory
    for h in handles:
        await h.close()


async def get(port: int, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10 * SLOW) as c:
        return await c.get(path, **kwargs)


async def ws_status(port: int, path: str = "/ws/master", host: str | None = None,
                    **kwargs: Any) -> int:
    """The HTTP status of a WebSocket handshake to 127.0.0.1 (101 when it opened);
    ``host`` sets the Host header the client sends."""
    sock = socket.create_connection(("127.0.0.1", port))
    uri = f"ws://{host or '127.0.0.1'}:{port}{path}"
    try:
        async with connect(uri, sock=sock, open_timeout=10 * SLOW, **kwargs) as ws:
            await ws.send('{"action": "ping"}')
            while check_message(await asyncio.wait_for(ws.recv(), 10 * SLOW))["type"] != "pong":
                pass  # a dedicated path sends subscribed + snapshot first
            return 101
    except InvalidStatus as exc:
        body = json.loads(exc.response.body)
        assert set(body) == {"error", "detail"}
        return exc.response.status_code


async def test_foreign_origin_refused_on_rest_and_handshake(served):
    """A request or handshake carrying an Origin outside the (empty) allow-list is 403."""
    _, h = await served()
    for origin in (EVIL, "null", "http://localhost:8080"):
        r = await get(h.port, "/api/status", headers={"Origin": origin})
        assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"
        assert await ws_status(h.port, origin=origin) == 403
    assert (await get(h.port, "/api/status")).status_code == 200  # scripts send no Origin
    assert await ws_status(h.port) == 101


async def test_allowed_origin_is_accepted(served):
    """An origin listed in [server] allowed_origins is served; others are still 403."""
    _, h = await served(extra='[server]\nallowed_origins = ["http://localhost:3000"]\n')
    r = await get(h.port, "/api/status", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200
    assert await ws_status(h.port, origin="http://localhost:3000") == 101
    assert (await get(h.port, "/health", headers={"Origin": EVIL})).status_code == 403
    assert await ws_status(h.port, origin=EVIL) == 403


async def test_foreign_host_refused(served):
    """Host evil.example (DNS rebinding) is 403 on REST and WebSocket; the local names,
    with or without a port, are served."""
    _, h = await served()
    r = await get(h.port, "/health", headers={"Host": "evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "host_not_allowed"
    assert await ws_status(h.port, host="evil.example") == 403
    for host in ("localhost", f"localhost:{h.port}", "127.0.0.1", f"[::1]:{h.port}",
                 "LOCALHOST."):
        assert (await get(h.port, "/health", headers={"Host": host})).status_code == 200, host
    assert await ws_status(h.port, host="localhost") == 101


async def test_non_loopback_bind_requires_token(served):
    """Bound to 0.0.0.0 the server refuses requests without the token (401) and serves
    them with `Authorization: Bearer` or `?token=` (traffic stays on 127.0.0.1)."""
    hub, h = await served(host="0.0.0.0")
    assert h.token_required
    token = hub.secrets.server_token()
    r = await get(h.port, "/api/status")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await get(h.port, "/health", params={"token": "wrong"})).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    assert (await get(h.port, "/api/status", headers=auth)).status_code == 200
    assert (await get(h.port, "/api/providers", params={"token": token})).status_code == 200
    assert (await get(h.port, "/health", headers={"Host": "evil.example", **auth})
            ).status_code == 403
    doc = (await get(h.port, "/openapi.json", headers=auth)).json()
    assert doc["security"] == [{"bearer": []}, {"query_token": []}]
    assert await ws_status(h.port) == 401
    assert await ws_status(h.port, "/ws/news?token=nope") == 401
    assert await ws_status(h.port, additional_headers=auth) == 101
    assert await ws_status(h.port, f"/ws/news?token={token}") == 101
    assert token not in (await get(h.port, "/api/status", headers=auth)).text


async def test_rest_rate_limit_answers_429_with_retry_after(served):
    """Past the per-client limit REST answers 429 with Retry-After; WebSockets still open."""
    _, h = await served(extra="[server]\nrate_limit_per_minute = 5\n")
    codes = [(await get(h.port, "/health")).status_code for _ in range(5)]
    assert codes == [200] * 5
    r = await get(h.port, "/health")
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 12
    assert await ws_status(h.port) == 101


async def test_no_key_in_any_answer(served):
    """With keys configured and even planted in stored texts and events, no answer
    (REST, metrics, docs, snapshots, updates) contains a key; they come masked."""
    providers = _catalogue("coingecko", "etherscan", "coinmarketcap", "whale_alert")
    hub, h = await served(providers, keys=KEYS)
    await hub.runner.collect_once()
    leak = KEYS["ETHERSCAN_KEY_1"]
    await hub.alerts.fire("test", "warning", f"upstream said: invalid key {leak}", "etherscan")
    await hub.store.write(lambda: FailureLog.create(
        provider_id="etherscan", timestamp=to_db(utcnow()), error_type="auth",
        error_message=f"rejected apikey={leak}", endpoint=f"/api?apikey={leak}"))
    await hub.settle()
    texts = []
    paths = ["/health", "/api/status", "/api/providers", "/api/rate-limits", "/api/schedule",
             "/api/freshness", "/api/failures", "/api/market", "/api/history?symbol=BTC",
             "/api/news", "/api/sentiment", "/api/whales", "/api/gas", "/api/blocks",
             "/api/onchain", "/api/alerts", "/api/pools", "/metrics", "/openapi.json",
             "/docs", "/nope", "/api/news?limit=x"]
    for path in paths:
        texts.append((await get(h.port, path)).text)
    async with connect(f"ws://127.0.0.1:{h.port}/ws/master") as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "all"}))
        for _ in range(11):
            texts.append(check_message(await asyncio.wait_for(ws.recv(), 10 * SLOW)))
        hub.bus.publish("alerts", {"id": 1, "timestamp": "2024-05-01T12:00:00Z",
                                   "provider_id": None, "alert_type": "test",
                                   "severity": "info", "message": f"event with {leak}",
                                   "acknowledged": False})
        texts.append(check_message(await asyncio.wait_for(ws.recv(), 10 * SLOW)))
    everything = "\n".join(t if isinstance(t, str) else json.dumps(t, ensure_ascii=False)
                           for t in texts)
    for value in KEYS.values():
        assert value not in everything
    assert mask(leak) in everything  # the planted key was there, masked
