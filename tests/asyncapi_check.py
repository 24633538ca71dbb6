"""Validate WebSocket messages against the AsyncAPI document's schemas.

Every WebSocket message a test receives goes through :func:`check_message` (the WS
tests' ``recv`` helpers call it): it picks the message's schema from its ``type`` and
``service`` and raises ``AssertionError`` naming the first mismatch.

Example::

    msg = check_message(json.loads(await ws.recv()))
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft7Validator

from cryptohub_desktop.server.asyncapi import build_asyncapi

SMALL = {"subscribed": "Subscribed", "unsubscribed": "Unsubscribed", "pong": "Pong",
         "hello": "HelloReply", "result": "ActionResult",
         "error": "WsError"}


@cache
def _document() -> dict[str, Any]:
    return build_asyncapi(token_required=False)


@cache
def validator(schema_name: str) -> Draft7Validator:
    """A validator of ``#/components/schemas/<schema_name>`` that resolves the
    document's own references."""
    doc = _document()
    return Draft7Validator({"$ref": f"#/components/schemas/{schema_name}",
                            "components": doc["components"]})


def schema_for(msg: dict[str, Any]) -> str:
    """The name of the schema a server message must match."""
    kind = msg.get("type")
    if kind in SMALL:
        return SMALL[kind]
    if kind in ("snapshot", "update"):
        return f"{msg.get('service')}_{kind}"
    raise AssertionError(f"no message of type {kind!r} in the AsyncAPI document: {msg}")


def check_message(msg: Any) -> Any:
    """``msg`` (a decoded server message, or its JSON text) if it matches its schema.

    Raises:
        AssertionError: the message matches no schema of the document.
    """
    if isinstance(msg, str | bytes):
        msg = json.loads(msg)
    assert isinstance(msg, dict), f"a WebSocket message must be a JSON object: {msg!r}"
    name = schema_for(msg)
    assert name in _document()["components"]["schemas"], f"no schema {name} for {msg}"
    errors = sorted(validator(name).iter_errors(msg), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path)
        raise AssertionError(f"{name}: {e.message} at /{where} "
                             f"({len(errors)} error(s)) in {json.dumps(msg)[:500]}")
    return msg


def check_client_message(msg: dict[str, Any]) -> dict[str, Any]:
    """``msg`` if it is a client message the document describes (subscribe ...)."""
    name = {"subscribe": "Subscribe", "unsubscribe": "Unsubscribe", "ping": "Ping"}[
        msg["action"]]
    errors = list(validator(name).iter_errors(msg))
    assert not errors, f"{name}: {errors[0].message} in {msg}"
    return msg


def market_update(**extra: Any) -> dict[str, Any]:
    """A ``market_data`` update payload as the runner publishes it (no records), with
    ``extra`` fields: what tests publish on the bus to drive the fan-out."""
    return {"provider": "coingecko", "category": "market_data", "records": [], "counts": {},
            "consensus": [], "outliers": [], **extra}
