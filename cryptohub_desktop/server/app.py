"""Starts the websockets server that answers REST GETs and WebSocket upgrades."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from cryptohub_desktop.config import ServerConfig
from cryptohub_desktop.hub import Hub
from cryptohub_desktop.timeutil import iso, utcnow


def json_response(status: int, body: Any) -> Response:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                       ("Cache-Control", "no-store")])
    return Response(status, HTTPStatus(status).phrase, headers, data)


@dataclass
class ServerHandle:
    server: Server
    port: int

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_server(hub: Hub, cfg: ServerConfig) -> ServerHandle:
    async def process_request(conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?")[0]
        if path == "/health":
            return json_response(200, {"status": "healthy", "timestamp": iso(utcnow())})
        if path.startswith("/ws/"):
            return None
        return json_response(404, {"error": "not_found", "detail": f"no such path: {path}"})

    async def handler(conn: ServerConnection) -> None:
        await conn.close()

    server = await serve(handler, cfg.host, cfg.port, process_request=process_request)
    port = next(iter(server.sockets)).getsockname()[1]
    return ServerHandle(server, port)
