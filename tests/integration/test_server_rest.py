"""The local server's REST API over real sockets: the seed's curl checks, every data
path's JSON shape, errors, /metrics, /openapi.json and the offline /docs page."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cryptohub_desktop.api import answers as snapshot
from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.collectors import coingecko
from cryptohub_desktop.core.records import Candle, WhaleTx
from cryptohub_desktop.server import start_server
from tests.asyncapi_check import market_update
from tests.conftest import SLOW

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL

SEED_PATHS = ["/health", "/api/status", "/api/providers", "/api/rate-limits", "/api/schedule",
              "/api/freshness", "/api/failures"]
DATA_PATHS = ["/api/market", "/api/history?symbol=BTC", "/api/news", "/api/sentiment",
              "/api/whales", "/api/gas", "/api/blocks", "/api/onchain", "/api/alerts",
              "/api/pools", "/api/cluster", "/api/chart?symbol=BTC", "/api/price-history",
              "/api/provider-activity?provider=coingecko", "/api/text-model"]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _catalogue(*ids: str) -> list[Any]:
    """Providers by id that exist in this tree (others are written in parallel)."""
    from cryptohub_desktop.collectors import PROVIDERS
    by_id = {p.id: p for p in PROVIDERS}
    return [by_id[i] for i in ids if i in by_id]


@pytest.fixture
async def served(make_hub):
    """``await served(providers, extra="", **server_kwargs)`` -> (hub, base URL)."""
    handles = []

    async def factory(providers=(coingecko.PROVIDER,), extra="", keys=None, **server):
        hub = await make_hub(list(providers), extra=extra, keys=keys)
        cfg = dataclasses.replace(hub.config.server, port=0)
        handle = await start_server(LocalApi(hub), cfg, hub.secrets, **server)
        handles.append(handle)
        return hub, f"http://127.0.0.1:{handle.port}"

    factory.handles = handles
    yield factory
    for h in handles:
        await h.close()


async def _get(url: str, **kwargs: Any) -> httpx.Response:
    """GET without blocking the loop the server runs on."""
    async with httpx.AsyncClient(timeout=10 * SLOW) as c:
        return await c.get(url, **kwargs)


def _timestamps(node: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, value) whose key names a time, anywhere in a JSON answer."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _timestamps(v, k)
    elif isinstance(node, list):
        for v in node:
            out += _timestamps(v, key)
    elif isinstance(node, str) and (key in ("timestamp", "start", "end", "reset_time")
                                    or key.endswith(("_time", "_at", "_run", "_check",
                                                     "_success", "_used"))):
        out.append((key, node))
    return out


async def test_seed_curl_checks(served):
    """The seed's documented curl checks answer 200 with their JSON shapes."""
    hub, base = await served()
    await hub.runner.run_provider("coingecko")
    curl = shutil.which("curl")
    bodies = {}
    for path in SEED_PATHS:
        if curl:
            proc = await asyncio.create_subprocess_exec(
                curl, "-s", "-w", "\n%{http_code}", base + path, stdout=subprocess.PIPE)
            out, _ = await asyncio.wait_for(proc.communicate(), 10 * SLOW)
            text, _, code = out.decode().rpartition("\n")
        else:  # pragma: no cover - curl is on the build machines
            r = await _get(base + path)
            text, code = r.text, str(r.status_code)
        assert code == "200", (path, text)
        bodies[path] = json.loads(text)
    assert bodies["/health"]["status"] == "healthy"
    st = bodies["/api/status"]
    assert {"status", "timestamp", "database", "total_providers", "online_providers",
            "degraded_providers", "offline_providers", "uptime_seconds",
            "system_metrics"} <= set(st)
    assert st["database"] == "connected" and st["online_providers"] == 1
    prov = bodies["/api/providers"]["providers"][0]
    assert {"id", "name", "category", "status", "response_time_ms", "success_rate",
            "last_check", "requires_key", "key_configured"} <= set(prov)
    assert prov["id"] == "coingecko" and prov["status"] == "online"
    rl = bodies["/api/rate-limits"]["rate_limits"][0]
    assert {"provider", "limit_type", "limit_value", "current_usage", "percentage",
            "reset_time", "warning"} <= set(rl) and rl["current_usage"] == 1
    sc = bodies["/api/schedule"]["schedule"][0]
    assert {"provider", "category", "interval", "last_run", "next_run", "on_time_count",
            "late_count", "skip_count", "on_time_percentage"} <= set(sc)
    fr = bodies["/api/freshness"]
    assert fr["market_data"]["CoinGecko"]["status"] in ("fresh", "stale")
    assert fr["market_data"]["CoinGecko"]["id"] == "coingecko"
    assert set(bodies["/api/failures"]) >= {"failures", "by_error_type"}


async def test_every_answer_uses_utc_z_timestamps(served):
    """Every time in every answer is UTC ISO-8601 ending in Z."""
    hub, base = await served(_catalogue("coingecko", "alternative_me", "cryptocompare_news",
                                        "mempool_space", "publicnode_eth", "llamarpc",
                                        "defillama"))
    await hub.runner.collect_once()
    await hub.alerts.fire("test", "info", "a test alert")
    await hub.settle()
    seen = 0
    async with httpx.AsyncClient(base_url=base) as c:
        for path in SEED_PATHS + DATA_PATHS:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text)
            assert r.headers["content-type"] == "application/json"
            for key, value in _timestamps(r.json()):
                assert ISO_Z.match(value), (path, key, value)
                seen += 1
    assert seen > 30


async def test_data_paths_answer_collected_data(served):
    """market/news/sentiment/gas/blocks/onchain/alerts/pools carry what the providers
    collected, in the documented shapes."""
    hub, base = await served(_catalogue("coingecko", "binance", "kraken", "alternative_me",
                                        "cryptocompare_news", "mempool_space",
                                        "publicnode_eth", "llamarpc", "defillama"))
    await hub.runner.collect_once()
    await hub.alerts.fire("provider_down", "critical", "kraken is offline", "kraken")
    await hub.settle()
    async with httpx.AsyncClient(base_url=base) as c:
        market = (await c.get("/api/market", params={"symbols": "btc,ETH"})).json()
        btc = market["market"][0]
        assert btc["symbol"] == "BTC" and btc["consensus_price"] > 1000
        assert btc["source_count"] >= 1
        assert {"source", "price", "age_seconds", "deviation_pct", "outlier"} <= set(
            btc["sources"][0])
        assert [m["symbol"] for m in market["market"]] == ["BTC", "ETH"]
        if _catalogue("alternative_me"):
            fg = (await c.get("/api/sentiment")).json()["fear_greed"]
            assert 0 <= fg["value"] <= 100 and fg["classification"]
        if _catalogue("cryptocompare_news"):
            news = (await c.get("/api/news", params={"limit": 2})).json()["news"]
            assert len(news) == 2 and news[0]["sentiment"] in ("positive", "negative",
                                                               "neutral")
            word = news[0]["title"].split()[0]
            found = (await c.get("/api/news", params={"q": word})).json()["news"]
            assert found and all(word.lower() in (n["title"] + n["summary"]).lower()
                                 for n in found)
        if _catalogue("mempool_space"):
            gas = (await c.get("/api/gas")).json()["gas"]
            assert any(g["unit"] == "sat/vB" and g["fast"] is not None for g in gas)
        if _catalogue("publicnode_eth", "llamarpc"):
            blocks = (await c.get("/api/blocks")).json()["blocks"]
            eth = next(b for b in blocks if b["nodes"])
            assert eth["highest_block"] == max(n["block_height"] for n in eth["nodes"])
            assert all(n["lag_blocks"] == eth["highest_block"] - n["block_height"]
                       for n in eth["nodes"])
        if _catalogue("defillama"):
            onchain = (await c.get("/api/onchain")).json()["onchain"]
            assert any(o["metric"] == "tvl_usd" for o in onchain)
        alerts = (await c.get("/api/alerts")).json()["alerts"]
        assert alerts[0]["message"] == "kraken is offline"
        pools = (await c.get("/api/pools")).json()["pools"]
        md = next(p for p in pools if p["name"] == "market_data")
        assert md["current_provider"] and md["members"][0]["priority"] == 0


async def test_history_and_whale_filters(served):
    """history filters by symbol/interval/start/end/source; whales by min_usd/chain."""
    hub, base = await served()
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    candles = [Candle("BTC", "1h", t0 + timedelta(hours=i), 1, 2, 0.5, 1.5, 10)
               for i in range(48)]
    await hub.store.write(hub.store.insert_candles, "coingecko", candles)
    await hub.store.write(hub.store.insert_candles, "binance", candles[:5])
    whales = [WhaleTx("bitcoin", f"h{i}", t0, 10.0, "BTC", amount_usd=1e6 * i)
              for i in range(1, 4)] + [WhaleTx("ethereum", "e1", t0, 5.0, "ETH", 5e6)]
    await hub.store.write(hub.store.insert_records, "btc_whales", whales)
    async with httpx.AsyncClient(base_url=base) as c:
        h = (await c.get("/api/history", params={
            "symbol": "btc", "interval": "1h", "start": "2024-05-01T10:00:00Z",
            "end": "2024-05-01T12:00:00+00:00", "source": "coingecko"})).json()
        assert [r["open_time"] for r in h["history"]] == [
            "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z"]
        assert h["history"][0] == {"source": "coingecko", "open_time": "2024-05-01T10:00:00Z",
                                   "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5,
                                   "volume": 10.0}
        # the seed's form with empty optional parameters; newest `limit` candles
        h = (await c.get("/api/history?symbol=BTC&interval=1h&start=&end=&source=&limit=4"
                         )).json()
        assert h["count"] == 4 and h["history"][-1]["open_time"] == "2024-05-02T23:00:00Z"
        unix = int(t0.timestamp())
        h = (await c.get(f"/api/history?symbol=BTC&start={unix}&end={unix}")).json()
        assert sorted(r["source"] for r in h["history"]) == ["binance", "coingecko"]
        w = (await c.get("/api/whales", params={"min_usd": "2000000"})).json()["whales"]
        assert sorted(x["transaction_hash"] for x in w) == ["e1", "h2", "h3"]
        w = (await c.get("/api/whales", params={"chain": "Bitcoin", "limit": 1})).json()
        assert w["count"] == 1 and w["whales"][0]["blockchain"] == "bitcoin"


@pytest.mark.parametrize("path,detail", [
    ("/api/news?limit=abc", "limit: expected an integer"),
    ("/api/news?limit=0", "limit: must be at least 1"),
    ("/api/news?limit=100000", "limit: must be at most"),
    ("/api/news?limit=1&limit=2", "given more than once"),
    ("/api/news?q=" + "x" * 201, "longer than 200"),
    ("/api/history", "symbol: required"),
    ("/api/history?symbol=BTC!", "symbol"),
    ("/api/history?symbol=BTC&interval=2h", "interval: must be one of"),
    ("/api/history?symbol=BTC&start=yesterday", "start: expected an ISO-8601"),
    ("/api/history?symbol=BTC&start=2024-02-30", "start: expected"),
    ("/api/history?symbol=BTC&start=2024-05-02&end=2024-05-01", "start must not be after"),
    ("/api/history?symbol=BTC&source=nosuch", "source: must be one of"),
    ("/api/market?symbols=BTC,,ETH", "symbols"),
    ("/api/whales?min_usd=-1", "min_usd: must be at least 0"),
    ("/api/whales?min_usd=nan", "min_usd: expected a number"),
    ("/api/alerts?unacknowledged=yes", "expected true or false"),
    ("/api/news?q=%ff", "query string not understood"),
])
async def test_bad_query_parameters_answer_400(served, path, detail):
    """A bad query parameter answers 400 {"error", "detail"} naming the problem."""
    _, base = await served()
    r = await _get(base + path)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and detail in body["detail"], body


async def test_unknown_path_404_other_method_405(served):
    """Unknown paths answer 404 and methods other than GET and HEAD 405 (with a body
    too), in the error shape; HEAD answers GET's head without the body."""
    _, base = await served()
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/api/nope")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        for body in (None, b'{"a": 1}'):
            r = await c.post("/api/status", content=body)
            assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
            assert set(r.json()) == {"error", "detail"}
        get, head = await c.get("/api/providers"), await c.head("/api/providers")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        r = await c.get("/ws/master")  # plain GET of a WebSocket path
        assert r.status_code == 426 and r.json()["error"] == "upgrade_required"


async def test_unexpected_exception_is_500_and_logged(served, monkeypatch, caplog):
    """A handler bug answers 500 in the error shape, no traceback; the log has it."""
    async def broken(hub):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(snapshot, "gas", broken)  # before the route table is built
    _, base = await served()
    with caplog.at_level(logging.ERROR, logger="cryptohub.server.rest"):
        r = await _get(base + "/api/gas")
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error",
                        "detail": "the server could not answer; the error is logged"}
    assert "Traceback" not in r.text and "boom" not in r.text
    rec = next(rec for rec in caplog.records if rec.name == "cryptohub.server.rest")
    assert rec.exc_info and rec.exc_info[0] is ZeroDivisionError


async def test_cached_answers_follow_the_data(served):
    """Data answers are served from cache until the next event of their service that
    stored data, then rebuilt: a new alert or price shows at once, a repeated request or
    a run that stored nothing new costs no rebuild."""
    hub, base = await served()
    cache = served.handles[-1].cache
    assert (await _get(base + "/api/alerts")).json()["alerts"] == []
    builds = cache.builds
    assert (await _get(base + "/api/alerts")).json()["alerts"] == []
    assert cache.builds == builds and cache.hits >= 1
    await hub.alerts.fire("test", "info", "fresh alert")
    alerts = (await _get(base + "/api/alerts")).json()["alerts"]
    assert [a["message"] for a in alerts] == ["fresh alert"]
    m1 = (await _get(base + "/api/market")).json()["market"][0]
    assert m1["consensus_price"] is None
    await hub.runner.run_provider("coingecko")
    m2 = (await _get(base + "/api/market")).json()["market"][0]
    assert m2["consensus_price"] == 67187.3358936566
    builds = cache.builds
    hub.bus.publish("market_data", market_update(counts={"market_prices": 0}))
    assert (await _get(base + "/api/market")).json()["market"][0] == m2
    assert cache.builds == builds  # an update that stored nothing keeps the answer


async def test_metrics_prometheus_text(served):
    """/metrics is Prometheus text in base units: up, response time, success ratio,
    rate-limit usage, staleness and run counters per provider, process metrics; a
    provider that never succeeded is down."""
    hub, base = await served(_catalogue("coingecko", "binance"))
    await hub.runner.run_provider("coingecko")
    r = await _get(base + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    series = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for fam in text_string_to_metric_families(r.text) for s in fam.samples}

    def value(name: str, **labels: str) -> float:
        return series[(name, tuple(sorted(labels.items())))]
    cg = {"provider": "coingecko", "category": "market_data"}
    assert value("cryptohub_provider_up", **cg) == 1
    assert value("cryptohub_provider_up", provider="binance", category="market_data") == 0
    assert 0 < value("cryptohub_provider_response_time_seconds", **cg) < 10
    assert value("cryptohub_provider_success_ratio", **cg) == 1.0
    assert value("cryptohub_provider_staleness_seconds", **cg) > 0
    assert value("cryptohub_provider_runs_total", provider="coingecko", result="success") >= 1
    assert value("cryptohub_rate_limit_usage_ratio", provider="coingecko",
                 limit_type="per_minute") == pytest.approx(1 / 30, abs=1e-3)
    assert value("cryptohub_providers", status="online") == 1
    assert value("process_resident_memory_bytes") > 1e6
    assert not any(name.endswith("_ms") for name, _ in series)


async def test_metrics_pass_promtool_check(served):
    """promtool (Debian's prometheus package) finds nothing to fault in /metrics."""
    hub, base = await served()
    await hub.runner.run_provider("coingecko")
    await _get(base + "/api/status")  # a histogram observation
    text = (await _get(base + "/metrics")).text
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/bootstrap --test installs Debian's prometheus"
    res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=30 * SLOW)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


async def test_openapi_describes_every_path(served):
    """/openapi.json is OpenAPI 3.1 with every REST path, its parameters and its
    response schema."""
    _, base = await served()
    doc = (await _get(base + "/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {*SEED_PATHS, *(p.split("?")[0] for p in DATA_PATHS),
                                 "/metrics", "/openapi.json", "/asyncapi.json", "/docs"}
    hist = doc["paths"]["/api/history"]["get"]
    params = {p["name"]: p for p in hist["parameters"]}
    assert set(params) == {"symbol", "interval", "start", "end", "source", "limit"}
    assert params["symbol"]["required"] and "coingecko" in params["source"]["schema"]["enum"]
    for path, item in doc["paths"].items():
        ok = item["get"]["responses"]["200"]["content"]
        schema = next(iter(ok.values()))["schema"]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            assert name in doc["components"]["schemas"], path
        assert "500" in item["get"]["responses"]
    assert "x-websocket" in doc and "all" in doc["x-websocket"]["services"]
    assert "security" not in doc  # loopback: no token needed


async def test_docs_page_renders_offline(served, tmp_path):
    """/docs is one self-contained HTML page (no external URLs) whose script renders
    every path of /openapi.json and every channel and message of /asyncapi.json (run here
    under Node when available)."""
    _, base = await served()
    page = await _get(base + "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and 'fetch("/openapi.json"' in html
    assert 'fetch("/asyncapi.json"' in html
    node = shutil.which("node")
    if not node:
        pytest.skip("node not installed: the static checks above passed")
    script = re.search(r"<script>(.*)</script>", html, re.S).group(1)
    (tmp_path / "docs.js").write_text(script)
    (tmp_path / "spec.json").write_text((await _get(base + "/openapi.json")).text)
    (tmp_path / "async.json").write_text((await _get(base + "/asyncapi.json")).text)
    runner = ("const {renderSpec, renderAsyncApi} = require(process.argv[1] + '/docs.js');"
              "const spec = require(process.argv[1] + '/spec.json');"
              "const doc = require(process.argv[1] + '/async.json');"
              "process.stdout.write(renderSpec(spec) + '\\n<hr>\\n' + renderAsyncApi(doc));")
    out = subprocess.run([node, "-e", runner, str(tmp_path)], capture_output=True, text=True,
                         timeout=30 * SLOW, check=True).stdout
    rest, websocket = out.split("\n<hr>\n")
    for path in ("/api/status", "/api/history", "/metrics", "/ws/master", "/asyncapi.json"):
        assert f">{path}<" in rest, path
    assert "consensus_price: number | null" in rest
    for path in ("/ws/master", "/ws/market-data", "/ws/news"):
        assert f">{path}<" in websocket, path
    for name in ("market_data_snapshot", "market_data_update", "alerts_update", "subscribe"):
        assert f">{name}<" in websocket, name
    assert "outlier: boolean" in websocket and "symbols[]: string" in websocket


async def test_freshness_by_id_keys_providers_by_id(served):
    """/api/freshness keeps SPEC's keys (category -> provider name, id inside); ?by=id
    keys by provider id with the name inside; another value is a 400."""
    _, base = await served()
    by_name = (await _get(base + "/api/freshness")).json()
    assert by_name["market_data"]["CoinGecko"]["id"] == "coingecko"
    by_id = (await _get(base + "/api/freshness?by=id")).json()
    entry = by_id["market_data"]["coingecko"]
    assert entry["name"] == "CoinGecko" and entry["status"] == "no_data"
    assert set(by_id) == set(by_name)
    r = await _get(base + "/api/freshness?by=pid")
    assert r.status_code == 400 and r.json()["error"] == "bad_parameter"
