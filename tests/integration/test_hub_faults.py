"""The hub against a faulty upstream: each failure recorded with its type, nothing wrong stored."""

import asyncio

import pytest

from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.storage.models import (
    Alert,
    ConnectionAttempt,
    DataCollection,
    FailureLog,
    MarketPrice,
    ScheduleConfig,
)
from tests.replay import Fault

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL

PATH = "/coingecko/simple/price"


async def _rows(hub, model):
    return await hub.store.read(lambda: list(model.select().dicts()))


async def test_5xx_is_recorded_and_nothing_stored(make_hub, replay):
    """A 503 answer is a failure of type http_5xx with its status; no price is stored."""
    hub = await make_hub([coingecko.PROVIDER])
    replay.fault(PATH, Fault(status=503, body=b"Service Unavailable"))
    r = await hub.runner.run_provider("coingecko")
    assert (r.status, r.error_type) == ("failure", "http_5xx")
    fails = await _rows(hub, FailureLog)
    assert fails[0]["error_type"] == "http_5xx" and fails[0]["http_status_code"] == 503
    assert await _rows(hub, MarketPrice) == []
    attempts = await _rows(hub, ConnectionAttempt)
    assert attempts[0]["status"] == "failure" and attempts[0]["http_status_code"] == 503


async def test_malformed_json_is_a_parse_error(make_hub, replay):
    """Truncated JSON is recorded as parse_error, nothing is stored and the hub goes on."""
    hub = await make_hub([coingecko.PROVIDER])
    replay.fault(PATH, Fault(body=b'{"bitcoin": {"usd": 6718', times=1))
    r = await hub.runner.run_provider("coingecko")
    assert r.error_type == "parse_error"
    assert await _rows(hub, MarketPrice) == []
    r2 = await hub.runner.run_provider("coingecko")  # the next answer is good again
    assert r2.status == "success" and len(await _rows(hub, MarketPrice)) == 1


async def test_wrong_schema_is_a_parse_error(make_hub, replay):
    """Valid JSON of the wrong shape (price as an object) is parse_error, not a wrong row."""
    hub = await make_hub([coingecko.PROVIDER])
    replay.fault(PATH, Fault(body=b'{"bitcoin": {"usd": {"value": 1}}}'))
    r = await hub.runner.run_provider("coingecko")
    assert r.error_type == "parse_error"
    assert await _rows(hub, MarketPrice) == []


async def test_timeout_is_recorded(make_hub, replay):
    """An upstream slower than the request timeout is a timeout failure."""
    hub = await make_hub([coingecko.PROVIDER])
    hub.request_timeout = 0.3
    replay.fault(PATH, Fault(delay=1.5))
    r = await hub.runner.run_provider("coingecko")
    assert r.error_type == "timeout"
    assert (await _rows(hub, FailureLog))[0]["error_type"] == "timeout"


async def test_429_with_retry_after_defers_the_next_call(make_hub, replay):
    """A 429 with Retry-After: 120 is rate_limited; the next run is skipped, never sent."""
    hub = await make_hub([coingecko.PROVIDER])
    replay.fault(PATH, Fault(status=429, headers={"Retry-After": "120"}))
    r = await hub.runner.run_provider("coingecko")
    assert r.error_type == "rate_limited"
    assert hub.limiters["coingecko"].blocked_for > 100
    sent = replay.count(PATH)
    r2 = await hub.runner.run_provider("coingecko", scheduled=utcnow())
    assert (r2.status, r2.error_type) == ("skipped", "rate_limited")
    assert replay.count(PATH) == sent
    await hub.settle()
    sc = (await _rows(hub, ScheduleConfig))[0]
    assert sc["skip_count"] == 1
    assert hub.health.get("coingecko").status == "degraded"


async def test_offline_raises_one_alert_and_recovery_another(make_hub, replay):
    """Three failures in a row: offline with one provider_down alert; recovery alerts once."""
    clock_now = [0.0]
    hub = await make_hub([coingecko.PROVIDER], clock=lambda: clock_now[0])
    replay.fault(PATH, Fault(status=500))
    for _ in range(3):
        await hub.runner.run_provider("coingecko")
    assert hub.health.get("coingecko").status == "offline"
    r = await hub.runner.run_provider("coingecko")
    assert (r.status, r.error_type) == ("skipped", "circuit_open")
    replay.clear_faults()
    clock_now[0] += 31  # back-off over: a probe goes out
    r = await hub.runner.run_provider("coingecko")
    assert r.status == "success"
    await hub.settle()
    alerts = await _rows(hub, Alert)
    assert [a["alert_type"] for a in alerts] == ["provider_down", "provider_recovered"]


async def test_needs_key_provider_is_not_called_and_not_offline(make_hub, replay):
    """A provider whose key is missing is 'needs_key': no request, no failure."""
    from cryptohub_desktop.providers.spec import Auth, Provider
    spec = coingecko.SPEC.__class__(**{**coingecko.SPEC.__dict__, "id": "keyed",
                                       "auth": Auth("header", "x-key", ("KEYED_KEY",))})
    hub = await make_hub([Provider(spec, coingecko.collect)], mount=False)
    r = await hub.runner.run_provider("keyed")
    assert r.status == "needs_key"
    assert hub.health.get("keyed").status == "needs_key"
    assert await _rows(hub, DataCollection) == []


async def test_concurrent_runs_share_one_writer(make_hub, replay):
    """Twenty concurrent runs all land; the writer serialises them without errors."""
    hub = await make_hub([coingecko.PROVIDER])
    results = await asyncio.gather(*(hub.runner.run_provider("coingecko") for _ in range(20)))
    ok = [r for r in results if r.status == "success"]
    skipped = [r for r in results if r.status == "skipped"]
    assert len(ok) + len(skipped) == 20 and ok
    assert len(await _rows(hub, MarketPrice)) == len(ok)


async def test_impossible_price_is_dropped_not_stored(make_hub, replay):
    """A price of 0 in an otherwise valid answer never reaches the database or the charts."""
    hub = await make_hub([coingecko.PROVIDER])
    replay.fault(PATH, Fault(body=b'{"bitcoin": {"usd": 0, "last_updated_at": 1711356300},'
                                  b' "ethereum": {"usd": 3500.5, "last_updated_at": 1711356300}}'))
    r = await hub.runner.run_provider("coingecko")
    assert (r.status, r.records) == ("success", 1)
    rows = await _rows(hub, MarketPrice)
    assert [(x["symbol"], x["price_usd"]) for x in rows] == [("ETH", 3500.5)]
