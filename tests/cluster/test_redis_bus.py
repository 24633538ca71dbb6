"""The team hub's bus on a real Redis: numbering, delivery everywhere, outages."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from cryptohub_desktop.cluster.redis_bus import RedisBus
from cryptohub_desktop.core.topics import RESYNC, Event
from tests.cluster.conftest import REDIS_URL
from tests.conftest import SLOW


async def _until(cond, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout * SLOW
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_every_instance_gets_every_update_numbered_without_gaps(redis_prefix):
    """Updates published by two instances reach both, in one order, seq 1, 2, 3 ... per
    service, each carrying the instance that published it."""
    a = RedisBus(REDIS_URL, "hub-a", prefix=redis_prefix)
    b = RedisBus(REDIS_URL, "hub-b", prefix=redis_prefix)
    await a.start()
    await b.start()
    got: dict[str, list[Event]] = {"a": [], "b": []}
    a.subscribe("market_data", got["a"].append)
    b.subscribe("*", got["b"].append)
    try:
        for i in range(20):
            (a if i % 2 else b).publish("market_data", {"i": i})
        await _until(lambda: len(got["a"]) == 20 and len(got["b"]) == 20)
        for events in got.values():
            assert [e.seq for e in events] == list(range(1, 21))
        assert [e.data for e in got["a"]] == [e.data for e in got["b"]]
        assert {e.origin for e in got["a"]} == {"hub-a", "hub-b"}
        assert a.last_seq("market_data") == b.last_seq("market_data") == 20
        assert a.last_seq("news") == 0
    finally:
        await a.stop()
        await b.stop()


async def test_a_new_instance_continues_the_numbering(redis_prefix):
    """An instance started later delivers only new updates, numbered after the old ones."""
    a = RedisBus(REDIS_URL, "hub-a", prefix=redis_prefix)
    await a.start()
    first: list[Event] = []
    a.subscribe("news", first.append)
    a.publish("news", {"n": 1})
    await _until(lambda: len(first) == 1)
    b = RedisBus(REDIS_URL, "hub-b", prefix=redis_prefix)
    await b.start()
    later: list[Event] = []
    b.subscribe("news", later.append)
    try:
        assert b.last_seq("news") == 1
        a.publish("news", {"n": 2})
        await _until(lambda: len(later) == 1)
        assert later[0].seq == 2 and later[0].data == {"n": 2}
    finally:
        await a.stop()
        await b.stop()


async def test_a_killed_connection_resumes_from_the_last_entry(redis_prefix):
    """CLIENT KILL of the reader: the updates published meanwhile arrive, in order."""
    a = RedisBus(REDIS_URL, "hub-a", prefix=redis_prefix)
    b = RedisBus(REDIS_URL, "hub-b", prefix=redis_prefix)
    await a.start()
    await b.start()
    got: list[Event] = []
    b.subscribe("alerts", got.append)
    admin = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        a.publish("alerts", {"n": 0})
        await _until(lambda: len(got) == 1)
        for client in await admin.client_list():
            if client.get("cmd") in ("xread",):
                await admin.client_kill_filter(_id=client["id"])
        for n in range(1, 30):
            a.publish("alerts", {"n": n})
        await _until(lambda: len(got) == 30, timeout=15)
        assert [e.data["n"] for e in got] == list(range(30))
        assert [e.seq for e in got] == list(range(1, 31))
    finally:
        await admin.aclose()
        await a.stop()
        await b.stop()


async def test_a_trimmed_gap_is_a_resync_notice_not_a_silent_gap(redis_prefix, redis_proxy):
    """When the entries an instance missed during an outage were trimmed away, it
    delivers a resync notice for the service before the next update."""
    a = RedisBus(REDIS_URL, "hub-a", prefix=redis_prefix, maxlen=5)
    b = RedisBus(f"redis://127.0.0.1:{redis_proxy.port}/0", "hub-b", prefix=redis_prefix)
    await a.start()
    await b.start()
    got: list[Event] = []
    b.subscribe("news", got.append)
    try:
        a.publish("news", {"n": 0})
        await _until(lambda: len(got) == 1)
        redis_proxy.cut()  # b loses Redis while 300 updates come and most are trimmed
        for n in range(1, 301):
            a.publish("news", {"n": n})
        await _until(lambda: a.last_seq("news") == 301, timeout=15)
        await _until(lambda: not b.connected)
        redis_proxy.restore()
        await _until(lambda: got[-1].seq == 301, timeout=15)
        assert got[1].kind == RESYNC
        assert all(e.kind == "update" for e in got[2:]) and len(got) < 300
        assert got[-1].data == {"n": 300}
    finally:
        await a.stop()
        await b.stop()


async def test_updates_resume_in_order_after_an_outage(redis_prefix, redis_proxy):
    """Updates published by an instance whose Redis is away wait and are delivered,
    numbered in order, once it returns."""
    a = RedisBus(f"redis://127.0.0.1:{redis_proxy.port}/0", "hub-a", prefix=redis_prefix)
    b = RedisBus(REDIS_URL, "hub-b", prefix=redis_prefix)
    await a.start()
    await b.start()
    got: list[Event] = []
    b.subscribe("whale_tracking", got.append)
    try:
        redis_proxy.cut()
        for n in range(5):
            a.publish("whale_tracking", {"n": n})  # returns at once
        await asyncio.sleep(0.5)
        assert got == [] and not a.connected
        redis_proxy.restore()
        await _until(lambda: len(got) == 5, timeout=15)
        assert [e.data["n"] for e in got] == list(range(5))
        assert [e.seq for e in got] == list(range(1, 6))
    finally:
        await a.stop()
        await b.stop()


async def test_updates_wait_while_redis_is_unreachable(redis_prefix):
    """With Redis unreachable publishing returns at once and nothing is lost: the
    updates are numbered and delivered once it answers."""
    port_bus = RedisBus("redis://127.0.0.1:1/0", "hub-a", prefix=redis_prefix)
    await port_bus.start()  # nothing listens on port 1
    try:
        for n in range(3):
            port_bus.publish("sentiment", {"n": n})
        await asyncio.sleep(0.3)
        assert not port_bus.connected and len(port_bus._outbox) == 3
    finally:
        await port_bus.stop()
