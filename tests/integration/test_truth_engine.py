"""Truth on screen, engine side: an offline machine is detected and said once, unreachable
providers go offline, derived providers without input are idle, an answer with nothing
usable is "empty", /api/status never says healthy while every request fails, statuses
survive a restart, and chart ranges end at now."""

from __future__ import annotations

import socket
from datetime import timedelta

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.records import Candle
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.storage.models import Alert, FailureLog
from tests.replay import Fault

BY_ID = {p.id: p for p in PROVIDERS}
NETWORKED = ("coingecko", "binance", "kraken", "coinpaprika")
DERIVED = ("news_sentiment", "eth_whales", "btc_whales")


def dead_port() -> int:
    """A loopback port nothing listens on (connections are refused, as with no network)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable(*ids: str) -> dict[str, str]:
    port = dead_port()
    return {pid: f'base_url = "http://127.0.0.1:{port}/{pid}"' for pid in ids}


async def _alerts(hub: Hub) -> list[dict]:
    return await hub.store.read(lambda: list(Alert.select().dicts()))


async def test_offline_machine_is_said_once_and_providers_go_offline(make_hub):
    """With no host reachable: one network alert, every networked provider offline at once
    (not amber), derived providers idle, and /api/status says offline."""
    hub = await make_hub([BY_ID[p] for p in NETWORKED + DERIVED], mount=False,
                         options=unreachable(*NETWORKED, "eth_whales", "btc_whales"))
    api = LocalApi(hub)
    results = {r.provider_id: r for r in await hub.runner.collect_once()}
    await hub.settle()
    assert hub.network()["online"] is False
    for pid in NETWORKED:
        assert results[pid].status == "failure"
        assert hub.health.get(pid).status == "offline", pid
        assert "this machine is offline" in hub.health.get(pid).reason
    for pid in DERIVED:
        assert results[pid].status == "idle", pid
        assert hub.health.get(pid).status == "idle"
        assert hub.health.get(pid).success_rate is None  # not "online 100 %"
    status = await api.status()
    assert status["status"] == "offline"
    assert status["network"]["online"] is False
    assert status["offline_providers"] == len(NETWORKED)
    assert status["idle_providers"] == len(DERIVED)
    alerts = await _alerts(hub)
    assert [a["alert_type"] for a in alerts] == ["network_offline"]
    await hub.runner.collect_once()  # still offline: nothing more is said
    await hub.settle()
    assert len(await _alerts(hub)) == 1


async def test_back_online_is_noticed_at_the_first_answer(make_hub, replay):
    """One answer from any host ends the offline state and says so once."""
    options = unreachable(*NETWORKED[1:])
    options["coingecko"] = f'base_url = "{replay.mount("coingecko")}"'
    hub = await make_hub([BY_ID[p] for p in ("coingecko", *NETWORKED[1:])], mount=False,
                         options=options)
    for pid in NETWORKED[1:]:
        await hub.runner.run_provider(pid)
    await hub.settle()
    assert hub.network()["online"] is False
    r = await hub.runner.run_provider("coingecko")  # served by the replay server
    assert r.status == "success"
    assert hub.network()["online"] is True
    # the unreachable ones are re-run at once; here their hosts are still unreachable, so
    # the machine is found offline again: a new episode, said once more
    await hub.settle()
    types = [a["alert_type"] for a in await _alerts(hub)]
    assert types == ["network_offline", "network_online", "network_offline"]
    assert "provider_down" not in types


async def test_status_is_not_healthy_when_every_request_fails(make_hub, replay):
    """43 failed requests of 43 make /api/status unhealthy, not "healthy"."""
    hub = await make_hub([BY_ID["coingecko"], BY_ID["binance"]])
    replay.fault("/coingecko", Fault(status=503, body=b"down"))
    replay.fault("/binance", Fault(status=503, body=b"down"))
    for _ in range(3):
        await hub.runner.collect_once()
    status = await LocalApi(hub).status()
    assert status["network"]["online"] is True  # the hosts answer (503): the net works
    assert status["status"] == "unhealthy"
    assert status["system_metrics"]["failed_requests_hour"] == \
        status["system_metrics"]["total_requests_hour"]


async def test_answer_without_usable_records_is_empty_with_reason(make_hub, replay):
    """A well-formed answer with no usable record is "empty": not a success, with its
    reason in /api/providers and in the failures list."""
    hub = await make_hub([BY_ID["coinmarketcap"]], keys={"COINMARKETCAP_KEY_1": "k" * 12})
    replay.fault("/coinmarketcap/v2/cryptocurrency/quotes/latest",
                 Fault(body=b'{"status": {"error_code": 0}, "data": {}}'))
    r = await hub.runner.run_provider("coinmarketcap")
    assert (r.status, r.records) == ("empty", 0)
    h = hub.health.get("coinmarketcap")
    assert h.status == "empty" and h.success_rate == 0.0
    row = next(p for p in (await LocalApi(hub).providers())["providers"]
               if p["id"] == "coinmarketcap")
    assert row["status"] == "empty"
    assert "no usable records" in row["status_reason"]
    fails = await hub.store.read(lambda: list(FailureLog.select().dicts()))
    assert [f["error_type"] for f in fails] == ["empty_answer"]


async def test_status_survives_a_restart(make_hub, tmp_path, secrets):
    """After a restart a provider checked a minute ago shows its last status, not unknown."""
    hub = await make_hub([BY_ID["coingecko"]])
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    await hub.stop()
    again = Hub(hub.config, [BY_ID["coingecko"]], secrets)
    await again.start(schedule=False)
    try:
        row = (await LocalApi(again).providers())["providers"][0]
        assert row["status"] == "online"
        assert row["success_rate"] == 100.0 and row["last_check"] is not None
    finally:
        await again.stop()


async def test_chart_range_ends_at_now(make_hub):
    """A 24 h chart of data 200 days old is empty and says when the latest point was; the
    "max" range still shows it."""
    hub = await make_hub([BY_ID["cryptocompare"]])
    old = (utcnow() - timedelta(days=200)).replace(minute=0, second=0, microsecond=0)
    candles = [Candle(symbol="BTC", interval="1h", open_time=old + timedelta(hours=i),
                      open=100.0, high=110.0, low=90.0, close=105.0, volume=7.0)
               for i in range(3)]
    await hub.store.write(hub.store.insert_candles, "cryptocompare", candles)
    api = LocalApi(hub)
    day = await api.chart("BTC", 86400)
    assert day["series"] == []
    assert day["latest"].startswith(f"{old + timedelta(hours=2):%Y-%m-%dT%H}")
    assert abs((utcnow() - _parse(day["end"])).total_seconds()) < 60
    year = await api.chart("BTC", 365 * 86400)
    (s,) = year["series"]
    assert len(s["t"]) == 3 and s["volume"] == [7.0, 7.0, 7.0]


def _parse(text: str):
    return parse_iso(text)
