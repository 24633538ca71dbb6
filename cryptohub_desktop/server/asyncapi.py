"""The AsyncAPI 3.0 document of the local server's WebSocket side (SPEC section 8).

``/asyncapi.json`` serves :func:`build_asyncapi`, beside ``/openapi.json``; ``/docs``
renders both. It describes the server as the application: it *receives* subscribe,
unsubscribe and ping, and *sends* the replies, one snapshot and then every update of
each service. Every payload has a JSON Schema: snapshots share the REST answers'
schemas (``schemas.py``), updates and the small messages are in ``ws_schemas.py``.
The test suite validates every WebSocket message it receives against these schemas.

Example::

    doc = build_asyncapi(token_required=False)
    doc["components"]["messages"]["market_data_update"]["payload"]
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop import __version__
from cryptohub_desktop.core.topics import TOPICS
from cryptohub_desktop.server.schemas import SCHEMAS
from cryptohub_desktop.server.ws_schemas import SERVICES, WS_SCHEMAS, envelope

DESCRIPTION = """\
Live updates of Crypto Hub Desktop over WebSocket. Connect to `/ws/master` and send
`{"action": "subscribe", "service": "<name>"}` (also `unsubscribe`, `ping`). The server
answers `subscribed`, then at once a `snapshot` of the service's state (the shape of its
REST answer), then every `update`. `market_data` also takes `"symbols": ["BTC"]`: the
snapshot then holds those symbols only; updates are the same for every subscriber.
Subscribing to `all` gives one snapshot per service, then every update.

Dedicated paths subscribe on connect: `/ws/market-data`, `/ws/whale-tracking`,
`/ws/news`, `/ws/sentiment`. An update of a collection is `{provider, category,
records, counts}`; a `market_data` update also carries the consensus after the write
of each symbol it touched, and each price record's `outlier` flag.

Messages are JSON text up to 64 KiB, at most 20 per second (bursts of 40). Bad input
gets `{"type": "error", "error": "<code>", "detail": "..."}` and the connection stays
usable; a flood is closed with 1008, a frame over 1 MiB with 1009, and a client more
than 1 MiB behind on updates is dropped with 1013.
"""

SERVICE_LIST = [*TOPICS, "all"]
DEDICATED = {"market_data": ("marketData", "/ws/market-data"),
             "whale_tracking": ("whaleTracking", "/ws/whale-tracking"),
             "news": ("news", "/ws/news"), "sentiment": ("sentiment", "/ws/sentiment")}
COMMON = {"subscribe": "Subscribe", "unsubscribe": "Unsubscribe", "ping": "Ping",
          "hello": "Hello", "action": "Action",
          "subscribed": "Subscribed", "unsubscribed": "Unsubscribed", "pong": "Pong",
          "hello_reply": "HelloReply", "result": "ActionResult", "error": "WsError"}
SUMMARIES = {"subscribe": "Subscribe to a service (market_data: optionally some symbols)",
             "unsubscribe": "Stop the updates of a service", "ping": "Ask for a pong",
             "subscribed": "The subscription is in place; the snapshot follows",
             "unsubscribed": "No more updates of the service", "pong": "The answer to ping",
             "hello": "Ask who the hub is and what this connection may do",
             "hello_reply": "The hub's version and instance, and whether this token may act",
             "action": "Ask the hub to do something (the full token needed to change)",
             "result": "The typed answer to an action",
             "error": "Bad input; the connection stays usable"}
EXAMPLES: dict[str, list[dict[str, Any]]] = {"subscribe": [{"action": "subscribe", "service": "market_data"},
                          {"action": "subscribe", "service": "market_data",
                           "symbols": ["BTC", "ETH"]}],
            "ping": [{"action": "ping"}],
            "action": [{"action": "collect_now", "id": 7, "provider": "coingecko"}],
            "result": [{"type": "result", "id": 7, "action": "collect_now", "ok": True,
                        "message": "coingecko: success, 5 records in 312 ms",
                        "data": {"provider": "coingecko", "status": "success"}}],
            "error": [{"type": "error", "error": "unknown_service",
                       "detail": "service must be one of market_data, ..."}]}


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _messages() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, schema in COMMON.items():
        out[name] = {"name": name, "summary": SUMMARIES[name],
                     "payload": _ref(f"#/components/schemas/{schema}")}
        if name in EXAMPLES:
            out[name]["examples"] = [{"payload": p} for p in EXAMPLES[name]]
    for service in SERVICES:
        out[f"{service}_snapshot"] = {
            "name": f"{service}_snapshot", "summary": f"The state of {service}, sent once "
            "right after subscribed", "payload": _ref(f"#/components/schemas/"
                                                      f"{service}_snapshot")}
        out[f"{service}_update"] = {
            "name": f"{service}_update", "summary": f"A change of {service}",
            "payload": _ref(f"#/components/schemas/{service}_update")}
    return out


def _channel_messages(services: list[str]) -> dict[str, Any]:
    msgs = {name: _ref(f"#/components/messages/{name}") for name in COMMON}
    for s in services:
        for kind in ("snapshot", "update"):
            msgs[f"{s}_{kind}"] = _ref(f"#/components/messages/{s}_{kind}")
    return msgs


def _operations(channel: str, services: list[str]) -> dict[str, Any]:
    ch = _ref(f"#/channels/{channel}")
    ops: dict[str, Any] = {}
    if channel == "master":
        ops[f"{channel}Requests"] = {
            "action": "receive", "channel": ch, "summary": "What a client may send",
            "messages": [_ref(f"#/channels/{channel}/messages/{m}")
                         for m in ("subscribe", "unsubscribe", "ping", "hello", "action")]}
        ops[f"{channel}Replies"] = {
            "action": "send", "channel": ch, "summary": "Replies to the client's messages",
            "messages": [_ref(f"#/channels/{channel}/messages/{m}")
                         for m in ("subscribed", "unsubscribed", "pong", "hello_reply",
                                   "result", "error")]}
    for s in services:
        ops[f"{channel}_{s}"] = {
            "action": "send", "channel": ch, "summary": f"{s}: the snapshot, then every update",
            "messages": [_ref(f"#/channels/{channel}/messages/{s}_{kind}")
                         for kind in ("snapshot", "update")]}
    return ops


def build_asyncapi(*, token_required: bool) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the WebSocket endpoints.

    Args:
        token_required: the server needs the access token (non-loopback bind).
    """
    schemas: dict[str, Any] = {**SCHEMAS, **WS_SCHEMAS,
                               "Service": {"type": "string", "enum": SERVICE_LIST}}
    for service, (snapshot, _) in SERVICES.items():
        schemas[f"{service}_snapshot"] = envelope("snapshot", service, snapshot)
        schemas[f"{service}_update"] = envelope("update", service, SERVICES[service][1])
    channels: dict[str, Any] = {"master": {
        "address": "/ws/master", "title": "All services",
        "description": "Subscribe to any service (or `all`) by message.",
        "messages": _channel_messages(list(SERVICES))}}
    operations = _operations("master", list(SERVICES))
    for service, (name, path) in DEDICATED.items():
        channels[name] = {"address": path, "title": service,
                          "description": f"Subscribes to `{service}` on connect; the "
                                         "messages of /ws/master work here too.",
                          "messages": _channel_messages([service])}
        operations.update(_operations(name, [service]))
    server: dict[str, Any] = {"host": "127.0.0.1:7860", "protocol": "ws",
                              "description": "The configured [server] host and port"}
    components: dict[str, Any] = {"schemas": schemas, "messages": _messages()}
    if token_required:
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "The access token (non-loopback binds)"},
            "query_token": {"type": "httpApiKey", "in": "query", "name": "token"}}
        server["security"] = [_ref("#/components/securitySchemes/bearer"),
                              _ref("#/components/securitySchemes/query_token")]
    return {"asyncapi": "3.0.0",
            "info": {"title": "Crypto Hub Desktop local WebSocket API", "version": __version__,
                     "description": DESCRIPTION},
            "defaultContentType": "application/json",
            "servers": {"local": server},
            "channels": channels, "operations": operations, "components": components}
