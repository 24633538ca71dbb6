"""Live streams wired into the engine (SPEC section 14), through the real product path:
the hub follows a replayed exchange stream (tests/ws_replay.py, recorded Binance frames)
and the real local server answers /api/market, /api/providers and /ws/market-data."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.cluster.leases import LeaseCoordinator
from cryptohub_desktop.collectors import binance, coingecko, okx
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.server import start_server
from cryptohub_desktop.storage.models import OHLCV, FailureLog, MarketPrice
from tests.asyncapi_check import check_message
from tests.conftest import SLOW, config_for
from tests.ws_replay import ReplayWS, Session, frame

TICK = frame("binance", "ticker_ethusdt.json")  # ETHUSDT last price 1792.84
KLINE = frame("binance", "kline_btcusdt.json")  # BTCUSDT 1m candle, close 29038.47
ACK = frame("binance", "subscribe_ack.json")
REFUSED = frame("binance", "subscribe_error.json")


def streams_toml(stale: float = 5, fallback: float = 8) -> str:
    return (f"[streams]\nstale_after_seconds = {stale}\nrest_fallback_after_seconds = {fallback}\n"
            "ping_interval_seconds = 5\npong_timeout_seconds = 5\n"
            "reconnect_initial_seconds = 0.2\nreconnect_max_seconds = 1\n")


def resent(kline: str, close: str, high: str, volume: str) -> str:
    """The recorded open candle re-sent later with new values (as Binance does every 2 s)."""
    msg = json.loads(kline)
    msg["data"]["k"].update(c=close, h=high, v=volume)
    return json.dumps(msg)


async def until(check: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Wait until ``check()`` is true (or an awaitable of it is); the seconds it took."""
    start = time.monotonic()
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return time.monotonic() - start
        if time.monotonic() - start > timeout * SLOW:
            raise AssertionError(f"not true within {timeout * SLOW:g} s: {check}")
        await asyncio.sleep(step)


@pytest.fixture
async def streamed(make_hub):
    """``await streamed(srv, extra)`` -> (hub, server handle, http client): a hub following
    Binance's stream at ``srv`` (its REST on the replay upstream), and the real server."""
    handles, clients = [], []

    async def factory(srv: ReplayWS, extra: str = "") -> tuple[Hub, Any, httpx.AsyncClient]:
        hub = await make_hub([binance.PROVIDER], extra=extra or streams_toml(), schedule=True,
                             options={"binance": f'ws_url = "{srv.url}"'})
        handle = await start_server(LocalApi(hub), dataclasses.replace(hub.config.server, port=0),
                                    hub.secrets)
        handles.append(handle)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{handle.port}", trust_env=False)
        clients.append(client)
        return hub, handle, client

    yield factory
    for c in clients:
        await c.aclose()
    for h in handles:
        await h.close()


async def source_of(client: httpx.AsyncClient, symbol: str, source: str) -> dict[str, Any] | None:
    answer = (await client.get(f"/api/market?symbols={symbol}")).json()
    entry = answer["market"][0]
    return next((s for s in entry["sources"] if s["source"] == source), None)


async def stream_state(client: httpx.AsyncClient, pid: str = "binance") -> dict[str, Any]:
    providers = (await client.get("/api/providers")).json()["providers"]
    return next(p for p in providers if p["id"] == pid)["stream"]


async def test_live_tick_reaches_subscriber_and_market_via_stream(streamed, replay):
    """A tick from the exchange's stream reaches a local WebSocket subscriber as a
    market_data update (with its consensus) and /api/market lists the source with
    via=stream; REST is not polled while the stream serves the provider."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK, KLINE], interval=0.05)]) as srv:
        hub, handle, client = await streamed(srv)
        async with connect(f"ws://127.0.0.1:{handle.port}/ws/market-data",
                           open_timeout=10 * SLOW) as ws:
            deadline = time.monotonic() + 10 * SLOW
            while True:
                msg = check_message(json.loads(await asyncio.wait_for(
                    ws.recv(), max(0.01, deadline - time.monotonic()))))
                data = msg.get("data", {})
                if msg["type"] == "update" and data.get("via") == "stream" and any(
                        r["type"] == "market_prices" for r in data["records"]):
                    break
        tick = next(r for r in data["records"] if r["type"] == "market_prices")
        assert (data["provider"], tick["symbol"], tick["price_usd"], tick["quote"]) == (
            "binance", "ETH", 1792.84, "USDT")
        assert data["consensus"] == [{"symbol": "ETH", "consensus_price": 1792.84,
                                      "source_count": 1, "outliers": []}]
        await until(lambda: source_of(client, "ETH", "binance"), 5)
        src = await source_of(client, "ETH", "binance")
        assert src is not None and (src["via"], src["stale"], src["price"]) == (
            "stream", False, 1792.84)
        assert (await stream_state(client))["state"] == "live"
        freshness = (await client.get("/api/freshness")).json()["market_data"]["Binance"]
        assert freshness["status"] == "fresh"  # as fresh as its last frame
        assert replay.count("/binance/") == 0  # the stream serves it: no REST calls
        assert srv.connections[0].received[0] == binance.stream_subscribe(
            binance.stream_pairs(hub.config.watchlist, hub.symbol_map))[0]


async def test_burst_stores_one_price_per_second_per_source_and_symbol(streamed):
    """Ticks every 10 ms are all published but stored at most once a second per
    (source, symbol), each row stamped with the time it was received; each update's
    counts say whether its tick was stored."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK], interval=0.01)]) as srv:
        hub, _, _ = await streamed(srv)
        await until(lambda: srv.connections and srv.connections[0].sent > 0, 5)
        published = []
        unsubscribe = hub.bus.subscribe("market_data", published.append)
        t0 = time.time()
        await asyncio.sleep(3.2)
        unsubscribe()
        await hub.settle()

        def rows() -> list[Any]:
            return [r.timestamp for r in MarketPrice.select().where(
                MarketPrice.source == "binance", MarketPrice.symbol == "ETH")
                .order_by(MarketPrice.timestamp)]
        stamps = await hub.store.read(rows)
    assert len(published) > 100  # every tick went out
    assert 3 <= len(stamps) <= 5
    # each update's counts say what it added to the store: one tick a second, else 0
    written = sum(e.data["counts"]["market_prices"] for e in published)
    assert len(stamps) - 2 <= written <= len(stamps)
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 0.99, gaps
    assert abs(stamps[-1].timestamp() - time.time()) < 10 and stamps[0].timestamp() > t0 - 5


@pytest.mark.backends
async def test_resent_open_candle_ends_as_one_row_with_the_last_values(streamed):
    """The open 1-minute candle re-sent with new values is one ohlcv row holding the
    last values sent, on SQLite and PostgreSQL."""
    later = resent(KLINE, close="29041.02000000", high="29045.00000000", volume="1.50000000")
    async with ReplayWS([Session(acks=[ACK], frames=[KLINE, later], after=2)]) as srv:
        hub, _, _ = await streamed(srv)

        def candles() -> list[dict[str, Any]]:
            return list(OHLCV.select().where(OHLCV.source == "binance", OHLCV.symbol == "BTC",
                                             OHLCV.interval == "1m").dicts())

        async def updated() -> bool:
            rows = await hub.store.read(candles)
            return bool(rows) and rows[0]["close"] == 29041.02
        await until(updated, 8)
        await asyncio.sleep(0.3)
        rows = await hub.store.read(candles)
    assert len(rows) == 1
    assert (rows[0]["open"], rows[0]["high"], rows[0]["low"], rows[0]["close"],
            rows[0]["volume"]) == (29038.46, 29045.0, 29038.46, 29041.02, 1.5)


async def test_abrupt_drop_reconnects_resubscribes_and_data_returns(streamed):
    """A connection reset without a close frame is remade within 6 s, the subscription
    sent again, and ticks flow again within 8 s."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK], after=5, then="drop"),
                         Session(acks=[ACK], frames=[TICK])]) as srv:
        hub, _, client = await streamed(srv)
        await until(lambda: srv.connections and srv.connections[0].sent >= 5, 5)
        dropped = time.monotonic()
        await until(lambda: len(srv.connections) >= 2, 6)
        assert time.monotonic() - dropped <= 6 * SLOW
        assert srv.connections[1].received[:1] == srv.connections[0].received[:1]
        await until(lambda: srv.connections[1].sent > 0, 8)

        async def live() -> bool:
            return (await stream_state(client))["state"] == "live"
        await until(live, 8)
        assert time.monotonic() - dropped <= 8 * SLOW


async def test_silence_marks_stale_falls_back_to_rest_and_returns(streamed, replay):
    """A silent stream: the source is stale in /api/market (and out of the consensus)
    within stale_after + 2 s; the REST collector runs within rest_fallback_after + 5 s
    and serves the provider via REST; when frames return it is via stream again."""
    sessions = [Session(acks=[ACK], frames=[TICK], after=3, then="silence"),
                Session(acks=[ACK])]
    async with ReplayWS(sessions) as srv:
        hub, _, client = await streamed(srv, streams_toml(stale=1, fallback=2))
        await until(lambda: srv.connections and srv.connections[0].sent >= 3, 5)
        silent_at = time.monotonic()
        await until(lambda: source_of(client, "ETH", "binance"), 5)

        async def stale() -> bool:
            src = await source_of(client, "ETH", "binance")
            return bool(src and src["stale"])
        await until(stale, 1 + 2)
        market = (await client.get("/api/market?symbols=ETH")).json()["market"][0]
        assert market["consensus_price"] is None and market["source_count"] == 0
        assert [s["via"] for s in market["sources"]] == ["stream"]

        await until(lambda: replay.count("/binance/api/v3/ticker/24hr") > 0,
                    2 + 5 - (time.monotonic() - silent_at))
        assert (await stream_state(client))["state"] == "fallback (REST)"

        async def via(symbol: str, kind: str) -> bool:
            src = await source_of(client, symbol, "binance")
            return bool(src and src["via"] == kind and not src["stale"])
        # the recorded REST answer quotes BTC only: BTC is served via REST now, the
        # stream's ETH stays its stale last known value
        await until(lambda: via("BTC", "rest"), 5)
        assert (await source_of(client, "ETH", "binance"))["stale"] is True

        srv.sessions.append(Session(acks=[ACK], frames=[TICK]))  # the exchange talks again
        await until(lambda: via("ETH", "stream"), 10)
        assert (await stream_state(client))["state"] == "live"


async def test_garbage_frames_are_parse_errors_and_the_stream_goes_on(streamed):
    """Frames that are not JSON, binary, or not a documented shape become parse_error
    rows in failure_logs; the good frames between them are still stored."""
    garbage = ["{not json", b"\x00\x01binary", '{"stream":"x","data":[]}']
    async with ReplayWS([Session(acks=[ACK], frames=[*garbage, TICK], after=12)]) as srv:
        hub, _, client = await streamed(srv)
        await until(lambda: srv.connections and srv.connections[0].sent >= 12, 5)
        await until(lambda: source_of(client, "ETH", "binance"), 5)
        await hub.settle()

        def parse_errors() -> int:
            return FailureLog.select().where(FailureLog.provider_id == "binance",
                                             FailureLog.error_type == "parse_error").count()
        assert await hub.store.read(parse_errors) == 9
        assert len(srv.connections) == 1  # never reconnected for a bad frame
        assert (await stream_state(client))["state"] == "live"


async def test_rejected_subscription_is_a_provider_error_without_reconnect_loop(streamed):
    """A subscription the exchange refuses is shown as the provider's stream state
    "rejected" with the exchange's reason, logged once, and never retried."""
    async with ReplayWS([Session(reject=REFUSED)]) as srv:
        hub, _, client = await streamed(srv)

        async def rejected() -> bool:
            return (await stream_state(client))["state"] == "rejected"
        await until(rejected, 5)
        state = await stream_state(client)
        assert "too many parameters" in state["detail"]
        await asyncio.sleep(1.5)
        assert srv.handshakes == 1
        await hub.settle()

        def refusals() -> list[str]:
            return [r.error_message for r in FailureLog.select().where(
                FailureLog.provider_id == "binance",
                FailureLog.error_type == "subscription_rejected")]
        assert len(await hub.store.read(refusals)) == 1


async def test_rest_mirror_without_ws_url_follows_no_stream(make_hub, replay):
    """A provider whose base_url points elsewhere (mirror, proxy) and whose ws_url does not
    follows no stream (the exchange itself is never called behind the user's back): its
    stream state is "off" with the reason, and its REST collector runs as before."""
    hub = await make_hub([binance.PROVIDER], extra=streams_toml(), schedule=True)
    assert hub.streams is not None and hub.streams.feeds == {}
    assert hub.streams.state("binance") == {
        "state": "off", "detail": "base_url is overridden and ws_url is not"}
    result = await hub.runner.run_provider("binance", scheduled=None)
    assert result.status == "success" and replay.count("/binance/") > 0


async def test_okx_tickers_on_public_and_candles_on_business_endpoint(make_hub):
    """OKX: tickers come on the public endpoint (ws_url), 1-minute candles on the business
    one (ws_business_url); both are followed, each with its own subscription."""
    tickers, candle = frame("okx", "tickers.json"), frame("okx", "candle.json")
    ack = frame("okx", "subscribe_ack.json")
    async with ReplayWS([Session(acks=[ack], frames=[tickers])]) as public, \
            ReplayWS([Session(acks=[ack], frames=[candle])]) as business:
        hub = await make_hub([okx.PROVIDER], extra=streams_toml(), schedule=True, options={
            "okx": f'ws_url = "{public.url}"\nws_business_url = "{business.url}"'})

        def rows() -> tuple[int, int]:
            return (MarketPrice.select().where(MarketPrice.source == "okx").count(),
                    OHLCV.select().where(OHLCV.source == "okx").count())

        async def both() -> bool:
            prices, candles = await hub.store.read(rows)
            return prices > 0 and candles > 0
        await until(both, 8)
        assert '"tickers"' in public.connections[0].received[0]
        assert '"candle1m"' in business.connections[0].received[0]
        assert hub.streams.state("okx")["state"] == "live"


async def test_okx_moved_public_endpoint_never_opens_the_exchanges_business_endpoint(make_hub):
    """OKX with ws_url moved (a relay, a test server) and no ws_business_url follows the
    tickers there and opens no connection to OKX's own business endpoint."""
    async with ReplayWS([Session(acks=[frame("okx", "subscribe_ack.json")],
                                 frames=[frame("okx", "tickers.json")])]) as public:
        hub = await make_hub([okx.PROVIDER], extra=streams_toml(), schedule=True,
                             options={"okx": f'ws_url = "{public.url}"'})
        assert [c.plan.url for c in hub.streams.feeds["okx"].clients] == [public.url]
        await until(lambda: hub.streams.state("okx")["state"] == "live", 8)


@pytest.mark.postgresql
async def test_team_follows_a_stream_only_on_the_lease_holder_and_hands_it_over(
        tmp_path, replay, secrets, database):
    """Two instances of a team on one PostgreSQL (real leases): only the holder of
    Binance's lease opens its stream; when that instance stops (leases given back at
    once), the other takes the lease over and opens the stream itself."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK], interval=0.1)]) as srv:
        started: list[Hub] = []
        try:
            for name in ("hub-a", "hub-b"):
                (tmp_path / name).mkdir()
                cfg = config_for(tmp_path / name, replay, ["binance", "coingecko"],
                                 streams_toml(), options={"binance": f'ws_url = "{srv.url}"'},
                                 database=database)
                coordinator = LeaseCoordinator(database.url, name, host="127.0.0.1",
                                               port=7860, ttl=2.0)
                hub = Hub(cfg, [binance.PROVIDER, coingecko.PROVIDER], secrets,
                          coordinator=coordinator)
                await hub.start()
                started.append(hub)

            def followers() -> list[Hub]:
                return [h for h in started if h.streams and "binance" in h.streams.feeds]
            await until(lambda: srv.connections and len(followers()) == 1, 10)
            holder = followers()[0]
            other = next(h for h in started if h is not holder)
            assert holder.coordinator.owns("binance") and not other.coordinator.owns("binance")
            await asyncio.sleep(1.0)
            assert len(srv.connections) == 1  # one connection for the team
            assert other.streams.state("binance")["detail"] == \
                "another instance of the team follows it"

            await holder.stop()
            started.remove(holder)
            await until(lambda: len(srv.connections) == 2 and other.streams.feeds, 10)
            await until(lambda: other.streams.state("binance")["state"] == "live", 5)
        finally:
            for hub in started:
                await hub.stop()


async def test_a_new_watchlist_resubscribes_the_stream(streamed):
    """Settings applied with another watchlist remake the stream for the new symbols."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK])]) as srv:
        hub, _, _ = await streamed(srv)
        await until(lambda: srv.connections and srv.connections[0].received, 5)
        assert "btcusdt@ticker" in srv.connections[0].received[0]
        result = await LocalApi(hub).apply_config(dataclasses.replace(hub.config,
                                                                      watchlist=["SOL"]))
        assert result.ok
        await until(lambda: len(srv.connections) == 2 and srv.connections[1].received, 5)
        sent = json.loads(srv.connections[1].received[0])
        assert sent["params"] == ["solusdt@ticker", "solusdt@kline_1m"]


async def test_hub_stop_ends_every_stream_task_and_closes_the_connection(streamed):
    """Stopping the hub (twice: idempotent) leaves no stream or fallback task running and
    closes the exchange connection."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK])]) as srv:
        hub, _, _ = await streamed(srv)
        await until(lambda: srv.connections and srv.connections[0].sent > 0, 5)
        await hub.stop()
        await hub.stop()
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert not {n for n in names if n.startswith(("stream ", "fallback "))}, names
        await until(lambda: srv.connections[0].close_code is not None, 5)
        assert hub.streams is not None and hub.streams.feeds == {}
