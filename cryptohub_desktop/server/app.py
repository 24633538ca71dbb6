"""Start and stop the local server: one ``websockets`` server on the hub's event loop
answering REST GETs (``process_request``) and WebSocket upgrades.

The request head is read first by :class:`~cryptohub_desktop.server.http_edge.
EdgeConnection` (bodies, folded headers, other HTTP versions and pipelined requests
are answered or set aside there); then every request passes the
:class:`~cryptohub_desktop.server.security.Guard`; then ``/ws/*`` paths upgrade to
WebSocket (``ws.py``) and everything else is REST (``rest.py``). Compression is off: permessage-deflate would compress each update
once per client and makes a broadcast several times slower.

Example::

    handle = await start_server(LocalApi(hub), cfg.server, secrets)   # port 0: a free port
    print(handle.port)
    await handle.close()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from cryptohub_desktop import __version__
from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.http_edge import EdgeConnection
from cryptohub_desktop.server.metrics import MetricsExporter
from cryptohub_desktop.server.responses import ApiError, error_response
from cryptohub_desktop.server.rest import RestApi
from cryptohub_desktop.server.routes import build_routes
from cryptohub_desktop.server.security import Guard, is_loopback
from cryptohub_desktop.server.ws import (
    MAX_CLIENT_BUFFER,
    MAX_FRAME,
    WS_PATHS,
    Fanout,
    normalize_path,
)

log = logging.getLogger("cryptohub.server")


def make_scrubber(api: HubApi) -> Callable[[bytes], bytes]:
    """A function masking, in encoded UTF-8 JSON, every secret the hub uses (keychain,
    environment, token), longest first (as ``core.masking.scrub`` does for text)."""
    def scrub_bytes(data: bytes) -> bytes:
        for value in sorted(api.secrets_in_use(), key=len, reverse=True):
            raw = value.encode()
            if raw in data:
                data = data.replace(raw, mask(value).encode())
        return data
    return scrub_bytes


@dataclass
class ServerHandle:
    """A running server.

    Attributes:
        port: the bound port (the real one when the config asked for 0).
        fanout: subscriptions and fan-out statistics.
        cache: the shared answer cache (hits / builds counters).
        token_required: clients must send the access token (non-loopback bind).
    """

    server: Server
    port: int
    fanout: Fanout
    cache: AnswerCache
    token_required: bool = False
    exporter: MetricsExporter | None = None
    _api: HubApi | None = field(default=None, repr=False)

    @property
    def clients(self) -> int:
        """WebSocket clients connected now."""
        return len(self.fanout.clients)

    async def close(self) -> None:
        """Stop accepting, close every connection (1001) and wait. Idempotent."""
        self.fanout.close()
        self.cache.close()
        self.server.close()
        await self.server.wait_closed()
        if self._api is not None:
            self._api.attach_server(lambda: 0)
        await asyncio.sleep(0)


async def start_server(api: HubApi, cfg: ServerConfig, secrets: Secrets, *,
                       trusted_proxies: Sequence[str] = (), client_limit: Any = None,
                       max_client_buffer: int = MAX_CLIENT_BUFFER,
                       drop_grace: float = 5.0) -> ServerHandle:
    """Serve ``hub`` on ``cfg.host``:``cfg.port`` on the running loop.

    Args:
        api: the hub to serve.
        secrets: where the access tokens are kept (full and read-only).
        cfg: the ``[server]`` configuration.
        trusted_proxies: ``[cluster] trusted_proxies``: whose X-Forwarded-For is believed.
        client_limit: the per-client REST limit (a team hub keeps it in Redis).
        max_client_buffer: unsent bytes after which a WebSocket client is dropped (1013).
        drop_grace: seconds a dropped client gets to finish the close handshake.

    Raises:
        OSError: the address cannot be bound (port in use, unknown host).
    """
    token_required = not is_loopback(cfg.host)
    token, read_token = await asyncio.to_thread(
        lambda: (secrets.server_token(), secrets.server_token(read_only=True)))
    guard = Guard(cfg, token, read_token, trusted_proxies, client_limit)
    scrub = make_scrubber(api)
    cache = AnswerCache(api.subscribe)
    fanout = Fanout(api, scrub, cache, max_client_buffer=max_client_buffer,
                    drop_grace=drop_grace)
    exporter = MetricsExporter(api, fanout.stats)
    rest = RestApi(api, build_routes([p.id for p in api.catalogue()]), scrub, cache,
                   token_required=token_required, exporter=exporter)

    async def process_request(conn: ServerConnection, request: Request) -> Response | None:
        path = normalize_path(request.path)
        is_ws = path in WS_PATHS
        client = conn.remote_address[0] if conn.remote_address else "?"
        try:
            client, access = await guard.check(request, client, rest=not is_ws)
            fanout.access[conn] = access
            if is_ws and request.method != "GET":
                raise ApiError(405, "method_not_allowed", "a WebSocket handshake is a GET",
                               [("Allow", "GET")])
            if is_ws and "websocket" not in request.headers.get("Upgrade", "").lower():
                raise ApiError(426, "upgrade_required", "this is a WebSocket endpoint; "
                               "connect with a WebSocket client", [("Upgrade", "websocket")])
        except ApiError as exc:
            if exc.status in (401, 403):
                log.info("refused %s %s from %s: %s", request.method, path, client, exc.error)
            answer = error_response(exc)
            if request.method == "HEAD":
                answer.body = b""
            return answer
        if is_ws:
            return None
        return await rest.handle(request, request.method)

    server_header = f"cryptohub-desktop/{__version__}"

    connection = type("ServerEdgeConnection", (EdgeConnection,),
                      {"server_header": server_header})

    server = await serve(fanout.handler, cfg.host, cfg.port, process_request=process_request,
                         compression=None, max_size=MAX_FRAME, close_timeout=drop_grace,
                         server_header=server_header, create_connection=connection,
                         backlog=1024)  # a reconnect storm after a restart gets in at once
    api.attach_server(lambda: len(fanout.clients))
    port = next(iter(server.sockets)).getsockname()[1]
    log.info("local server on %s:%d (%s)", cfg.host, port,
             "token required" if token_required else "loopback only")
    return ServerHandle(server, port, fanout, cache, token_required, exporter, api)
