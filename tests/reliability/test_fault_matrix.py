"""Every upstream fault against the real hub path, for one provider of each kind.

Targets: a JSON REST market provider (coingecko), a JSON-RPC node (publicnode_eth), an
RSS feed (cointelegraph_rss) and an explorer whose pass makes three calls, faulted on
the last one (mempool_space: what the first two calls brought must not be stored
either). Each target shares its pool with a healthy partner, so a failure of the
pool's current member must rotate to the partner and leave a rotation_history row.

The existing single-fault tests (tests/integration/test_hub_faults.py) pin the
error types for coingecko; this matrix checks the same contract across provider kinds
and adds status, pool, size cap, whole-call deadline and liveness of the server.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.providers.ratelimit import RateLimiter
from cryptohub_desktop.providers.spec import RateLimit
from cryptohub_desktop.storage.models import (
    Alert,
    ConnectionAttempt,
    FailureLog,
    RotationHistory,
)
from tests.conftest import SLOW
from tests.reliability.conftest import MB, HostileReplay, rss_bytes
from tests.reliability.tables import data_rows
from tests.replay import FIXTURES, Fault

BY_ID = {p.id: p for p in PROVIDERS}
TIMEOUT = 1.0 * SLOW  # the hub's per-call deadline in this module
HUGE = 50 * MB


@dataclass(frozen=True)
class Target:
    """One provider under test and what a bad answer of its kind looks like."""

    pid: str
    partner: str  # a healthy member of the same pool
    path: str  # the faulted route (a prefix of the request path)
    fixture: str  # the recorded answer of that route, to truncate
    wrong_shape: bytes  # well-formed, but not what the provider documents
    not_parsable: bytes  # not JSON / not XML at all
    table: str  # a data table a good run fills

    def good_body(self) -> bytes:
        return (FIXTURES / self.pid / self.fixture).read_bytes()


TARGETS = [
    Target("coingecko", "binance", "/coingecko/simple/price", "simple_price.json",
           b'["bitcoin", {"usd": 67000}]', b"<html><body>502 Bad Gateway</body></html>",
           "market_prices"),
    Target("publicnode_eth", "llamarpc", "/publicnode_eth", "block_number.json",
           b'{"jsonrpc": "2.0", "id": 1, "result": {"number": 1207}}', b"rate limited, go away",
           "rpc_node_status"),
    Target("cointelegraph_rss", "coindesk_rss", "/cointelegraph_rss", "rss.xml",
           b'<?xml version="1.0"?><status><ok>true</ok></status>', b"\x00\xff{not: <xml",
           "news_articles"),
    Target("mempool_space", "blockstream", "/mempool_space/mempool", "mempool.json",
           b'{"count": "many", "vsize": 1891542}', b"Too Many Requests, slow down",
           "gas_prices"),
]


@dataclass(frozen=True)
class Case:
    """One fault and the outcome it must have (None: the run succeeds)."""

    name: str
    error_type: str | None
    apply: Callable[[HostileReplay, Target], None]
    kwargs: dict = field(default_factory=dict)


def _fault(**kw) -> Callable[[HostileReplay, Target], None]:
    return lambda srv, t: srv.fault(t.path, Fault(**kw))


def _body(make: Callable[[Target], bytes]) -> Callable[[HostileReplay, Target], None]:
    return lambda srv, t: srv.fault(t.path, Fault(body=make(t)))


CASES = [
    Case("delay_within_timeout", None, _fault(delay=0.3 * TIMEOUT)),
    Case("timeout", "timeout", _fault(delay=TIMEOUT + 1.0)),
    Case("connection_reset", "connection_error", _fault(reset=True)),
    Case("transfer_cut_short", "connection_error", lambda srv, t: srv.cut_short(t.path)),
    Case("429_retry_after", "rate_limited", _fault(status=429, headers={"Retry-After": "1"},
                                                  body=b'{"status": "rate limited"}')),
    Case("500", "http_5xx", _fault(status=500, body=b"Internal Server Error")),
    Case("502", "http_5xx", _fault(status=502, body=b"<html>Bad Gateway</html>")),
    Case("503", "http_5xx", _fault(status=503, body=b"")),
    Case("truncated", "parse_error", _body(lambda t: t.good_body()[: len(t.good_body()) // 2])),
    Case("not_parsable", "parse_error", _body(lambda t: t.not_parsable)),
    Case("wrong_shape", "parse_error", _body(lambda t: t.wrong_shape)),
    Case("empty_body", "parse_error", _body(lambda t: b"")),
    Case("50MB_declared", "parse_error", _fault(huge_bytes=HUGE)),
    Case("50MB_streamed", "parse_error", lambda srv, t: srv.stream_huge(t.path, HUGE)),
    Case("dribble_1_byte_per_s", "timeout", _fault(dribble_seconds_per_byte=1.0)),
]


async def pool_hub(make_hub: Callable, t: Target, *, clock: Callable[[], float] | None = None
                   ) -> Hub:
    """A started hub with ``t.pid`` and its partner, ``t.pid`` the pool's current member.

    The documented rate limits are swapped for generous ones: they are not under test
    here and would only add waiting (mempool_space allows 2 calls/s, 3 per pass).
    """
    hub = await make_hub([BY_ID[t.pid], BY_ID[t.partner]],
                         **({"clock": clock} if clock else {}))
    hub.request_timeout = TIMEOUT
    for pid in (t.pid, t.partner):
        hub.limiters[pid] = RateLimiter(pid, (RateLimit(1000, 1),),
                                        **({"clock": clock} if clock else {}))
    pool = hub.pools[BY_ID[t.pid].spec.pool_name]
    pool.reorder([t.pid, t.partner])
    assert pool.pick() == t.pid
    return hub


async def rows(hub: Hub, model) -> list[dict]:
    return await hub.store.read(lambda: list(model.select().order_by(model.id).dicts()))


async def run_watching_health(hub: Hub, pid: str, port: int) -> tuple[object, list[float]]:
    """Run ``pid`` while polling ``/health``; returns the result and each answer's seconds."""
    task = asyncio.create_task(hub.runner.run_provider(pid))
    waits: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while True:
            t0 = time.perf_counter()
            answer = await client.get("/health", timeout=5 * SLOW)
            waits.append(time.perf_counter() - t0)
            assert answer.status_code == 200 and answer.json()["status"] == "healthy"
            if task.done():
                break
            await asyncio.sleep(0.1)
    return await task, waits


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.pid)
async def test_fault(make_hub, replay, local_server, target: Target, case: Case):
    """The fault ends as its error type, stores nothing, degrades and rotates; serving goes on."""
    hub = await pool_hub(make_hub, target)
    server = await local_server(hub)
    pool = hub.pools[BY_ID[target.pid].spec.pool_name]
    case.apply(replay, target)
    huge = case.name.startswith("50MB")
    if huge:
        rss_before = rss_bytes()
        tracemalloc.start()
    t0 = time.perf_counter()
    result, health_waits = await run_watching_health(hub, target.pid, server.port)
    elapsed = time.perf_counter() - t0
    if huge:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 20 * MB, f"peak Python allocations {peak / MB:.1f} MB"
        assert rss_bytes() - rss_before < 25 * MB
        assert replay.streamed < 25 * MB, "the streamed body was read past the size cap"
    await hub.settle()
    assert max(health_waits) < 1.0 * SLOW, "the local server stalled during the fault"

    if case.error_type is None:
        assert result.status == "success", result
        assert (await data_rows(hub))[target.table] > 0
    else:
        assert (result.status, result.error_type) == ("failure", case.error_type), result
        failures = await rows(hub, FailureLog)
        assert [f["error_type"] for f in failures] == [case.error_type]
        assert failures[0]["provider_id"] == target.pid
        last = (await rows(hub, ConnectionAttempt))[-1]
        if case.error_type != "parse_error" or huge:  # failed on the wire, not in parsing
            assert (last["status"], last["error_type"]) == ("failure", case.error_type)
        else:  # the HTTP exchange itself worked; the answer did not parse
            assert last["status"] == "success"
        stored = await data_rows(hub)
        assert not any(stored.values()), f"stored after a failed run: {stored}"
        assert hub.health.get(target.pid).status == "degraded"
        assert pool.current == target.partner
        rotations = await rows(hub, RotationHistory)
        assert [(r["from_provider"], r["to_provider"], r["reason"]) for r in rotations
                if r["from_provider"]] == [(target.pid, target.partner, case.error_type)]
        if case.error_type == "rate_limited":
            assert hub.limiters[target.pid].blocked_for > 0
        if case.error_type == "timeout":  # the whole call has a deadline, dribble or not
            assert elapsed < TIMEOUT + 1.5 * SLOW, f"took {elapsed:.1f}s"

    replay.clear_faults()
    again = await hub.runner.run_provider(target.pid)  # a 429's Retry-After (1 s) is waited out
    assert again.status == "success", again
    assert (await data_rows(hub))[target.table] > 0


_CIRCUIT = [(TARGETS[0], "500", Fault(status=500)),
            (TARGETS[1], "reset", Fault(reset=True)),
            (TARGETS[2], "not_parsable", Fault(body=TARGETS[2].not_parsable)),
            (TARGETS[3], "502", Fault(status=502))]


@pytest.mark.parametrize("target,kind,fault", _CIRCUIT, ids=[f"{t.pid}-{k}" for t, k, _ in
                                                                _CIRCUIT])
async def test_three_failures_open_the_circuit(make_hub, replay, target, kind, fault):
    """Three failures: offline, circuit open (no request sent), pool moved; a probe recovers."""
    now = [1000.0]
    hub = await pool_hub(make_hub, target, clock=lambda: now[0])
    pool = hub.pools[BY_ID[target.pid].spec.pool_name]
    replay.fault(target.path, fault)
    statuses = []
    for _ in range(3):
        r = await hub.runner.run_provider(target.pid)
        assert r.status == "failure"
        statuses.append(hub.health.get(target.pid).status)
    assert statuses == ["degraded", "degraded", "offline"]
    assert hub.health.circuit_open(target.pid)
    assert pool.current == target.partner
    sent = replay.count(f"/{target.pid}")
    skipped = await hub.runner.run_provider(target.pid)
    assert (skipped.status, skipped.error_type) == ("skipped", "circuit_open")
    assert replay.count(f"/{target.pid}") == sent, "a request went out through an open circuit"
    assert pool.pick() == target.partner  # an open circuit is never picked

    replay.clear_faults()
    now[0] += 31  # back-off over: one probe goes out and closes the circuit
    probe = await hub.runner.run_provider(target.pid)
    assert probe.status == "success"
    assert not hub.health.circuit_open(target.pid)
    await hub.settle()
    alerts = [(a["alert_type"], a["provider_id"]) for a in await rows(hub, Alert)]
    assert alerts == [("provider_down", target.pid), ("provider_recovered", target.pid)]
    assert pool.current == target.pid  # priority strategy: the preferred member is back
    reasons = [(r["from_provider"], r["to_provider"], r["reason"])
               for r in await rows(hub, RotationHistory) if r["from_provider"]]
    assert reasons[0][:2] == (target.pid, target.partner)
    assert reasons[-1] == (target.partner, target.pid, "recovered")


async def test_repeated_429_never_makes_a_provider_offline(make_hub, replay):
    """Rate limiting is not unavailability: five 429s leave the provider degraded, circuit shut."""
    target = TARGETS[0]
    hub = await pool_hub(make_hub, target)
    replay.fault(target.path, Fault(status=429, headers={"Retry-After": "0"}))
    for _ in range(5):
        r = await hub.runner.run_provider(target.pid)
        assert r.error_type == "rate_limited"
    h = hub.health.get(target.pid)
    assert (h.status, h.consecutive_failures) == ("degraded", 0)
    assert not hub.health.circuit_open(target.pid)


async def test_one_pass_with_every_kind_failing_at_once(make_hub, replay):
    """A pass where four providers fail differently: each gets its own type, partners succeed."""
    hub = await make_hub([BY_ID[p] for t in TARGETS for p in (t.pid, t.partner)])
    hub.request_timeout = TIMEOUT
    faults = {"coingecko": (Fault(status=503), "http_5xx"),
              "publicnode_eth": (Fault(reset=True), "connection_error"),
              "cointelegraph_rss": (Fault(body=TARGETS[2].good_body()[:900]), "parse_error"),
              "mempool_space": (Fault(delay=TIMEOUT + 1.0), "timeout")}
    for t in TARGETS:
        replay.fault(t.path, faults[t.pid][0])
    results = {r.provider_id: r for r in await hub.runner.collect_once()}
    await hub.settle()
    for t in TARGETS:
        assert results[t.pid].error_type == faults[t.pid][1], results[t.pid]
        assert results[t.partner].status == "success", results[t.partner]
    types = {(f["provider_id"], f["error_type"]) for f in await rows(hub, FailureLog)}
    assert types == {(pid, et) for pid, (_, et) in faults.items()}
    stored = await data_rows(hub)
    assert stored["market_prices"] and stored["rpc_node_status"] and stored["news_articles"]

