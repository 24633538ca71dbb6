"""Team hub benchmarks (SPEC section 12): takeover after ``kill -9``, cross-instance update
latency, and fan-out to 1,000 subscribers spread over three instances.

A real team: three ``cryptohub-desktop serve`` processes on a throwaway PostgreSQL
database and a Redis key prefix of their own, six market-data providers played by the
replay upstream every 5 s, ``lease_ttl_seconds = 3`` (tests/cluster/harness.py).

Scenarios:
  takeover   ``--takeovers`` times: kill -9 the owner of coingecko; time until another
             instance holds its lease (target <= 2 x TTL) and until that instance's
             first call to the upstream (<= 2 x TTL + interval); the victim is
             restarted and the leases shared out again before the next round.
  latency    a WebSocket client of hub-a for ``--seconds``: every market_data update the
             team collects, publish -> receipt (the envelope's ``timestamp`` against the
             wall clock of this machine), split by whether it came from another
             instance; ``seq`` checked contiguous; hub-a's Redis reader connection is
             killed (``CLIENT KILL``) half-way through.
  fan-out    1,000 subscribers (334/333/333 on the three instances) held by a client
             process (bench_fanout.py's Node.js or Python client); this process publishes
             1 KB market_data updates into the team's Redis bus as a fourth member
             (``RedisBus``, the product's code) at 10/s; publish -> receipt at every
             subscriber, 3 rounds of 100.

Needs PostgreSQL and Redis on 127.0.0.1 (``scripts/services``). Run::

    python bench/bench_team.py --json bench/results-team.json       # about 10 minutes
    python bench/bench_team.py --takeovers 2 --seconds 30 --rounds 1 # smoke check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402 - after the path
from websockets.asyncio.client import connect  # noqa: E402

from bench.bench_fanout import (  # noqa: E402
    PAD,
    NodeRemote,
    Remote,
    node_available,
    pct,
    publish_series,
    raise_fd_limit,
    summarize,
)
from cryptohub_desktop.cluster.redis_bus import RedisBus  # noqa: E402
from cryptohub_desktop.core.time import parse_iso  # noqa: E402
from tests.cluster.harness import Team, kill_redis_readers  # noqa: E402
from tests.dbs import PgServer  # noqa: E402
from tests.replay import ReplayServer  # noqa: E402

REDIS_URL = os.environ.get("CRYPTOHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MARKET = ["coingecko", "binance", "kraken", "coinbase", "bitstamp", "gemini"]
INTERVAL = 5.0


def spread(values: list[float]) -> dict[str, float]:
    """min / median / p90 / max of seconds (or ms), rounded."""
    return {"n": len(values), "min": round(min(values), 2),
            "median": round(statistics.median(values), 2), "p90": round(pct(values, 90), 2),
            "max": round(max(values), 2)}


def takeovers(team: Team, rounds: int) -> dict[str, Any]:
    took, next_call = [], []
    for i in range(rounds):
        victim = team.owner("coingecko")
        assert victim is not None
        team.kill(victim)
        killed = time.monotonic()
        took.append(team.wait(lambda v=victim: team.owner("coingecko") not in (None, v),
                              10 * team.ttl, 0.02))
        new = team.owner("coingecko")
        assert new is not None
        team.wait(lambda k=killed, n=new: any(at > k for at in team.arrivals(n, "coingecko")),
                  4 * team.ttl + INTERVAL * 3, 0.02)
        next_call.append(min(at for at in team.arrivals(new, "coingecko") if at > killed)
                         - killed)
        print(f"takeover {i + 1}: {victim} killed, {new} owns it after {took[-1]:.2f} s, "
              f"calls after {next_call[-1]:.2f} s", flush=True)
        team.start([victim])
    return {"lease_ttl_s": team.ttl, "interval_s": INTERVAL,
            "owned_after_s": spread(took), "next_call_after_s": spread(next_call),
            "all_within_2ttl": max(took) <= 2 * team.ttl,
            "all_calls_within_2ttl_plus_interval": max(next_call) <= 2 * team.ttl + INTERVAL}


async def latency(team: Team, seconds: float, prefix: str) -> dict[str, Any]:
    name = "hub-a"
    url = team.instances[name].url.replace("http", "ws") + "/ws/master"
    got: list[tuple[float, dict[str, Any]]] = []
    snap_seq = None
    killed = False
    async with connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"action": "subscribe", "service": "market_data"}))
        started = time.monotonic()
        while (left := started + seconds - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            at = time.time()
            msg = json.loads(raw)
            if msg["type"] == "snapshot":
                snap_seq = msg["seq"]
            elif msg["type"] == "update":
                got.append((at, msg))
            if not killed and time.monotonic() - started > seconds / 2:
                killed = True
                kill_redis_readers(REDIS_URL)
    seqs = [m["seq"] for _, m in got]
    gaps = sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1)
    lag = {True: [], False: []}
    for at, m in got:
        lag[m["origin"] != name].append((at - parse_iso(m["timestamp"]).timestamp()) * 1000)
    out: dict[str, Any] = {"seconds": seconds, "updates": len(got), "seq_gaps": gaps,
                           "first_seq_follows_snapshot": bool(seqs) and seqs[0] == snap_seq + 1,
                           "redis_reader_killed": killed}
    for other, key in ((True, "from_other_instances_ms"), (False, "from_hub_a_itself_ms")):
        xs = lag[other]
        if xs:
            out[key] = {"n": len(xs), "p50": round(pct(xs, 50), 2),
                        "p99": round(pct(xs, 99), 2), "max": round(max(xs), 2)}
    return out


async def fanout(team: Team, prefix: str, subscribers: int, rounds: int,
                 client: str) -> dict[str, Any]:
    raise_fd_limit()
    if client == "node":
        remote: Any = NodeRemote(None)
        await remote.start()
    else:
        remote = Remote(None)
    bus = RedisBus(REDIS_URL, "bench", prefix=prefix)
    await bus.start()
    sub = json.dumps({"action": "subscribe", "service": "market_data"})
    ports = [inst.port for inst in team.instances.values()]
    per = [subscribers // len(ports) + (1 if i < subscribers % len(ports) else 0)
           for i in range(len(ports))]

    def publish(seq: int, t: float) -> None:
        bus.publish("market_data", {"seq": seq, "t": t, "pad": PAD, "provider": "bench",
                                    "category": "market_data", "records": [], "counts": {},
                                    "consensus": [], "outliers": []})

    try:
        took = 0.0
        for port, n in zip(ports, per, strict=True):
            took += float(await remote.call("connect", (port, n, sub, n)))
        await asyncio.sleep(1.0)
        await remote.call("collect")  # drop what arrived while connecting
        pooled: list[Any] = []
        per_round = []
        for _ in range(rounds):
            timing = await publish_series(publish, 100, 0.1)
            samples = [s for s in await remote.call("collect") if s[0] >= 0]
            pooled.append((samples, timing))
            per_round.append(summarize(samples, subscribers, 100, timing)["p99_ms"])
        samples = [x for s, _ in pooled for x in s]
        timing = ([x for _, t in pooled for x in t[0]], [x for _, t in pooled for x in t[1]])
        return {"subscribers": per, "client": client, "connect_s": round(took, 2),
                **summarize(samples, subscribers, 100 * rounds, timing),
                "p99_ms_per_round": per_round}
    finally:
        await remote.call("close")
        await remote.call("exit")
        await bus.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--takeovers", type=int, default=10, help="kill -9 rounds (default 10)")
    ap.add_argument("--seconds", type=float, default=180.0,
                    help="how long the latency client listens (default 180)")
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="fan-out rounds of 100 updates")
    ap.add_argument("--client", choices=("node", "python"),
                    default="node" if node_available() else "python")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    pg = PgServer()
    db = pg.create()
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                           "python": sys.version.split()[0],
                                           "loadavg_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp, ReplayServer() as replay:
        team = Team(Path(tmp), pg.url_of(db), REDIS_URL, prefix, replay, MARKET)
        try:
            team.start()
            results["takeover"] = takeovers(team, args.takeovers)
            print(json.dumps(results["takeover"]), flush=True)
            results["latency"] = asyncio.run(latency(team, args.seconds, prefix))
            print(json.dumps(results["latency"]), flush=True)
            results["fanout"] = asyncio.run(fanout(team, prefix, args.subscribers,
                                                   args.rounds, args.client))
            print(json.dumps(results["fanout"]), flush=True)
        finally:
            team.stop()
            pg.drop(db)
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
            if keys:
                client.delete(*keys)
            client.close()
    results["machine"]["loadavg_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
