"""Start and stop the local server: one ``websockets`` server on the hub's event loop
answering REST GETs (``process_request``) and WebSocket upgrades.

Every request first passes the :class:`~cryptohub_desktop.server.security.Guard`;
then ``/ws/*`` paths upgrade to WebSocket (``ws.py``) and everything else is REST
(``rest.py``). Compression is off: permessage-deflate would compress each update
once per client and makes a broadcast several times slower.

Example::

    handle = await start_server(hub, cfg.server)   # port 0 picks a free port
    print(handle.port)
    await handle.close()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from cryptohub_desktop import __version__
from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.core.masking import scrub
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.responses import ApiError, error_response
from cryptohub_desktop.server.rest import RestApi
from cryptohub_desktop.server.routes import build_routes
from cryptohub_desktop.server.security import Guard, is_loopback
from cryptohub_desktop.server.ws import MAX_CLIENT_BUFFER, MAX_FRAME, WS_PATHS, Fanout

log = logging.getLogger("cryptohub.server")


def make_scrubber(hub: Any) -> Callable[[str], str]:
    """A function masking every key the hub knows (keychain, environment, token)."""
    def known() -> set[str]:
        values = set(hub.secrets.seen)
        for keys in hub.keys.values():
            values.update(keys)
        return {v for v in values if v and len(v) >= 8}

    return lambda text: scrub(text, known(), patterns=False)


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
    _hub: Any = field(default=None, repr=False)

    async def close(self) -> None:
        """Stop accepting, close every connection (1001) and wait. Idempotent."""
        self.fanout.close()
        self.cache.close()
        self.server.close()
        await self.server.wait_closed()
        if self._hub is not None:
            self._hub.server_clients = lambda: 0
        await asyncio.sleep(0)


async def start_server(hub: Any, cfg: ServerConfig, *,
                       max_client_buffer: int = MAX_CLIENT_BUFFER,
                       drop_grace: float = 5.0) -> ServerHandle:
    """Serve ``hub`` on ``cfg.host``:``cfg.port`` on the running loop.

    Args:
        hub: a started hub.
        cfg: the ``[server]`` configuration.
        max_client_buffer: unsent bytes after which a WebSocket client is dropped (1013).
        drop_grace: seconds a dropped client gets to finish the close handshake.

    Raises:
        OSError: the address cannot be bound (port in use, unknown host).
    """
    token_required = not is_loopback(cfg.host)
    token = await asyncio.to_thread(hub.secrets.server_token) if token_required else None
    guard = Guard(cfg, token)
    scrub = make_scrubber(hub)
    cache = AnswerCache(hub.bus)
    fanout = Fanout(hub, scrub, cache, max_client_buffer=max_client_buffer,
                    drop_grace=drop_grace)
    rest = RestApi(hub, build_routes(list(hub.providers)), scrub, cache,
                   token_required=token_required)

    async def process_request(conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        is_ws = path in WS_PATHS
        client = conn.remote_address[0] if conn.remote_address else "?"
        try:
            guard.check(request, client, rest=not is_ws)
            if is_ws and request.method != "GET":
                raise ApiError(405, "method_not_allowed", "only GET is served",
                               [("Allow", "GET")])
            if is_ws and "websocket" not in request.headers.get("Upgrade", "").lower():
                raise ApiError(426, "upgrade_required", "this is a WebSocket endpoint; "
                               "connect with a WebSocket client", [("Upgrade", "websocket")])
        except ApiError as exc:
            if exc.status in (401, 403):
                log.info("refused %s %s from %s: %s", request.method, path, client, exc.error)
            return error_response(exc)
        if is_ws:
            return None
        return await rest.handle(request)

    server = await serve(fanout.handler, cfg.host, cfg.port, process_request=process_request,
                         compression=None, max_size=MAX_FRAME, close_timeout=drop_grace,
                         server_header=f"cryptohub-desktop/{__version__}",
                         backlog=1024)  # a reconnect storm after a restart gets in at once
    hub.server_clients = lambda: len(fanout.clients)
    port = next(iter(server.sockets)).getsockname()[1]
    log.info("local server on %s:%d (%s)", cfg.host, port,
             "token required" if token_required else "loopback only")
    return ServerHandle(server, port, fanout, cache, token_required, hub)
