"""A team hub for real: three `serve` processes on one PostgreSQL and one Redis, fed by
the replay upstream (a path prefix per instance, so the upstream tells who called)."""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from cryptohub_desktop.core.time import parse_iso
from tests.cluster.conftest import REDIS_URL
from tests.cluster.harness import Team, kill_redis_readers
from tests.conftest import SLOW
from tests.replay import ReplayServer

MARKET = ["coingecko", "binance", "kraken", "coinbase", "bitstamp", "gemini"]


@pytest.fixture
def team(tmp_path: Path, pg_url: str, redis_prefix: str) -> Iterator[object]:
    """``team(providers, **kw)`` -> a started Team (stopped afterwards, logs checked)."""
    made: list[Team] = []
    with ReplayServer() as replay:
        def factory(providers: list[str] = MARKET, redis_url: str = REDIS_URL,
                    **kw: object) -> Team:
            t = Team(tmp_path, pg_url, redis_url, redis_prefix, replay, providers, **kw)
            t.start()
            made.append(t)
            return t
        yield factory
        for t in made:
            outputs = t.stop()
            for name, out in outputs.items():
                assert "Traceback" not in out, f"{name}:\n{out[-4000:]}"


def test_leases_are_shared_fairly_and_each_provider_has_one_owner(team):
    """Three instances hold every lease between them, each a fair share, and
    /api/cluster on any instance lists the same three instances and leases."""
    t = team()
    owners = t.leases()
    assert len(owners) == t.lease_count
    counts = sorted(list(owners.values()).count(n) for n in t.instances)
    assert counts[-1] <= -(-t.lease_count // len(t.instances)) and counts[0] > 0, counts
    for inst in t.instances.values():
        doc = httpx.get(inst.url + "/api/cluster", timeout=5).json()
        assert doc["enabled"] is True and doc["instance_id"] == inst.name
        assert {i["id"] for i in doc["instances"]} == set(t.instances)
        assert all(i["heartbeat_age_seconds"] < 2 * t.ttl for i in doc["instances"])


def test_a_killed_owner_is_taken_over_and_collection_resumes(team):
    """kill -9 of a provider's owner: another instance owns it within 2 x TTL and collects
    it within 2 x TTL + the interval; three times in a row."""
    t = team(["coingecko", "kraken"])
    for _ in range(3):
        victim = t.owner("coingecko")
        assert victim is not None
        t.kill(victim)
        killed = time.monotonic()
        took = t.wait(lambda v=victim: t.owner("coingecko") not in (None, v),
                      4 * t.ttl * SLOW)
        assert took <= 2 * t.ttl * SLOW, f"takeover after {took:.1f}s"
        new = t.owner("coingecko")
        t.wait(lambda k=killed, n=new: any(at > k for at in t.arrivals(n, "coingecko")),
               (2 * t.ttl + 5 + 3) * SLOW)
        t.start([victim])  # back to three


def test_a_stopped_owner_calls_nothing_it_lost_and_no_slot_is_stored_twice(team):
    """SIGSTOP the owner for 2 x TTL, then SIGCONT: the upstream sees no call from it for
    the providers it lost (until it wins one back), and the database holds each
    scheduled slot once."""
    t = team(["coingecko", "binance", "kraken"])
    victim = t.owner("coingecko")
    assert victim is not None
    lost = [p for p in ("coingecko", "binance", "kraken") if t.owner(p) == victim]
    t.signal(victim, signal.SIGSTOP)
    time.sleep(2 * t.ttl)
    t.wait(lambda: all(t.owner(p) not in (None, victim) for p in lost), 4 * t.ttl * SLOW)
    resumed = previous = time.monotonic()
    t.signal(victim, signal.SIGCONT)
    # the fair share may hand a provider back to the victim later, under a new epoch:
    # what must not happen is a call before that
    regained: dict[str, float] = {}  # provider -> last look at which it was not back
    while time.monotonic() - resumed < 3 * t.ttl:
        looked = time.monotonic()
        owners = t.leases()
        for p in lost:
            if owners.get(p) == victim:
                regained.setdefault(p, previous)
        previous = looked
        time.sleep(0.05)
    for p in lost:
        back = regained.get(p, float("inf"))
        late = [at for at in t.arrivals(victim, p) if resumed < at < back]
        assert late == [], f"{victim} called {p} after losing it"
    dupes = t.query("SELECT provider_id, scheduled_time, COUNT(*) FROM data_collections "
                    "WHERE scheduled_time IS NOT NULL GROUP BY 1, 2 HAVING COUNT(*) > 1")
    assert dupes == []


async def _watch(url: str, seconds: float, kill_redis_of: str | None = None) -> dict:
    """Subscribe to market_data on one instance and collect updates for ``seconds``."""
    got: list[tuple[float, dict]] = []
    async with connect(url.replace("http", "ws") + "/ws/master", max_size=2**24) as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "market_data"}))
        snap = None
        deadline = time.monotonic() + seconds
        killed = False
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            msg = json.loads(raw)
            if msg["type"] == "snapshot":
                snap = msg
            elif msg["type"] == "update":
                got.append((time.time(), msg))
            if kill_redis_of and not killed and len(got) >= 3:
                killed = True
                kill_redis_readers(REDIS_URL)
    return {"snapshot": snap, "updates": got}


def test_every_update_reaches_a_subscriber_of_another_instance(team):
    """A client of one instance gets every update collected on the others, seq
    contiguous, also across a forced drop of the instances' Redis connections;
    publish-to-receipt p99 within 50 ms."""
    t = team()
    name = next(iter(t.instances))
    url = t.instances[name].url
    seen = asyncio.run(_watch(url, 30 * SLOW, kill_redis_of=name))
    ups = [m for _, m in seen["updates"]]
    assert len(ups) >= 10
    seqs = [m["seq"] for m in ups]
    assert seqs == list(range(seen["snapshot"]["seq"] + 1, seen["snapshot"]["seq"] + 1 +
                              len(seqs))), seqs
    assert len({m["origin"] for m in ups} - {name}) >= 1
    lags = sorted(at - parse_iso(m["timestamp"]).timestamp() for at, m in seen["updates"])
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
    assert p99 <= 0.050 * SLOW + 0.2, f"p99 {p99 * 1000:.1f} ms, median "\
        f"{statistics.median(lags) * 1000:.1f} ms"


def test_one_upstream_budget_for_the_team_and_its_collect_loops(team, tmp_path):
    """An upstream enforcing 10 requests per 10 s: three instances collecting every 5 s
    and three `collect --once` loops at the same time never put more than 10 requests
    in any 10-second window, and never get a 429."""
    t = team(["coingecko"], interval="every_5_sec",
             options={"coingecko": 'rate_limit = "10/10s"'})
    t.replay.limit("/", 10, 10.0)
    loop_cfg = tmp_path / "loop.toml"
    loop_cfg.write_text(t.instances["hub-a"].config.read_text().replace(
        'instance_id = "hub-a"', 'instance_id = "loop"'))
    deadline = time.monotonic() + 30 * SLOW
    loops = []
    for i in range(3):
        script = (f"import subprocess, sys, time\nwhile time.monotonic() < {deadline}:\n"
                  f"    subprocess.run([sys.executable, '-m', 'cryptohub_desktop', 'collect', "
                  f"'--once', '--provider', 'coingecko', '--config', {str(loop_cfg)!r}, "
                  f"'--data-dir', {str(tmp_path / f'loop{i}')!r}], capture_output=True)\n")
        loops.append(subprocess.Popen([sys.executable, "-c", script], env=t.env()))
    for p in loops:
        p.wait(timeout=120 * SLOW)
    with t.replay._lock:
        seen = [s for s in t.replay.seen if "/coingecko/" in s.path]
    times = sorted(s.at for s in seen)
    assert len(times) >= 10
    assert max(sum(1 for x in times if s <= x < s + 10.0) for s in times) <= 10
    assert [s for s in seen if s.status == 429] == []


async def test_redis_away_for_a_while(team, redis_proxy):
    """Redis cut for 12 s: every /health answers 200 saying redis is degraded, the
    upstream stays within its limit (each instance keeps to its share), and a subscriber
    gets the updates again afterwards with seq contiguous (or a fresh snapshot)."""
    url = f"redis://127.0.0.1:{redis_proxy.port}/0"
    t = await asyncio.to_thread(team, ["coingecko", "kraken"], redis_url=url,
                                options={"coingecko": 'rate_limit = "10/10s"'})
    t.replay.limit("/", 10, 10.0)
    name = next(iter(t.instances))
    ws_url = t.instances[name].url.replace("http", "ws") + "/ws/master"
    msgs: list[dict] = []
    async with connect(ws_url, max_size=2**24) as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "market_data"}))

        async def read() -> None:
            async for raw in ws:
                msgs.append(json.loads(raw))
        reader = asyncio.create_task(read())
        await asyncio.sleep(6 * SLOW)
        before = len([m for m in msgs if m["type"] == "update"])
        redis_proxy.cut()
        degraded = set()
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(12):
                for inst in t.instances.values():
                    r = await http.get(inst.url + "/health")
                    assert r.status_code == 200
                    degraded |= set(r.json()["degraded"])
                await asyncio.sleep(1)
        assert "redis" in degraded
        redis_proxy.restore()
        await asyncio.sleep(15 * SLOW)
        reader.cancel()
    ups = [m for m in msgs if m["type"] == "update"]
    assert before >= 1 and len(ups) > before
    snaps = [m for m in msgs if m["type"] == "snapshot"]
    seqs = [m["seq"] for m in ups]
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1]
    assert not gaps or len(snaps) > 1, f"gap without a fresh snapshot: {gaps}"
    with t.replay._lock:
        times = sorted(s.at for s in t.replay.seen if "/coingecko/" in s.path)
    assert max(sum(1 for x in times if s <= x < s + 10.0) for s in times) <= 10
    with t.replay._lock:
        assert [s for s in t.replay.seen if s.status == 429] == []
