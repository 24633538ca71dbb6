"""The OpenAPI 3.1 document of the local server, built in code from the route table.

``/openapi.json`` serves :func:`build_openapi`; ``/docs`` renders it offline.
WebSocket endpoints are not HTTP operations: they are described by the AsyncAPI
document (``asyncapi.py``, ``/asyncapi.json``), which ``x-websocket`` points to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptohub_desktop import __version__
from cryptohub_desktop.core.topics import TOPICS
from cryptohub_desktop.server.routes import Route
from cryptohub_desktop.server.schemas import SCHEMAS, ref

DESCRIPTION = """\
Read-only JSON API of Crypto Hub Desktop: the data it collects from 40+ providers and
the health of every provider. Timestamps are UTC ISO-8601 strings ending in `Z`.
Errors have the shape `{"error": "<code>", "detail": "<text>"}`. An empty optional
parameter (`?start=`) counts as not given; unknown parameters are ignored. Every answer
ends its connection (`Connection: close`); a pipelined second request is not read, so
send it again on a new connection. HEAD answers like GET without the body; a request
with a body gets 405 (400 for a GET), one in another HTTP version than 1.x gets 505,
and folded header lines get 400, all in the error shape. Data answers are cached
until the hub stores new data for them; `/api/status` is at most one second old.

Security: the server listens on 127.0.0.1 by default. A non-loopback bind requires the
access token (`Authorization: Bearer <token>` or `?token=<token>`). Requests carrying an
`Origin` outside the configured allow-list, or a `Host` that is not this machine, get
403. REST is rate limited per client address (429 with `Retry-After`).

WebSocket: connect to `/ws/master` and send `{"action": "subscribe", "service": "<name>"}`
(also `unsubscribe`, `ping`). The server answers `{"type": "subscribed"}`, then a
`{"type": "snapshot"}` of the service's state, then every `{"type": "update"}`.
Dedicated paths subscribe on connect: `/ws/market-data`, `/ws/whale-tracking`,
`/ws/news`, `/ws/sentiment`. Every message and its schema is in the AsyncAPI 3 document
at `/asyncapi.json` (rendered by `/docs` below the REST paths). Messages are
JSON text up to 64 KiB, at most 20 per second (bursts of 40); a flood is closed with
1008, and a client more than 1 MiB behind on updates is dropped with 1013.
"""

ERRORS = {
    "400": "Bad query parameter",
    "401": "Missing or wrong access token (non-loopback binds only)",
    "403": "Origin not allowed, or Host not this machine",
    "405": "Only GET and HEAD are served",
    "429": "Too many requests from this client; see Retry-After",
    "500": "Unexpected server error (logged with its traceback)",
    "503": "The database cannot be read now (e.g. the PostgreSQL server is away)",
}

WEBSOCKET = {
    "paths": {"/ws/master": None, "/ws/market-data": "market_data",
              "/ws/whale-tracking": "whale_tracking", "/ws/news": "news",
              "/ws/sentiment": "sentiment"},
    "services": [*TOPICS, "all"],
    "asyncapi": "/asyncapi.json",
    "client_messages": ["subscribe", "unsubscribe", "ping"],
    "server_messages": ["subscribed", "unsubscribed", "snapshot", "update", "pong", "error"],
    "error_codes": ["invalid_json", "invalid_message", "unknown_action", "unknown_service",
                    "message_too_large", "rate_limited", "internal_error", "snapshot_failed"],
    "close_codes": {"1008": "flooding past the abuse threshold",
                    "1009": "frame over 1 MiB",
                    "1013": "too slow: the client's send queue passed its bound"},
}


def _error_responses(codes: list[str]) -> dict[str, Any]:
    return {c: {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _operation(route: Route, token_required: bool) -> dict[str, Any]:
    codes = ["403", "405", "429", "500", "503"]
    if route.params:
        codes.insert(0, "400")
    if token_required:
        codes.insert(0, "401")
    op_id = route.path.strip("/").replace("api/", "").replace("-", "_").replace("/", "_")
    return {"summary": route.summary, "operationId": f"get_{op_id}", "tags": [route.tag],
            "parameters": [p.openapi() for p in route.params],
            "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": ref(route.schema)}}},
                **_error_responses(sorted(codes))}}


def _plain(summary: str, media: str, schema: dict[str, Any], token_required: bool,
           tag: str) -> dict[str, Any]:
    codes = ["403", "405", "429", "500"] + (["401"] if token_required else [])
    return {"get": {"summary": summary, "tags": [tag],
                    "operationId": "get_" + summary.split()[0].lower().strip("/"),
                    "responses": {"200": {"description": "OK",
                                          "content": {media: {"schema": schema}}},
                                  **_error_responses(sorted(codes))}}}


def build_openapi(routes: Mapping[str, Route], *, token_required: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``.

    Args:
        token_required: the server needs the access token (non-loopback bind); the
            document then declares it as the security requirement.
    """
    paths: dict[str, Any] = {path: {"get": _operation(r, token_required)}
                             for path, r in routes.items()}
    paths["/metrics"] = _plain("Metrics in the Prometheus text format", "text/plain",
                               {"type": "string"}, token_required, "monitoring")
    paths["/openapi.json"] = _plain("OpenAPI this document", "application/json",
                                    {"type": "object"}, token_required, "meta")
    paths["/asyncapi.json"] = _plain("AsyncAPI 3 document of the WebSocket messages",
                                     "application/json", {"type": "object"}, token_required,
                                     "meta")
    paths["/docs"] = _plain("Docs: this document rendered (works offline)", "text/html",
                            {"type": "string"}, token_required, "meta")
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Crypto Hub Desktop local API", "version": __version__,
                 "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": "monitoring", "description": "Provider health and the hub itself"},
                 {"name": "data", "description": "Collected market and chain data"},
                 {"name": "meta", "description": "This description"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {f"E{code}": {"description": text, "content": {
                "application/json": {"schema": ref("Error")}}} for code, text in ERRORS.items()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The access token (non-loopback binds)"},
                "query_token": {"type": "apiKey", "in": "query", "name": "token"}},
        },
        "x-websocket": WEBSOCKET,
    }
    if token_required:
        doc["security"] = [{"bearer": []}, {"query_token": []}]
    for code in ("401", "429"):
        header = "WWW-Authenticate" if code == "401" else "Retry-After"
        doc["components"]["responses"][f"E{code}"]["headers"] = {
            header: {"schema": {"type": "string"}}}
    return doc
