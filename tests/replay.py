"""A real HTTP server on 127.0.0.1 that plays the upstream providers.

It serves recorded real responses from ``tests/fixtures/providers/<id>/`` under
the prefix ``/<id>``, so a provider's ``base_url`` in the test config is
``http://127.0.0.1:<port>/<id>``. Each provider folder has ``routes.json``::

    [{"path": "/simple/price", "file": "simple_price.json"},
     {"path": "/", "method": "POST", "rpc_method": "eth_blockNumber", "file": "block_number.json"}]

Optional route keys: "status" (default 200), "content_type", "headers", "query"
(a dict that must be a subset of the request's query string).

Faults are set per path with :meth:`ReplayServer.fault`: delay, status with
headers (429 + Retry-After), a raw body (bad JSON, wrong shape, empty), a
connection reset, a huge body, a body dribbled slowly.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "providers"


@dataclass
class Route:
    path: str
    body: bytes
    method: str = "GET"
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    rpc_method: str | None = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """What to do instead of (or before) the recorded answer."""

    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    huge_bytes: int = 0
    dribble_seconds_per_byte: float = 0.0
    times: int | None = None  # None: every request; n: the next n requests only


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    status: int = 0


def _guess_type(name: str) -> str:
    if name.endswith((".xml", ".rss")):
        return "application/rss+xml"
    if name.endswith(".txt"):
        return "text/plain"
    return "application/json"


def load_routes(provider_id: str, prefix: str | None = None) -> list[Route]:
    """The recorded routes of one provider folder, mounted under ``/<id>``."""
    folder = FIXTURES / provider_id
    prefix = f"/{provider_id}" if prefix is None else prefix
    routes = []
    for r in json.loads((folder / "routes.json").read_text()):
        path = prefix + ("" if r["path"] == "/" else r["path"])
        routes.append(Route(
            path=path or "/", body=(folder / r["file"]).read_bytes(),
            method=r.get("method", "POST" if r.get("rpc_method") else "GET"),
            status=r.get("status", 200),
            content_type=r.get("content_type", _guess_type(r["file"])),
            headers=r.get("headers", {}), rpc_method=r.get("rpc_method"),
            query=r.get("query", {})))
    return routes


def providers_with_fixtures() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "routes.json").exists())


class ReplayServer:
    """Start with ``with ReplayServer() as srv:``; ``srv.url`` is the root."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.faults: dict[str, Fault] = {}
        self.seen: list[Seen] = []
        self.limits: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # --- setup -----------------------------------------------------------
    def add(self, route: Route) -> None:
        with self._lock:
            self.routes.insert(0, route)  # later routes win

    def mount(self, provider_id: str, prefix: str | None = None) -> str:
        """Serve a provider's recorded routes (under ``/<id>``, or ``prefix``: several
        instances of a team each get their own, so arrivals can be told apart);
        returns its base_url."""
        prefix = prefix or f"/{provider_id}"
        for r in load_routes(provider_id, prefix):
            self.add(r)
        return f"{self.url}{prefix}"

    def limit(self, path_prefix: str, calls: int, seconds: float) -> None:
        """Answer 429 (Retry-After) to requests under ``path_prefix`` beyond ``calls`` per
        ``seconds`` (moving window), as a provider enforcing its limit does."""
        with self._lock:
            self.limits[path_prefix] = (calls, seconds)

    def fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self.faults[path] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def count(self, path_prefix: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.path.startswith(path_prefix))

    # --- lifecycle ---------------------------------------------------------
    def __enter__(self) -> ReplayServer:
        _serve_on(self, 0)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- serving -------------------------------------------------------------
    def _find(self, method: str, path: str, query: dict[str, list[str]],
              body: bytes) -> Route | None:
        rpc = None
        if method == "POST" and body:
            try:
                rpc = json.loads(body).get("method")
            except (ValueError, AttributeError):
                rpc = None
        with self._lock:
            for r in self.routes:
                if r.method != method or r.path.rstrip("/") != path.rstrip("/"):
                    continue
                if r.rpc_method and r.rpc_method != rpc:
                    continue
                if any(query.get(k, [None])[0] != v for k, v in r.query.items()):
                    continue
                return r
        return None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for prefix, f in self.faults.items():
                if path.startswith(prefix):
                    if f.times is not None:
                        if f.times <= 0:
                            continue
                        f.times -= 1
                    return f
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        seen = Seen(h.command, parts.path, query, dict(h.headers), body)
        with self._lock:
            self.seen.append(seen)
            over = next((f"{calls}/{seconds}s" for prefix, (calls, seconds) in self.limits.items()
                         if parts.path.startswith(prefix)
                         and sum(1 for s in self.seen if s.path.startswith(prefix)
                                 and s.status != 429 and s.at > seen.at - seconds) > calls),
                        None)
        if over:
            seen.status = 429
            fault = Fault(status=429, headers={"Retry-After": "5"},
                          body=b'{"error": "rate limit exceeded"}')
        else:
            fault = self._take_fault(parts.path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.connection.close()
            h.close_connection = True
            return
        route = self._find(h.command, parts.path, query, body)
        status = route.status if route else 404
        payload = route.body if route else json.dumps({"error": "no recorded route",
                                                       "path": parts.path}).encode()
        ctype = route.content_type if route else "application/json"
        headers = dict(route.headers) if route else {}
        if fault:
            if fault.status is not None:
                status = fault.status
            if fault.body is not None:
                payload = fault.body
            headers.update(fault.headers)
        seen.status = seen.status or status
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for k, v in headers.items():
            h.send_header(k, v)
        if fault and fault.huge_bytes:
            h.send_header("Content-Length", str(fault.huge_bytes))
            h.end_headers()
            chunk = b"[" + b"1," * 32767 + b"1"
            sent = 0
            try:
                while sent < fault.huge_bytes:
                    part = chunk[: fault.huge_bytes - sent]
                    h.wfile.write(part)
                    sent += len(part)
            except OSError:
                pass
            return
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        try:
            if fault and fault.dribble_seconds_per_byte:
                for i in range(len(payload)):
                    h.wfile.write(payload[i:i + 1])
                    h.wfile.flush()
                    time.sleep(fault.dribble_seconds_per_byte)
            else:
                h.wfile.write(payload)
        except OSError:
            pass


def main() -> None:
    """``python -m tests.replay [--port N] [--config-out FILE]``: serve every recorded
    provider and write a config whose base_urls point at it."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config-out", type=Path)
    args = ap.parse_args()
    srv = ReplayServer()
    with srv:
        if args.port:  # rebind on the requested port
            srv.__exit__()
            _serve_on(srv, args.port)
        ids = providers_with_fixtures()
        lines = []
        for pid in ids:
            srv.mount(pid)
            lines += [f"[providers.{pid}]", f'base_url = "{srv.url}/{pid}"', ""]
        if args.config_out:
            args.config_out.write_text("\n".join(lines))
        print(f"replaying {len(ids)} providers on {srv.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def _serve_on(srv: ReplayServer, port: int) -> None:
    server = srv

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            server._handle(self)

        def do_POST(self) -> None:
            server._handle(self)

    srv._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv._httpd.daemon_threads = True
    threading.Thread(target=srv._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()


if __name__ == "__main__":
    main()
