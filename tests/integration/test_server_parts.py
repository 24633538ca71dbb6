"""The server's pure parts without sockets: parameter parsing, address checks, the
per-client and per-connection buckets, Prometheus escaping, the answer cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.engine.bus import Bus
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.params import Param, parse_query, parse_time
from cryptohub_desktop.server.responses import ApiError, encode_json
from cryptohub_desktop.server.security import (
    ClientRateLimiter,
    Throttle,
    is_loopback,
    split_host,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("text,expected", [
    ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01t12:00:00.123456789+02:00", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ("1714564800", datetime(2024, 5, 1, 12, tzinfo=UTC)),
])
def test_parse_time_accepts_rfc3339_dates_and_unix_seconds(text, expected):
    """Times are RFC 3339 date-times (any offset), plain dates or Unix seconds, as UTC."""
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["2024-05-01T12:00", "2024-W01-1", "202405011234", "-5",
                                  "2024-05-01 12:00:00Z", "2024-13-01", "now"])
def test_parse_time_refuses_other_forms(text):
    """Anything the OpenAPI schema does not admit is refused."""
    with pytest.raises(ValueError):
        parse_time(text)


def test_parse_query_empty_means_absent_and_unknown_names_ignored():
    """`?a=` counts as not given; unknown names are ignored; required ones enforced."""
    params = [Param("limit", "integer", "n", minimum=1, maximum=5),
              Param("symbol", "string", "s", required=True, pattern="[A-Za-z]+", upper=True)]
    assert parse_query("symbol=btc&limit=&_=123", params) == {"symbol": "BTC"}
    with pytest.raises(ApiError) as err:
        parse_query("limit=2", params)
    assert err.value.status == 400 and "symbol: required" in err.value.detail
    with pytest.raises(ApiError):
        parse_query("symbol=BTC&limit=1.5", params)


def test_integer_and_number_parsing_is_strict():
    """Integers are ASCII digits only (no '1_000', no Arabic digits); numbers are finite."""
    n = Param("n", "integer", "n")
    x = Param("x", "number", "x")
    assert n.parse("+12") == 12 and x.parse("1e3") == 1000.0 and x.parse(".5") == 0.5
    for bad in ("1_000", "١٢", " 1", "0x10"):
        with pytest.raises(ApiError):
            n.parse(bad)
    for bad in ("inf", "nan", "1e999", "1,5"):
        with pytest.raises(ApiError):
            x.parse(bad)


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.0.0.2", True),
                                       ("::1", True), ("[::1]", True), ("localhost", True),
                                       ("0.0.0.0", False), ("192.168.1.5", False),
                                       ("example.com", False)])
def test_is_loopback(host, loop):
    """Only addresses that accept connections from this machine alone count as loopback."""
    assert is_loopback(host) is loop


@pytest.mark.parametrize("header,host", [("localhost:7860", "localhost"),
                                         ("[::1]:7860", "::1"), ("[::1]", "::1"),
                                         ("Example.COM.", "example.com"),
                                         ("127.0.0.1", "127.0.0.1")])
def test_split_host(header, host):
    """The Host header's host part, port removed, lower case, trailing dot removed."""
    assert split_host(header) == host


def test_client_rate_limiter_bucket_refills_evenly():
    """600/min allows a burst of 600, then one request per 0.1 s; keys are separate."""
    clock = FakeClock()
    lim = ClientRateLimiter(600, clock)
    assert all(lim.hit("a") == 0 for _ in range(600))
    assert lim.hit("a") == pytest.approx(0.1)
    assert lim.hit("b") == 0
    clock.t += 0.1
    assert lim.hit("a") == 0


def test_throttle_throttles_then_flags_abuse():
    """A connection may send `burst` at once and `rate`/s after; past the abuse
    threshold of refused messages it is flagged for a 1008 close."""
    clock = FakeClock()
    th = Throttle(rate=10, burst=5, abuse=20, clock=clock)
    assert [th.take() for _ in range(5)] == ["ok"] * 5
    assert th.take() == "throttled"
    clock.t += 0.1
    assert th.take() == "ok"
    verdicts = [th.take() for _ in range(25)]
    assert verdicts[-1] == "abuse" and "throttled" in verdicts


def test_encode_json_never_emits_nan():
    """NaN and infinities become null: the answer stays valid JSON."""
    assert encode_json({"a": float("nan"), "b": [float("inf"), 1.5]}) == b'{"a":null,"b":[null,1.5]}'


async def test_answer_cache_keeps_until_event_and_shares_builds():
    """An answer is built once for concurrent callers, served until an event of its
    topic, then rebuilt; other topics' events do not invalidate it."""
    bus = Bus()
    cache = AnswerCache(lambda fn: bus.subscribe("*", fn), ttl=60)
    calls = []

    async def build() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        return f"v{len(calls)}"
    got = await asyncio.gather(*(cache.get("k", ("news",), build) for _ in range(5)))
    assert got == ["v1"] * 5 and len(calls) == 1
    bus.publish("alerts", {})
    assert await cache.get("k", ("news",), build) == "v1"
    bus.publish("news", {})
    assert await cache.get("k", ("news",), build) == "v2"
    cache.close()
