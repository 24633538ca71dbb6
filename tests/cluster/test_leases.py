"""Provider leases on a real PostgreSQL: fair shares, takeover, release, self-fencing."""

from __future__ import annotations

import asyncio
import time

import psycopg

from cryptohub_desktop.cluster.leases import TEAM_LEASE, LeaseCoordinator
from tests.conftest import SLOW
from tests.tcpproxy import TcpProxy

IDS = [f"p{i:02d}" for i in range(10)]
DDL = """
CREATE TABLE hub_instance (id varchar(255) PRIMARY KEY, host varchar(255) NOT NULL,
  port integer NOT NULL, version varchar(255) NOT NULL, started_at timestamp NOT NULL,
  heartbeat_at timestamp NOT NULL);
CREATE TABLE provider_lease (provider_id varchar(255) PRIMARY KEY, owner varchar(255),
  epoch bigint NOT NULL DEFAULT 0, lease_until timestamp);
"""


def _schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DDL)


def _coordinator(url: str, name: str, ttl: float = 2.0) -> tuple[LeaseCoordinator, list[set[str]]]:
    changes: list[set[str]] = []
    c = LeaseCoordinator(url, name, host="127.0.0.1", port=7860, ttl=ttl)
    return c, changes


async def _until(cond, timeout: float) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout * SLOW, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def _owned(*coordinators: LeaseCoordinator) -> list[set[str]]:
    return [{p for p in [*IDS, TEAM_LEASE] if c.owns(p)} for c in coordinators]


async def test_two_instances_share_the_providers_fairly_and_never_both(pg_url):
    """Two instances end up with 6 and 5 of the 11 leases, never the same one."""
    _schema(pg_url)
    a, a_changes = _coordinator(pg_url, "hub-a")
    b, b_changes = _coordinator(pg_url, "hub-b")
    await a.start(IDS, a_changes.append)
    await b.start(IDS, b_changes.append)
    try:
        await _until(lambda: sorted(map(len, _owned(a, b))) == [5, 6], 10)
        oa, ob = _owned(a, b)
        assert not oa & ob and oa | ob == {*IDS, TEAM_LEASE}
        assert a_changes[-1] == set(a.held) and b_changes[-1] == set(b.held)
    finally:
        await a.stop()
        await b.stop()


async def test_a_crashed_owner_is_taken_over_within_two_ttls(pg_url):
    """An instance that dies without giving back (kill -9) loses its leases to the other
    within 2 x TTL, each at a higher epoch, and is reported lost once for the team."""
    _schema(pg_url)
    a, _ = _coordinator(pg_url, "hub-a")
    b, _ = _coordinator(pg_url, "hub-b")
    reports: list[str] = []
    await a.start(IDS, lambda owned: None)
    await b.start(IDS, lambda owned: None, lambda instance, age: reports.append(instance))
    try:
        await _until(lambda: sorted(map(len, _owned(a, b))) == [5, 6], 10)
        lost = dict(a.held)
        assert a._task is not None and a._conn is not None
        a._task.cancel()  # dies: no renewal, no release
        await a._conn.close()
        a._conn = None
        took = await _until(lambda: len(_owned(b)[0]) == 11, 2 * a.ttl + 1)
        assert took <= 2 * a.ttl * SLOW
        assert all(b.held[p] > lost[p] for p in lost)
        await _until(lambda: reports, 3 * a.ttl)
        await asyncio.sleep(2 * b.tick_seconds)
        assert reports == ["hub-a"]
    finally:
        a.held.clear()
        await a.stop()
        await b.stop()


async def test_stop_gives_every_lease_back_at_once(pg_url):
    """SIGTERM (stop) releases: the other instance owns everything within about a tick."""
    _schema(pg_url)
    a, _ = _coordinator(pg_url, "hub-a", ttl=8.0)
    b, _ = _coordinator(pg_url, "hub-b", ttl=8.0)
    await a.start(IDS, lambda owned: None)
    await b.start(IDS, lambda owned: None)
    try:
        await _until(lambda: sorted(map(len, _owned(a, b))) == [5, 6], 15)
        await a.stop()
        took = await _until(lambda: len(_owned(b)[0]) == 11, 8)
        assert took < 8.0 / 2  # well before the 8 s lease would have ended
    finally:
        await b.stop()


async def test_an_instance_that_cannot_renew_stops_before_its_lease_ends(pg_url):
    """Cut from the database, an instance stops owning its providers before the database
    considers its leases over, so two owners never overlap."""
    _schema(pg_url)
    host, rest = pg_url.split("@", 1)[1].split(":", 1)
    proxy = TcpProxy((host, int(rest.split("/", 1)[0])))
    via_proxy = pg_url.replace(f"@{host}:{rest.split('/', 1)[0]}", f"@127.0.0.1:{proxy.port}")
    a, _ = _coordinator(via_proxy, "hub-a")
    b, _ = _coordinator(pg_url, "hub-b")
    await a.start(IDS, lambda owned: None)
    await b.start(IDS, lambda owned: None)
    try:
        await _until(lambda: sorted(map(len, _owned(a, b))) == [5, 6], 10)
        mine = set(_owned(a)[0])
        proxy.cut()
        a_stopped = b_took = None
        start = time.monotonic()
        while b_took is None:
            now = time.monotonic()
            assert now - start < 3 * a.ttl * SLOW, "no takeover"
            if a_stopped is None and not _owned(a)[0]:
                a_stopped = now
            if mine <= _owned(b)[0]:
                b_took = now
            await asyncio.sleep(0.02)
        assert a_stopped is not None and a_stopped < b_took
    finally:
        proxy.close()
        await a.stop()
        await b.stop()
