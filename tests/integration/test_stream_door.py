"""The WebSocket door against a real websockets server on 127.0.0.1 replaying recorded frames.

Faults: abrupt drop, silence without close, pongs never answered, a rejected
subscription, garbage and binary frames, refused connects and refused handshakes.
Timings are short settings so each test runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import binance, bybit, coinbase, kraken, okx
from cryptohub_desktop.core.records import Candle, Price, Record
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.stream import StreamClient, StreamPlan, StreamSettings, StreamState
from tests.conftest import SLOW
from tests.ws_replay import ReplayWS, Session, closed_port, frame

FAST = StreamSettings(stale_after_seconds=5, ping_interval_seconds=5, pong_timeout_seconds=5,
                      reconnect_initial_seconds=0.1, reconnect_max_seconds=0.4,
                      max_connects_per_5min=20)


@dataclass
class Recorder:
    """Everything a StreamClient reported, with the monotonic time it was reported."""

    records: list[tuple[float, Record, datetime]] = field(default_factory=list)
    states: list[tuple[float, StreamState]] = field(default_factory=list)
    errors: list[tuple[float, str, str]] = field(default_factory=list)

    def on_records(self, records: list[Record], received: datetime) -> None:
        self.records += [(time.monotonic(), r, received) for r in records]

    def on_state(self, state: StreamState) -> None:
        self.states.append((time.monotonic(), state))

    def on_error(self, error_type: str, message: str) -> None:
        self.errors.append((time.monotonic(), error_type, message))

    def client(self, plan: StreamPlan, settings: StreamSettings = FAST, **kw) -> StreamClient:
        return StreamClient(plan, settings, on_records=self.on_records, on_state=self.on_state,
                            on_error=self.on_error, **kw)

    def names(self) -> list[str]:
        return [str(s) for _, s in self.states]

    def errors_of(self, error_type: str) -> list[str]:
        return [m for _, t, m in self.errors if t == error_type]


async def until(predicate: Callable[[], bool], timeout: float) -> float:
    """Wait until ``predicate()`` holds; the monotonic time it did. Fails after ``timeout``."""
    deadline = time.monotonic() + timeout * SLOW
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic()


def plan_at(module, url: str, symbols=("BTC", "ETH")) -> StreamPlan:
    (plan, *_) = module.STREAM.plans(list(symbols), SymbolMap.bundled(), url=url,
                                     business_url=url)
    return plan


def bybit_pong(text: str) -> str | None:
    return frame("bybit", "pong.json") if json.loads(text).get("op") == "ping" else None


BINANCE_LIVE = Session(acks=[frame("binance", "subscribe_ack.json")],
                       frames=[frame("binance", "ticker_ethusdt.json"),
                               frame("binance", "kline_btcusdt.json")])


async def test_subscribes_then_delivers_records_stamped_with_receive_time():
    """After connect the plan's subscribe is sent; ticks and candles arrive with receive times."""
    rec = Recorder()
    async with ReplayWS([BINANCE_LIVE]) as srv:
        plan = plan_at(binance, srv.url)
        async with rec.client(plan) as client:
            await until(lambda: len(rec.records) >= 4, 3)
            assert client.state == StreamState("live")
        assert srv.connections[0].received == list(plan.subscribe)
    kinds = {type(r) for _, r, _ in rec.records}
    assert kinds == {Price, Candle}
    (_, price, received) = next(x for x in rec.records if isinstance(x[1], Price))
    assert (price.symbol, price.quote, price.timestamp) == ("ETH", "USDT", received)
    assert abs((datetime.now(UTC) - received).total_seconds()) < 5
    assert rec.names() == ["connecting", "live", "stopped"]
    assert rec.errors == []


async def test_abrupt_drop_reconnects_within_6s_resubscribes_and_data_returns_within_8s():
    """A TCP reset without close frame: reconnect < 6 s, subscribe resent, data again < 8 s."""
    rec = Recorder()
    settings = StreamSettings(stale_after_seconds=15)  # SPEC defaults: 1 s first backoff
    sessions = [Session(acks=BINANCE_LIVE.acks, frames=BINANCE_LIVE.frames, after=4, then="drop"),
                BINANCE_LIVE]
    async with ReplayWS(sessions) as srv:
        plan = plan_at(binance, srv.url)
        async with rec.client(plan, settings):
            await until(lambda: len(srv.connections) == 1 and srv.connections[0].sent == 4, 3)
            dropped = time.monotonic()
            before = len(rec.records)
            reconnected = await until(lambda: len(srv.connections) == 2, 6)
            data_again = await until(lambda: len(rec.records) > before + 1, 8)
            await until(lambda: srv.connections[1].received == list(plan.subscribe), 1)
    assert reconnected - dropped < 6
    assert data_again - dropped < 8
    assert rec.names()[:4] == ["connecting", "live", "reconnecting (1)", "live"]
    (lost,) = rec.errors_of("connection_error")
    assert "connection lost" in lost


async def test_silence_without_close_is_stale_within_2s_and_recycled():
    """No data frame for stale_after (pongs keep coming): stale at once, then a reconnect."""
    rec = Recorder()
    settings = StreamSettings(stale_after_seconds=1, ping_interval_seconds=0.2,
                              pong_timeout_seconds=1, reconnect_initial_seconds=0.1)
    sessions = [Session(acks=[frame("bybit", "subscribe_ack.json")],
                        frames=[frame("bybit", "ticker_spot.json")], after=3, then="silence"),
                Session(acks=[frame("bybit", "subscribe_ack.json")],
                        frames=[frame("bybit", "ticker_spot.json")])]
    async with ReplayWS(sessions, ping_reply=bybit_pong) as srv:
        async with rec.client(plan_at(bybit, srv.url, ["BTC"]), settings) as client:
            await until(lambda: srv.connections and srv.connections[0].sent == 3, 3)
            last_data = time.monotonic()
            stale_at = await until(lambda: "stale" in rec.names(), 4)
            await until(lambda: len(srv.connections) == 2, 2)
            await until(lambda: client.state == StreamState("live") and len(rec.names()) > 3, 2)
        pings = [m for m in srv.connections[0].received if json.loads(m).get("op") == "ping"]
    assert stale_at - last_data < settings.stale_after_seconds + 2
    assert len(pings) >= 2  # the connection was answering pongs all along: pongs are not data
    assert rec.names()[:4] == ["connecting", "live", "stale", "reconnecting (1)"]
    assert rec.errors_of("stale")


@pytest.mark.parametrize("module", [binance, bybit], ids=["protocol-ping", "app-ping"])
async def test_pong_never_answered_recycles_the_connection(module):
    """Data keeps flowing but no pong comes: the connection is declared dead and replaced."""
    rec = Recorder()
    settings = StreamSettings(stale_after_seconds=10, ping_interval_seconds=0.2,
                              pong_timeout_seconds=0.3, reconnect_initial_seconds=0.1)
    name = "binance" if module is binance else "bybit"
    data = frame(name, "ticker_ethusdt.json" if name == "binance" else "ticker_spot.json")
    sessions = [Session(frames=[data], pong=False), Session(frames=[data])]
    async with ReplayWS(sessions, ping_reply=bybit_pong) as srv:
        async with rec.client(plan_at(module, srv.url, ["BTC", "ETH"]), settings):
            started = time.monotonic()
            await until(lambda: len(srv.connections) == 2, 3)
            replaced = time.monotonic()
    assert replaced - started < 2
    (timeout,) = rec.errors_of("timeout")
    assert "no pong within 0.3 s" in timeout


async def test_rejected_subscription_is_one_provider_error_and_no_reconnect_loop():
    """A refusal naming none of our pairs: one subscription_rejected error, state rejected, done."""
    rec = Recorder()
    sessions = [Session(reject=frame("coinbase", "subscribe_error.json"))]
    async with ReplayWS(sessions) as srv:
        client = rec.client(plan_at(coinbase, srv.url))
        task = client.start()
        await until(lambda: client.state.name == "rejected", 3)
        await asyncio.sleep(1.0)  # several backoff periods: nothing may happen
        assert task.done()
        assert len(srv.connections) == 1
        await client.stop()
    (message,) = rec.errors_of("subscription_rejected")
    assert message == "coinbase: Coinbase: Failed to subscribe: GIBBERISH-USD is not a valid product"
    assert [e for _, e, _ in rec.errors] == ["subscription_rejected"]
    assert client.rejection is not None
    assert rec.names() == ["connecting", "rejected", "stopped"]


async def test_one_refused_pair_is_dropped_once_and_the_others_stay_live():
    """Kraken refuses XBT/USD: one error naming it, resubscribed without it, BTC/USD live."""
    rec = Recorder()
    rejected = frame("kraken", "subscribe_rejected.json")
    ack, tick = frame("kraken", "subscribe_ack.json"), frame("kraken", "ticker_snapshot_btc.json")
    sessions = [Session(acks=[ack, rejected, rejected], frames=[tick]),
                Session(acks=[ack], frames=[tick])]
    async with ReplayWS(sessions, ping_reply=lambda t: None) as srv:
        (plan,) = kraken.stream_plans({"BTC/USD": "BTC", "XBT/USD": "BTC"}, srv.url, None)
        async with rec.client(plan) as client:
            await until(lambda: len(srv.connections) == 2 and rec.records, 3)
            await asyncio.sleep(0.3)
            assert client.state == StreamState("live")
        resent = [json.loads(m)["params"]["symbol"] for m in srv.connections[1].received]
    assert json.loads(plan.subscribe[0])["params"]["symbol"] == ["BTC/USD", "XBT/USD"]
    assert resent == [["BTC/USD"], ["BTC/USD"]]
    assert client.refused == {"XBT/USD"} and client.rejection is None
    (message,) = rec.errors_of("subscription_rejected")
    assert message == "kraken: Kraken: Currency pair not supported XBT/USD"
    assert rec.names() == ["connecting", "reconnecting (1)", "live", "stopped"]
    assert len(srv.connections) == 2


async def test_every_pair_refused_ends_the_stream():
    """When the only pair is refused there is nothing left to follow: state rejected."""
    rec = Recorder()
    sessions = [Session(acks=[frame("kraken", "subscribe_rejected.json")])]
    async with ReplayWS(sessions, ping_reply=lambda t: None) as srv:
        (plan,) = kraken.stream_plans({"XBT/USD": "BTC"}, srv.url, None)
        client = rec.client(plan)
        await until(lambda: client.start().done(), 3)
        assert len(srv.connections) == 1
        await client.stop()
    assert client.state == StreamState("stopped") and client.refused == {"XBT/USD"}
    assert rec.names() == ["connecting", "rejected", "stopped"]
    assert len(rec.errors_of("subscription_rejected")) == 1


async def test_bad_frames_are_parse_errors_and_the_stream_keeps_going():
    """Garbage text, a binary frame and a wrong schema each give a parse_error; data continues."""
    rec = Recorder()
    good = frame("kraken", "ticker_snapshot_btc.json")
    bad = ["this is not json", b"\x00\xff binary", '{"channel": "ticker", "type": "update"}']
    sessions = [Session(acks=[frame("kraken", "subscribe_ack.json")], frames=[*bad, good])]
    async with ReplayWS(sessions, ping_reply=lambda t: None) as srv:
        async with rec.client(plan_at(kraken, srv.url, ["BTC"])) as client:
            await until(lambda: len(rec.records) >= 3, 3)
            assert client.state == StreamState("live")
        assert len(srv.connections) == 1
    parse_errors = rec.errors_of("parse_error")
    assert len(parse_errors) >= 3
    assert any("not JSON" in m and "this is not json" in m for m in parse_errors)
    assert any("binary frame of 9 bytes" in m for m in parse_errors)
    assert any("ticker has no 'data'" in m for m in parse_errors)
    assert {e for _, e, _ in rec.errors} == {"parse_error"}
    assert all(r.price_usd == 105899.4 for _, r, _ in rec.records)


async def test_refused_connects_back_off_with_growing_gaps_inside_the_budget():
    """Nothing listens: attempts back off (gaps never shrink) and stop at the budget."""
    rec = Recorder()
    settings = StreamSettings(reconnect_initial_seconds=0.05, reconnect_max_seconds=0.2,
                              max_connects_per_5min=5)
    plan = plan_at(binance, f"ws://127.0.0.1:{closed_port()}/ws")
    async with rec.client(plan, settings) as client:
        await until(lambda: len(rec.errors) == 5, 3)
        await asyncio.sleep(1.0)  # the budget is spent: the sixth attempt must wait
        assert client.state.name == "reconnecting"
    times = [t for t, kind, _ in rec.errors if kind == "connection_error"]
    assert len(times) == 5
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(later >= earlier - 0.01 for earlier, later in zip(gaps, gaps[1:], strict=False))
    assert all(0.04 <= g <= 0.5 for g in gaps)
    assert rec.names()[:3] == ["connecting", "reconnecting (1)", "reconnecting (2)"]


async def test_refused_handshake_reports_its_http_status():
    """A 429 answer to the upgrade is rate_limited, a 503 http_5xx; the next attempt succeeds."""
    rec = Recorder()
    sessions = [Session(http_status=429), Session(http_status=503), BINANCE_LIVE]
    async with ReplayWS(sessions) as srv:
        async with rec.client(plan_at(binance, srv.url)):
            await until(lambda: rec.records, 3)
    assert [e for _, e, _ in rec.errors] == ["rate_limited", "http_5xx"]
    assert "HTTP 429" in rec.errors[0][2]


async def test_server_shutdown_notice_reconnects_at_once_without_an_error():
    """Binance's serverShutdown event: the connection is remade at once, no failure reported."""
    rec = Recorder()
    settings = StreamSettings(reconnect_initial_seconds=0.1)
    shutdown = frame("binance", "server_shutdown.json")
    sessions = [Session(frames=[*BINANCE_LIVE.frames, shutdown], after=3, then="silence"),
                BINANCE_LIVE]
    async with ReplayWS(sessions) as srv:
        async with rec.client(plan_at(binance, srv.url), settings):
            await until(lambda: len(srv.connections) == 2 and len(rec.records) > 2, 3)
    assert rec.errors == []
    assert rec.names()[:3] == ["connecting", "live", "reconnecting (1)"]


async def test_okx_two_endpoints_each_get_their_own_subscription():
    """OKX: tickers on the public URL, candle1m on the business URL, both live."""
    rec = Recorder()
    pong = lambda text: "pong" if text == "ping" else None  # noqa: E731
    ticks = Session(acks=[frame("okx", "subscribe_ack.json")], frames=[frame("okx", "tickers.json")])
    candles = json.loads(frame("okx", "candle.json"))
    candles["arg"]["channel"] = "candle1m"
    bars = Session(acks=[frame("okx", "subscribe_ack.json")], frames=[json.dumps(candles)])
    async with ReplayWS([ticks], ping_reply=pong) as public, \
            ReplayWS([bars], ping_reply=pong) as business:
        plans = okx.STREAM.plans(["BTC"], SymbolMap.bundled(), url=public.url,
                                 business_url=business.url)
        clients = [rec.client(p) for p in plans]
        for c in clients:
            c.start()
        await until(lambda: {type(r) for _, r, _ in rec.records} == {Price, Candle}, 3)
        for c in clients:
            await c.stop()
        assert "tickers" in public.connections[0].received[0]
        assert "candle1m" in business.connections[0].received[0]


async def test_stop_closes_cleanly_and_is_idempotent():
    """stop() sends a normal close (1000), reports stopped once, and can be called again."""
    rec = Recorder()
    async with ReplayWS([BINANCE_LIVE]) as srv:
        client = rec.client(plan_at(binance, srv.url))
        client.start()
        await until(lambda: client.state == StreamState("live"), 3)
        await client.stop()
        await client.stop()
        await until(lambda: srv.connections[0].close_code is not None, 2)
        assert srv.connections[0].close_code == 1000
    assert rec.names() == ["connecting", "live", "stopped"]
    assert client.state == StreamState("stopped")
