"""The WebSocket side of the local server with real `websockets` clients over loopback:
subscribe / snapshot / live updates, dedicated paths, bad input, floods, fan-out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.core.topics import TOPICS
from cryptohub_desktop.server import start_server
from cryptohub_desktop.server import ws as ws_module
from tests.asyncapi_check import check_message, market_update
from tests.conftest import SLOW

#: service -> a provider whose run publishes to it (used when present in this tree)
TRIGGERS = {"market_data": "coingecko", "explorers": "mempool_space",
            "news": "cryptocompare_news", "sentiment": "alternative_me",
            "rpc_nodes": "publicnode_eth", "onchain": "defillama"}


def _catalogue(*ids: str) -> list[Any]:
    from cryptohub_desktop.collectors import PROVIDERS
    by_id = {p.id: p for p in PROVIDERS}
    return [by_id[i] for i in ids if i in by_id]


@pytest.fixture
async def served(make_hub):
    """``await served(providers, **server_kwargs)`` -> (hub, handle)."""
    handles = []

    async def factory(providers=(coingecko.PROVIDER,), extra="", **server):
        hub = await make_hub(list(providers), extra=extra)
        handle = await start_server(LocalApi(hub), dataclasses.replace(hub.config.server, port=0), hub.secrets,
                                    **server)
        handles.append(handle)
        return hub, handle

    yield factory
    for h in handles:
        await h.close()


def _connect(handle: Any, path: str = "/ws/master", **kwargs: Any) -> Any:
    return connect(f"ws://127.0.0.1:{handle.port}{path}", open_timeout=10 * SLOW, **kwargs)


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next message, checked against its AsyncAPI schema."""
    return check_message(json.loads(await asyncio.wait_for(ws.recv(), timeout * SLOW)))


async def recv_until(ws: ClientConnection, pred: Any, timeout: float = 10.0,
                     seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The first message satisfying ``pred`` (others are skipped, or kept in ``seen``)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        msg = await recv(ws, max(0.01, deadline - time.monotonic()))
        if seen is not None:
            seen.append(msg)
        if pred(msg):
            return msg


async def subscribe(ws: ClientConnection, service: str) -> dict[str, Any]:
    """Subscribe; assert the reply then the snapshot; return the snapshot."""
    await ws.send(json.dumps({"action": "subscribe", "service": service}))
    assert await recv(ws) == {"type": "subscribed", "service": service}
    snap = await recv(ws)
    assert snap["type"] == "snapshot" and snap["service"] == service, snap
    assert snap["timestamp"].endswith("Z") and isinstance(snap["data"], dict)
    return snap


async def test_each_service_subscribed_snapshot_then_live_update(served):
    """Each service answers subscribed, then its snapshot at once, then the live update
    its provider's run (or the hub's event) publishes."""
    hub, handle = await served(_catalogue(*TRIGGERS.values()))
    seen: list[dict[str, Any]] = []
    async with _connect(handle) as ws:
        for service in TOPICS:
            snap = await subscribe(ws, service)
            if service == "market_data":
                assert snap["data"]["market"][0]["symbol"] == "BTC"
            if service == "health_checker":
                assert snap["data"]["status"]["database"] == "connected"
        for service, pid in TRIGGERS.items():
            if pid not in hub.providers:
                continue
            await hub.runner.run_provider(pid)
            msg = await recv_until(ws, lambda m, s=service: m["service"] == s, seen=seen)
            assert msg["type"] == "update" and msg["timestamp"].endswith("Z")
            assert msg["data"]["provider"] == pid and msg["data"]["records"]
        await hub.runner.run_provider("coingecko", scheduled=utcnow())
        msg = await recv_until(ws, lambda m: m["service"] == "scheduler")
        assert msg["data"]["provider"] == "coingecko" and msg["data"]["on_time"] is True
        await hub.alerts.fire("test_alert", "warning", "hello subscribers")
        msg = await recv_until(ws, lambda m: m["service"] == "alerts")
        assert msg["data"]["message"] == "hello subscribers"
        whale = {"type": "whale_transactions", "blockchain": "bitcoin", "transaction_hash": "ab",
                 "timestamp": "2024-05-01T12:00:00Z", "amount": 120.5, "symbol": "BTC",
                 "amount_usd": 8.1e6, "from_address": "", "to_address": ""}
        hub.bus.publish("whale_tracking", {"provider": "btc_whales", "category": "whale_tracking",
                                           "records": [whale], "counts": {"whale_transactions": 1}})
        msg = await recv_until(ws, lambda m: m["service"] == "whale_tracking")
        assert msg["data"]["records"] == [whale]
    status = [m["data"] for m in seen if m["service"] == "health_checker"]
    assert {"event": "status", "provider": "coingecko", "old": "unknown",
            "new": "online"} in status


async def test_market_update_from_coingecko_run(served):
    """A market_data subscriber gets the CoinGecko price the run just collected."""
    hub, handle = await served()
    async with _connect(handle) as ws:
        snap = await subscribe(ws, "market_data")
        assert snap["data"]["market"][0]["consensus_price"] is None  # nothing collected yet
        await hub.runner.run_provider("coingecko")
        msg = await recv_until(ws, lambda m: m["type"] == "update")
        assert msg["service"] == "market_data"
        rec = msg["data"]["records"][0]
        assert (rec["symbol"], rec["price_usd"]) == ("BTC", 67187.3358936566)


async def test_all_service_gets_every_snapshot_and_update(served):
    """Subscribing to "all" sends one snapshot per service, then every update."""
    hub, handle = await served()
    async with _connect(handle) as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "all"}))
        assert await recv(ws) == {"type": "subscribed", "service": "all"}
        snaps = [await recv(ws) for _ in TOPICS]
        assert [s["service"] for s in snaps] == list(TOPICS)
        assert {s["type"] for s in snaps} == {"snapshot"}
        await hub.runner.run_provider("coingecko")
        msg = await recv_until(ws, lambda m: m["service"] == "market_data")
        assert msg["type"] == "update"


@pytest.mark.parametrize("path,service", sorted(ws_module.DEDICATED.items()))
async def test_dedicated_paths_subscribe_on_connect(served, path, service):
    """A dedicated path subscribes on connect: subscribed + snapshot with no message."""
    _, handle = await served()
    async with _connect(handle, path) as ws:
        assert await recv(ws) == {"type": "subscribed", "service": service}
        snap = await recv(ws)
        assert (snap["type"], snap["service"]) == ("snapshot", service)
        await ws.send('{"action": "ping"}')
        assert (await recv(ws))["type"] == "pong"


async def test_unsubscribe_stops_updates(served):
    """After unsubscribe no more updates of that service arrive."""
    hub, handle = await served()
    async with _connect(handle) as ws:
        await subscribe(ws, "market_data")
        await ws.send(json.dumps({"action": "unsubscribe", "service": "market_data"}))
        assert await recv(ws) == {"type": "unsubscribed", "service": "market_data"}
        hub.bus.publish("market_data", market_update(n=1))
        await ws.send('{"action": "ping"}')
        assert (await recv(ws))["type"] == "pong"  # the update would have come first


@pytest.mark.parametrize("message,code", [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ('{"service": "news"}', "invalid_message"),
    ('{"action": "dance"}', "unknown_action"),
    ('{"action": "subscribe", "service": "weather"}', "unknown_service"),
    ('{"action": "subscribe"}', "unknown_service"),
    (json.dumps({"action": "ping", "pad": "x" * 100_000}), "message_too_large"),
    (b"\x00\x01", "invalid_message"),
])
async def test_bad_input_gets_error_and_connection_stays_usable(served, message, code):
    """Bad input gets {"type": "error", "error": code, "detail"}; ping still answers."""
    _, handle = await served()
    async with _connect(handle) as ws:
        await ws.send(message)
        err = await recv(ws)
        assert err["type"] == "error" and err["error"] == code and err["detail"], err
        await ws.send('{"action": "ping"}')
        pong = await recv(ws)
        assert pong["type"] == "pong" and pong["timestamp"].endswith("Z")


async def test_frame_over_one_mebibyte_closes_1009(served):
    """A frame past the 1 MiB transport limit closes the connection with 1009."""
    _, handle = await served()
    async with _connect(handle, max_size=None) as ws:
        await ws.send("x" * (ws_module.MAX_FRAME + 10))
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert ws.close_code == 1009


async def test_flood_is_throttled_then_closed_1008(served, caplog):
    """A burst within the bucket is answered; a flood gets rate_limited and, past the
    abuse threshold, close 1008 (logged)."""
    _, handle = await served()
    async with _connect(handle) as ws:
        for _ in range(30):
            await ws.send('{"action": "ping"}')
        assert [(await recv(ws))["type"] for _ in range(30)] == ["pong"] * 30
    with caplog.at_level(logging.WARNING, logger="cryptohub.server.ws"):
        async with _connect(handle) as ws:
            codes = []
            with pytest.raises(ConnectionClosed):
                for _ in range(2000):
                    await ws.send('{"action": "ping"}')
                while True:
                    codes.append((await recv(ws)).get("error"))
            assert "rate_limited" in codes
            assert ws.close_code == 1008
    assert any("close 1008" in r.getMessage() for r in caplog.records)


async def test_update_is_encoded_once_for_all_subscribers(served, monkeypatch):
    """One event is JSON-encoded once however many clients subscribe to it."""
    _, handle = await served()
    hub = handle.fanout.api.hub
    clients = []
    for _ in range(20):
        ws = await _connect(handle)
        await subscribe(ws, "market_data")
        clients.append(ws)
    encoded = []
    real = ws_module.encode_json

    def counting(body: Any) -> str:
        encoded.append(body.get("type"))
        return real(body)
    monkeypatch.setattr(ws_module, "encode_json", counting)
    hub.bus.publish("market_data", market_update(n=1))
    for ws in clients:
        assert (await recv(ws))["data"] == market_update(n=1)
        await ws.close()
    assert encoded == ["update"]


async def test_slow_consumer_dropped_1013_others_get_every_update(served, caplog):
    """With one client that never reads and 50 that do, the 50 get every update
    promptly and the slow one is dropped with close 1013 (logged)."""
    hub, handle = await served(max_client_buffer=64 * 1024, drop_grace=30 * SLOW)
    readers = []
    for _ in range(50):
        ws = await _connect(handle, max_size=None)
        await subscribe(ws, "market_data")
        readers.append(ws)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", handle.port))
    slow = await _connect(handle, sock=sock, max_size=None)
    await subscribe(slow, "market_data")
    slow.transport.pause_reading()  # never reads from now on
    # shrink the server side's kernel buffer too, so the backlog reaches user space fast
    port = sock.getsockname()[1]
    conn = next(c for c in handle.fanout.clients if c.remote_address[1] == port)
    conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                       4096)

    n, blob = 60, "x" * 32_000
    sent: dict[int, float] = {}
    latencies: list[float] = []

    async def read_all(ws: ClientConnection) -> list[int]:
        seqs = []
        while len(seqs) < n:
            msg = await recv(ws, 20)
            seqs.append(msg["data"]["n"])
            latencies.append(time.perf_counter() - sent[msg["data"]["n"]])
        return seqs

    with caplog.at_level(logging.WARNING, logger="cryptohub.server.ws"):
        tasks = [asyncio.create_task(read_all(ws)) for ws in readers]
        for seq in range(n):
            sent[seq] = time.perf_counter()
            hub.bus.publish("market_data", market_update(n=seq, blob=blob))
            await asyncio.sleep(0.01)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 60 * SLOW)
    assert all(r == list(range(n)) for r in results)
    latencies.sort()
    assert latencies[int(0.99 * len(latencies))] < 2.0 * SLOW, latencies[-5:]
    assert handle.fanout.stats["dropped_slow"] == 1
    assert slow not in handle.fanout.clients or len(handle.fanout.clients) == 50
    assert any("close 1013" in r.getMessage() for r in caplog.records)
    slow.transport.resume_reading()  # now drain it: the close frame follows the backlog
    with pytest.raises(ConnectionClosed):
        while True:
            check_message(await asyncio.wait_for(slow.recv(), 30 * SLOW))
    assert slow.close_code == 1013
    for ws in readers:
        await ws.close()


async def test_market_update_carries_the_new_consensus_and_outlier_flags(served):
    """A market_data update holds the consensus after the write of each symbol it
    touched; a price far from the other sources is flagged on its record and listed."""
    hub, handle = await served()
    now = utcnow()
    await hub.store.write(hub.store.insert_records, "binance", [Price("BTC", 100.0, now)])
    await hub.store.write(hub.store.insert_records, "kraken", [Price("BTC", 101.0, now)])
    async with _connect(handle) as ws:
        await subscribe(ws, "market_data")
        await hub.runner.run_provider("coingecko")
        msg = await recv_until(ws, lambda m: m["type"] == "update")
    data = msg["data"]
    btc = next(c for c in data["consensus"] if c["symbol"] == "BTC")
    assert btc == {"symbol": "BTC", "consensus_price": 101.0, "source_count": 3,
                   "outliers": ["coingecko"]}
    record = next(r for r in data["records"] if r["symbol"] == "BTC")
    assert record["outlier"] is True and record["deviation_pct"] > 1000
    assert [(o["symbol"], o["source"]) for o in data["outliers"]] == [("BTC", "coingecko")]


async def test_market_snapshot_honours_the_symbols_asked_for(served):
    """subscribe market_data with symbols: the reply echoes them and the snapshot holds
    those symbols only; symbols on another service, or malformed, get an error."""
    _, handle = await served()
    async with _connect(handle) as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "market_data",
                                  "symbols": ["eth", "BTC"]}))
        assert await recv(ws) == {"type": "subscribed", "service": "market_data",
                                  "symbols": ["ETH", "BTC"]}
        snap = await recv(ws)
        assert [m["symbol"] for m in snap["data"]["market"]] == ["ETH", "BTC"]
        for bad in ({"service": "news", "symbols": ["BTC"]},
                    {"service": "market_data", "symbols": "BTC"},
                    {"service": "market_data", "symbols": ["B T C"]}):
            await ws.send(json.dumps({"action": "subscribe", **bad}))
            err = await recv(ws)
            assert err["type"] == "error" and err["error"] == "invalid_message", err
        await ws.send(json.dumps({"action": "subscribe", "service": "market_data"}))
        await recv(ws)
        full = await recv(ws)
        assert len(full["data"]["market"]) == 5  # the watchlist
