"""Fan-out and REST latency of the local server (SPEC section 12).

The server process (this one) runs a real hub (temporary SQLite, no providers
scheduled) with the product server, and beside it a bare ``websockets`` server
that only calls ``broadcast()``: the library's floor on this machine. A separate
client process holds the subscribers on loopback and timestamps each message as it
is read from the socket: by default a Node.js process running the ``ws`` package
(``--client node``, ``bench/node/client.mjs``), or a Python one (``--client python``:
multiprocessing, asyncio + the ``websockets`` sans-I/O protocol). The Python client
adds 11-14 ms of its own at 1,000 subscribers, the Node one about 20 us per message
(docs: /work/shared/ENVIRONMENT.md), so node is the default when ``node`` is on PATH and
``bench/node/node_modules`` is installed (``npm ci --prefix bench/node``).
Latency = publish call -> receipt at each client: the server embeds
``time.monotonic()`` in each update; Python's ``time.monotonic`` and Node's
``process.hrtime.bigint()`` both read CLOCK_MONOTONIC, one system-wide clock on Linux
(the bench checks this at start-up and records the result).

Scenarios (each fan-out scenario runs 3 rounds; p99 is given pooled and per round):
  fan-out at 100 / 1,000 / 5,000 subscribers, product then bare, 1 KB updates;
  5,000 connections held (4,000 idle + 1,000 subscribed), product;
  REST GET latency with 200 subscribers attached while updates flow at 10/s: the bare
  server's ``/health`` (answered in ``process_request``) first, then the product's paths.
The server is pinned to CPU 0 and the clients to CPU 1 (``--no-pin`` to let the
OS place them); the server's loop lag and garbage-collection pauses are reported.

Run::

    python bench/bench_fanout.py --json bench/results-fanout.json   # about 3 minutes
    python bench/bench_fanout.py --quick                            # smoke check, 40 s
    python bench/bench_fanout.py --client python                    # the Python client
    python bench/bench_fanout.py --sizes 1000 --no-held             # one size, with REST
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAD = "x" * 900  # about 1 KB per update message, as the bare-library measurement used
NODE_DIR = ROOT / "bench" / "node"
SEQ = re.compile(rb'"seq":(\d+),"t":([0-9.]+)')


def raise_fd_limit(want: int = 16384) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, want)) if hard != resource.RLIM_INFINITY else max(soft, want)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


# --- client process ------------------------------------------------------------------------
class BenchClient(asyncio.Protocol):
    """One WebSocket subscriber on the sans-I/O protocol: no per-message task or queue,
    so the receipt time is taken when the bytes come off the socket."""

    def __init__(self, uri: str, subscribe: str | None, sink: list[tuple[int, float]],
                 ready: asyncio.Future[None]) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri
        self.proto = ClientProtocol(parse_uri(uri), max_size=None)
        self.subscribe = subscribe
        self.sink = sink
        self.ready = ready
        self.expect = 2 if subscribe else 0  # subscribed + snapshot
        self.transport: asyncio.Transport | None = None

    def _flush(self) -> None:
        for data in self.proto.data_to_send():
            if data and self.transport is not None:
                self.transport.write(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.proto.send_request(self.proto.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response
        self.proto.receive_data(data)
        for ev in self.proto.events_received():
            if isinstance(ev, Response):
                if ev.status_code != 101:
                    self.ready.set_exception(RuntimeError(f"handshake {ev.status_code}"))
                elif self.subscribe:
                    self.proto.send_text(self.subscribe.encode())
                else:
                    self.ready.set_result(None)
            elif isinstance(ev, Frame) and ev.opcode == Opcode.TEXT:
                if self.expect:
                    self.expect -= 1
                    if not self.expect and not self.ready.done():
                        self.ready.set_result(None)
                    continue
                m = SEQ.search(ev.data, 0, 400)
                if m:
                    self.sink.append((int(m.group(1)), now - float(m.group(2))))
        self._flush()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_client(port: int, subscribe: str | None, sink: list[tuple[int, float]],
                      sem: asyncio.Semaphore) -> BenchClient:
    """Connect one subscriber (``subscribe`` None: an idle connection)."""
    loop = asyncio.get_running_loop()
    async with sem:
        ready: asyncio.Future[None] = loop.create_future()
        uri = f"ws://127.0.0.1:{port}/ws/master"
        _, proto = await loop.create_connection(
            lambda: BenchClient(uri, subscribe, sink, ready), "127.0.0.1", port)
        await asyncio.wait_for(ready, 60)
        return proto


async def rest_times(port: int, paths: list[str], count: int) -> dict[str, list[float]]:
    """Milliseconds of ``count`` sequential GETs per path, each on a new connection (as a
    script would send them), every answer a 200."""
    out: dict[str, list[float]] = {}
    for path in paths:
        times = []
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        for _ in range(count):
            t0 = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(req)
            body = await reader.read()
            times.append((time.perf_counter() - t0) * 1000.0)
            writer.close()
            assert body.startswith(b"HTTP/1.1 200"), body[:200]
        out[path] = times
    return out


async def _client_main(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    clients: list[BenchClient] = []
    sink: list[tuple[int, float]] = []
    while True:
        cmd, args = await loop.run_in_executor(None, conn.recv)
        if cmd == "connect":
            port, n, subscribe = args[:3]
            active = args[3] if len(args) > 3 else n
            sem = asyncio.Semaphore(64)
            t0 = time.monotonic()
            clients += await asyncio.gather(*(
                open_client(port, subscribe if i < active else None, sink, sem)
                for i in range(n)))
            gc.collect()
            gc.freeze()  # keep the collector's pauses out of the client's timestamps
            conn.send(("connected", round(time.monotonic() - t0, 2)))
        elif cmd == "collect":
            conn.send(("stats", sink[:]))
            sink.clear()
        elif cmd == "close":
            for c in clients:
                c.close()
            clients.clear()
            await asyncio.sleep(0.5)
            conn.send(("closed", None))
        elif cmd == "rest":
            conn.send(("rest", await rest_times(*args)))
        elif cmd == "exit":
            conn.send(("bye", None))
            return


def pin(cpu: int) -> None:
    """Keep this process on one CPU (server and clients apart) when there are two+."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


def client_process(conn: Any, cpu: int | None) -> None:
    if cpu is not None:
        pin(cpu)
    raise_fd_limit()
    asyncio.run(_client_main(conn))


# --- server side ---------------------------------------------------------------------------
class Remote:
    """The client process, driven through a pipe."""

    def __init__(self, cpu: int | None) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=client_process, args=(child, cpu), daemon=True)
        self.proc.start()

    async def call(self, cmd: str, args: Any = None, timeout: float = 300) -> Any:
        loop = asyncio.get_running_loop()
        self.conn.send((cmd, args))
        if not await loop.run_in_executor(None, self.conn.poll, timeout):
            raise TimeoutError(cmd)
        return (await loop.run_in_executor(None, self.conn.recv))[1]


class NodeRemote:
    """The Node.js client process (``bench/node/client.mjs``), driven through its
    stdin/stdout with one JSON line per command and per reply; same commands and replies
    as the Python client process. Pinned with ``taskset`` (or the affinity of each of its
    threads) and started after the fd limit is raised, which it inherits."""

    def __init__(self, cpu: int | None) -> None:
        self.cpu = cpu
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        node = shutil.which("node")
        assert node, "node not found"
        cmd = [node, "--max-semi-space-size=32", str(NODE_DIR / "client.mjs")]
        pin_cpu = self.cpu is not None and (os.cpu_count() or 1) >= 2
        if pin_cpu and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        raise_fd_limit()  # inherited by the child
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 28, cwd=NODE_DIR)
        if pin_cpu and not shutil.which("taskset"):
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                os.sched_setaffinity(int(tid), {self.cpu})

    async def call(self, cmd: str, args: Any = None, timeout: float = 300) -> Any:
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps([cmd, args]) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"node client exited ({await self.proc.wait()}) on {cmd}")
        return json.loads(line)[1]

    async def join(self, timeout: float) -> None:
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()


def node_available() -> bool:
    return bool(shutil.which("node")) and (NODE_DIR / "node_modules" / "ws").is_dir()


async def start_bare() -> tuple[Any, set[Any], int]:
    """A server that only subscribes and broadcast()s, and answers ``GET /health`` from
    ``process_request`` with a small JSON body: the library's floor."""
    from datetime import UTC, datetime

    from websockets.asyncio.server import serve
    from websockets.datastructures import Headers
    from websockets.http11 import Response
    clients: set[Any] = set()

    def process_request(conn: Any, request: Any) -> Any:
        if request.path.startswith("/health"):
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = json.dumps({"status": "healthy", "timestamp": now}).encode()
            return Response(200, "OK", Headers([
                ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("Connection", "close")]), body)
        return None

    async def handler(ws: Any) -> None:
        await ws.recv()
        await ws.send('{"type":"subscribed","service":"market_data"}')
        await ws.send('{"type":"snapshot","service":"market_data","data":{}}')
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)
    server = await serve(handler, "127.0.0.1", 0, compression=None, max_size=1 << 20,
                         process_request=process_request, backlog=1024)
    return server, clients, next(iter(server.sockets)).getsockname()[1]


async def publish_series(publish: Any, count: int, interval: float,
                         warmup: int = 10) -> tuple[list[float], list[float]]:
    """Call ``publish(seq, t)`` ``count`` times after ``warmup`` unrecorded calls (seq -1,
    which clients ignore). Returns each recorded call's duration and the server loop's
    lag samples (how late a 2 ms sleep wakes up), both in ms."""
    lags: list[float] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            t = time.monotonic()
            await asyncio.sleep(0.002)
            lags.append(max(0.0, (time.monotonic() - t - 0.002) * 1000.0))

    for _ in range(warmup):
        publish(-1, time.monotonic())
        await asyncio.sleep(interval)
    mon = asyncio.create_task(monitor())
    durations = []
    for seq in range(count):
        t = time.monotonic()
        publish(seq, t)
        durations.append((time.monotonic() - t) * 1000.0)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - t)))
    await asyncio.sleep(max(1.0, interval * 4))
    done.set()
    await mon
    return durations, lags


class GcPauses:
    """Durations (ms) of this process's garbage collections, by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._start) * 1e3))

    def take(self) -> dict[str, Any]:
        full = [ms for gen, ms in self.pauses if gen == 2]
        out = {"gc_full_collections": len(full),
               "gc_max_pause_ms": round(max((ms for _, ms in self.pauses), default=0.0), 1)}
        self.pauses.clear()
        return out


def summarize(samples: list[tuple[int, float]], n: int, count: int,
              timing: tuple[list[float], list[float]]) -> dict[str, Any]:
    durations, lags = timing
    lat = [d * 1000.0 for _, d in samples]
    by_seq: dict[int, list[float]] = {}
    for seq, d in samples:
        by_seq.setdefault(seq, []).append(d * 1000.0)
    spread = [max(v) - min(v) for v in by_seq.values() if v]
    return {"subscribers": n, "updates": count, "received": len(lat),
            "expected": n * count, "p50_ms": round(pct(lat, 50), 2),
            "p99_ms": round(pct(lat, 99), 2), "max_ms": round(max(lat), 2) if lat else None,
            "spread_p99_ms": round(pct(spread, 99), 2),
            "publish_call_p50_ms": round(statistics.median(durations), 2),
            "publish_call_p99_ms": round(pct(durations, 99), 2),
            "loop_lag_p99_ms": round(pct(lags, 99), 2), "loop_lag_max_ms": round(max(lags), 2)}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from websockets.asyncio.server import broadcast

    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.collectors import coingecko
    from cryptohub_desktop.config import parse_config
    from cryptohub_desktop.core.records import Price
    from cryptohub_desktop.core.time import utcnow
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.secrets import Secrets
    from cryptohub_desktop.server import start_server

    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    cfg = parse_config({"server": {"rate_limit_per_minute": 10_000_000}}, tmp / "none.toml",
                       data_dir=tmp)
    hub = Hub(cfg, [coingecko.PROVIDER], Secrets(env={}))
    await hub.start(schedule=False)
    handle = await start_server(LocalApi(hub), dataclasses.replace(cfg.server, port=0), hub.secrets)
    bare, bare_clients, bare_port = await start_bare()
    clock_check = None
    if args.client == "node":
        remote: Any = NodeRemote(1 if args.pin else None)
        await remote.start()
        before = time.monotonic_ns()
        theirs = int(await remote.call("clock"))
        after = time.monotonic_ns()
        # one clock: the Node reading lies between two of ours, taken around the request
        clock_check = {"python_before_ns": before, "node_ns": theirs, "python_after_ns": after,
                       "same_clock": before <= theirs <= after}
        assert clock_check["same_clock"], clock_check
    else:
        remote = Remote(1 if args.pin else None)
    if args.pin:
        pin(0)
    sub = json.dumps({"action": "subscribe", "service": "market_data"})
    results: dict[str, Any] = {"fanout": [], "machine": {"cpus": os.cpu_count(),
                                                        "python": sys.version.split()[0],
                                                        "pinned": args.pin,
                                                        "client": args.client,
                                                        "clock_check": clock_check,
                                                        "loadavg_start": os.getloadavg()}}

    def update(seq: int, t: float) -> dict[str, Any]:
        # a market_data update as the runner publishes it (a collection that stored
        # nothing), with the bench's sequence number, send time and padding first
        return {"seq": seq, "t": t, "pad": PAD, "provider": "bench", "category": "market_data",
                "records": [], "counts": {}, "consensus": [], "outliers": []}

    def product_publish(seq: int, t: float) -> None:
        hub.bus.publish("market_data", update(seq, t))

    def bare_publish(seq: int, t: float) -> None:
        text = json.dumps({"type": "update", "service": "market_data",
                           "timestamp": "2024-01-01T00:00:00Z",
                           "data": update(seq, t)}, separators=(",", ":"))
        broadcast(bare_clients, text)

    gc_pauses = GcPauses()

    async def measure(name: str, port: int, publish: Any, n: int, count: int,
                      interval: float, active: int | None = None) -> dict[str, Any]:
        """Connect ``n`` clients (``active`` of them subscribed), run the rounds, close."""
        took = await remote.call("connect", (port, n, sub, n if active is None else active))
        await asyncio.sleep(0.5)
        rss = rss_mb()
        rounds, pooled = [], []
        gc_pauses.take()
        for _ in range(args.rounds):
            timing = await publish_series(publish, count, interval)
            samples = await remote.call("collect")
            pooled.append((samples, timing))
            rounds.append(summarize(samples, active or n, count, timing)["p99_ms"])
        samples = [x for s_, _ in pooled for x in s_]
        timing = ([x for _, t in pooled for x in t[0]], [x for _, t in pooled for x in t[1]])
        row = {"server": name, "connections": n, "connect_s": took, "server_rss_mb": rss,
               **summarize(samples, active or n, count * args.rounds, timing),
               "p99_ms_per_round": rounds, "p99_ms_median_round": statistics.median(rounds),
               **gc_pauses.take()}
        print(json.dumps(row), flush=True)
        await remote.call("close")
        return row

    try:
        for n in args.sizes:
            count, interval = args.plan[n]
            order = [("product", handle.port, product_publish),
                     ("bare", bare_port, bare_publish)]
            if args.bare_first:
                order.reverse()
            for name, port, publish in order:
                results["fanout"].append(await measure(name, port, publish, n, count, interval))
        if args.held:
            idle, active = args.held
            count, interval = args.plan.get(active, (30, 0.1))
            results["held"] = await measure("product", handle.port, product_publish,
                                            idle + active, count, interval, active)
        # REST with subscribers attached and updates flowing: the bare server's /health
        # first, then the product's paths, each with its own subscribers and updates
        now = utcnow()
        for i, source in enumerate(("coingecko", "binance", "kraken")):
            await hub.store.write(hub.store.insert_records, source, [
                Price(sym, 100.0 + i + j, now) for j, sym in enumerate(cfg.watchlist)])
        results["rest"] = {}
        if args.rest_subscribers:
            for name, port, publish, paths in (
                    ("bare", bare_port, bare_publish, ["/health"]),
                    ("product", handle.port, product_publish, args.rest_paths)):
                await remote.call("connect", (port, args.rest_subscribers, sub))
                stop = asyncio.Event()

                async def background(publish: Any = publish, stop: asyncio.Event = stop) -> None:
                    seq = 0
                    while not stop.is_set():
                        publish(seq, time.monotonic())
                        seq += 1
                        await asyncio.sleep(0.1)
                bg = asyncio.create_task(background())
                rest = await remote.call("rest", (port, paths, args.rest_requests))
                stop.set()
                await bg
                await remote.call("collect")
                for path, t in rest.items():
                    results["rest"][f"{name} {path}"] = {
                        "subscribers": args.rest_subscribers, "requests": len(t),
                        "p50_ms": round(pct(t, 50), 2), "p99_ms": round(pct(t, 99), 2),
                        "max_ms": round(max(t), 2)}
                await remote.call("close")
            print(json.dumps(results["rest"]), flush=True)
            floor = results["rest"]["bare /health"]["p99_ms"]
            results["rest_p99_ratio_product_to_bare"] = {
                k: round(v["p99_ms"] / floor, 2) for k, v in results["rest"].items()
                if k.startswith("product") and floor}
    finally:
        await remote.call("exit", timeout=30)
        if args.client == "node":
            await remote.join(10)
        else:
            remote.proc.join(10)
        await handle.close()
        bare.close()
        await bare.wait_closed()
        await hub.stop()
    ratios = {}
    for n in args.sizes:
        rows = {r["server"]: r for r in results["fanout"] if r["subscribers"] == n}
        if rows.get("bare") and rows["bare"]["p99_ms_median_round"]:
            ratios[n] = round(rows["product"]["p99_ms_median_round"]
                              / rows["bare"]["p99_ms_median_round"], 2)
    results["p99_ratio_product_to_bare"] = ratios
    results["machine"]["loadavg_end"] = os.getloadavg()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--bare-first", action="store_true", help="run the bare server first")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="do not pin the server to CPU 0 and the clients to CPU 1")
    ap.add_argument("--sizes", type=int, nargs="*",
                    help="fan-out sizes to run (default 100 1000 5000; none: skip fan-out)")
    ap.add_argument("--no-held", action="store_true", help="skip the 5,000-held scenario")
    ap.add_argument("--rounds", type=int, help="rounds per fan-out scenario (default 3)")
    ap.add_argument("--rest-requests", type=int, help="REST requests per path (default 1000)")
    ap.add_argument("--client", choices=("node", "python"),
                    default="node" if node_available() else "python",
                    help="subscriber process: Node.js ws (default when node and "
                         "bench/node/node_modules are there) or Python")
    args = ap.parse_args()
    sizes, rounds, rest_requests = args.sizes, args.rounds, args.rest_requests
    if args.quick:
        args.sizes, args.rounds = [100, 500], 2
        args.plan = {100: (30, 0.05), 500: (20, 0.1)}
        args.held = (400, 100)
        args.rest_subscribers, args.rest_requests = 50, 200
    else:
        args.sizes, args.rounds = [100, 1000, 5000], 3
        # (updates per round, seconds between them): slower for 5,000 so each fan-out ends
        args.plan = {100: (100, 0.05), 1000: (50, 0.1), 5000: (15, 0.4)}
        args.held = (4000, 1000)
        args.rest_subscribers, args.rest_requests = 200, 1000
    args.rest_paths = ["/health", "/api/status", "/api/market"]
    if sizes is not None:
        args.sizes = sizes
        args.plan = {n: args.plan.get(n, (50, 0.1)) for n in sizes}
    if rounds:
        args.rounds = rounds
    if rest_requests is not None:
        args.rest_requests = rest_requests
    if args.no_held:
        args.held = None
    t0 = time.monotonic()
    results = asyncio.run(run(args))
    results["wall_seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
