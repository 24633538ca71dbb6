"""The WebSocket contract a team hub and an attached desktop rely on, with real clients:
seq and origin on every update, snapshots that carry the seq they reflect with no gap
after them, resync notices, hello and actions by token, X-Forwarded-For from trusted
proxies only."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import InvalidStatus

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.topics import RESYNC, Event
from tests.integration.test_server_ws import _connect, recv, recv_until, served, subscribe

__all__ = ["served"]


def news(n: int) -> dict:
    """A news update as a collection publishes it (n new articles)."""
    return {"provider": "coindesk_rss", "category": "news", "records": [],
            "counts": {"news_articles": n}}


async def test_updates_carry_seq_and_origin_and_snapshots_their_seq(served):
    """Updates of a service are numbered 1, 2, 3 ... with this instance as origin; a
    snapshot taken later carries the seq it reflects and the next update follows it."""
    hub, handle = await served()
    async with _connect(handle) as ws:
        snap = await subscribe(ws, "news")
        assert snap["seq"] == 0
        for n in range(3):
            hub.bus.publish("news", news(n))
        ups = [await recv_until(ws, lambda m: m["type"] == "update") for _ in range(3)]
        assert [u["seq"] for u in ups] == [1, 2, 3]
        assert {u["origin"] for u in ups} == {hub.coordinator.instance_id}
    async with _connect(handle) as ws:
        snap = await subscribe(ws, "news")
        assert snap["seq"] == 3
        hub.bus.publish("news", news(3))
        up = await recv_until(ws, lambda m: m["type"] == "update")
        assert up["seq"] == 4


async def test_updates_during_a_subscription_are_neither_lost_nor_doubled(served):
    """While a subscriber's snapshot is being read, updates keep coming: after the
    snapshot it gets exactly the updates newer than the snapshot's seq, in order."""
    hub, handle = await served()
    stop = asyncio.Event()

    async def publish() -> None:
        n = 0
        while not stop.is_set():
            hub.bus.publish("alerts", {"alert_type": "test", "severity": "info",
                                       "message": f"m{n}", "id": None, "timestamp":
                                       "2026-12-07T18:00:00Z", "provider_id": None,
                                       "acknowledged": False})
            n += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(publish())
    try:
        for _ in range(5):
            async with _connect(handle) as ws:
                snap = await subscribe(ws, "alerts")
                seqs = []
                while len(seqs) < 20:
                    m = await recv(ws)
                    if m["type"] == "update":
                        seqs.append(m["seq"])
                assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 21)), (snap["seq"],
                                                                                 seqs)
    finally:
        stop.set()
        await task


async def test_a_resync_notice_sends_a_fresh_snapshot(served):
    """A resync notice from the bus (updates lost in transit) gives every subscriber of
    the service a fresh snapshot carrying the current seq."""
    hub, handle = await served()
    async with _connect(handle) as ws:
        await subscribe(ws, "sentiment")
        hub.bus.publish("sentiment", {"provider": "alternative_me", "category": "sentiment",
                                      "records": [], "counts": {"sentiment_metrics": 1}})
        await recv_until(ws, lambda m: m["type"] == "update")
        hub.bus.deliver(Event("sentiment", {"reason": "test"}, seq=0, kind=RESYNC))
        snap = await recv_until(ws, lambda m: m["type"] == "snapshot")
        assert snap["service"] == "sentiment" and snap["seq"] == 1


async def _hello(ws) -> dict:
    await ws.send(json.dumps({"action": "hello"}))
    return await recv_until(ws, lambda m: m["type"] == "hello")


async def _act(ws, **msg) -> dict:
    await ws.send(json.dumps({"id": 5, **msg}))
    return await recv_until(ws, lambda m: m["type"] == "result", timeout=30)


async def test_actions_need_the_full_token(served):
    """Without a token (loopback) and with the read-only token a connection may read but
    its actions are refused with the reason; the full token runs them and answers a
    typed result; a wrong token is refused at the handshake."""
    hub, handle = await served()
    full = hub.secrets.server_token()
    read = hub.secrets.server_token(read_only=True)
    async with _connect(handle) as ws:
        hello = await _hello(ws)
        assert hello["can_act"] is False and "full access token" in hello["read_only_reason"]
        res = await _act(ws, action="collect_now", provider="coingecko")
        assert res["ok"] is False and res["id"] == 5 and "only read" in res["message"]
    async with _connect(handle, additional_headers={"Authorization": f"Bearer {read}"}) as ws:
        assert (await _hello(ws))["can_act"] is False
        res = await _act(ws, action="set_enabled", provider="coingecko", enabled=False)
        assert res["ok"] is False
    assert hub.catalogue.enabled["coingecko"] is True
    async with _connect(handle, additional_headers={"Authorization": f"Bearer {full}"}) as ws:
        hello = await _hello(ws)
        assert hello["can_act"] is True and hello["instance_id"] == hub.coordinator.instance_id
        res = await _act(ws, action="collect_now", provider="coingecko")
        assert res["ok"] is True and res["data"]["status"] == "success"
        assert res["data"]["records"] >= 1 and "records in" in res["message"]
        res = await _act(ws, action="set_enabled", provider="nope", enabled=True)
        assert res["ok"] is False and "nope" in res["message"]
        res = await _act(ws, action="set_enabled", provider="coingecko", enabled="yes")
        assert res["ok"] is False and "enabled must be true or false" in res["message"]
    with pytest.raises(InvalidStatus) as err:
        async with _connect(handle, additional_headers={"Authorization": "Bearer wrong"}):
            pass
    assert err.value.response.status_code == 401


async def test_forwarded_for_is_believed_only_from_trusted_proxies(served):
    """Behind a trusted proxy a client elsewhere must bring a token; the same header from
    an untrusted peer is ignored (it cannot make a request look local or remote)."""
    hub, handle = await served(trusted_proxies=["127.0.0.1"])
    remote = {"X-Forwarded-For": "203.0.113.9"}
    with pytest.raises(InvalidStatus) as err:
        async with _connect(handle, additional_headers=remote):
            pass
    assert err.value.response.status_code == 401
    token = hub.secrets.server_token(read_only=True)
    async with _connect(handle, additional_headers={**remote,
                                                    "Authorization": f"Bearer {token}"}) as ws:
        await subscribe(ws, "news")
    hub2, handle2 = await served([coingecko.PROVIDER], trusted_proxies=["10.0.0.0/8"])
    async with _connect(handle2, additional_headers=remote) as ws:  # peer is not trusted
        await subscribe(ws, "news")
