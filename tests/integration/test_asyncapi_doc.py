"""The AsyncAPI document the server publishes is a valid AsyncAPI 3.0.0 document and
describes a snapshot and an update for every service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from cryptohub_desktop.core.topics import TOPICS
from cryptohub_desktop.server.asyncapi import build_asyncapi

SPEC = Path(__file__).parents[1] / "fixtures" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.mark.parametrize("token_required", [False, True])
def test_document_is_valid_asyncapi_3(token_required):
    """/asyncapi.json passes the official AsyncAPI 3.0.0 JSON Schema (with and without
    the token's security schemes)."""
    doc = json.loads(json.dumps(build_asyncapi(token_required=token_required)))
    errors = list(Draft7Validator(json.loads(SPEC.read_text())).iter_errors(doc))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                        for e in errors[:5]]


def test_every_service_has_a_snapshot_and_an_update_with_a_schema():
    """Each service's snapshot and update message is on /ws/master with a payload schema
    whose data is described (never an empty object)."""
    doc = build_asyncapi(token_required=False)
    master = doc["channels"]["master"]["messages"]
    schemas = doc["components"]["schemas"]
    for service in TOPICS:
        for kind in ("snapshot", "update"):
            assert f"{service}_{kind}" in master
            payload = schemas[f"{service}_{kind}"]
            data = payload["properties"]["data"]["$ref"].rsplit("/", 1)[1]
            assert schemas[data].get("properties") or schemas[data].get("oneOf") or \
                schemas[data].get("additionalProperties"), (service, kind)
    assert doc["channels"]["marketData"]["address"] == "/ws/market-data"
