"""JSON Schemas of every WebSocket message (SPEC section 8), for the AsyncAPI document.

Snapshots have the shape of the REST answer of their service (``schemas.py``);
updates are described here. An update of a collection is ``{provider, category,
records, counts}``, each record one of the normalized records of ``core.records``
with its table name in ``type``; the record schemas are derived from those
dataclasses, so a new field shows up here by itself. A ``market_data`` update also
carries the consensus after the write of every symbol it touched, and each of its
price records says whether it is an outlier.

The schemas keep to what JSON Schema draft-07 (AsyncAPI's schema format) and
2020-12 (OpenAPI 3.1) share.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Any

from cryptohub_desktop.core import records
from cryptohub_desktop.server.schemas import (
    BOOL,
    INT,
    NUM,
    SCHEMAS,
    STR,
    STREAM_STATE,
    TS,
    TS_N,
    N,
    Schema,
    arr,
    obj,
)

RECORD_TYPES = (records.Price, records.Candle, records.GasPrice, records.BlockStat,
                records.NewsArticle, records.WhaleTx, records.SentimentMetric,
                records.NodeStatus, records.OnchainMetric)
_JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}

#: service -> (snapshot schema name in ``schemas.SCHEMAS`` or here, update schema name)
SERVICES = {
    "market_data": ("Market", "MarketDataUpdate"),
    "explorers": ("ExplorersSnapshot", "CollectionUpdate"),
    "news": ("News", "CollectionUpdate"),
    "sentiment": ("Sentiment", "CollectionUpdate"),
    "whale_tracking": ("Whales", "CollectionUpdate"),
    "rpc_nodes": ("Blocks", "CollectionUpdate"),
    "onchain": ("Onchain", "CollectionUpdate"),
    "health_checker": ("HealthCheckerSnapshot", "HealthCheckerUpdate"),
    "scheduler": ("Schedule", "SchedulerUpdate"),
    "alerts": ("Alerts", "AlertUpdate"),
}


def _field_schema(hint: Any) -> Schema:
    args = typing.get_args(hint)
    nullable = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if base is datetime:
        return TS_N if nullable else TS
    kind = _JSON.get(base, "string")
    return N(kind) if nullable else {"type": kind}


def record_schema(cls: type) -> Schema:
    """The schema of ``{**as_dict(record), "type": TABLE}`` for a record class."""
    hints = typing.get_type_hints(cls)
    props = {f.name: _field_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    props["type"] = {"type": "string", "const": cls.TABLE}  # type: ignore[attr-defined]
    return {"type": "object", "required": ["type", *required], "properties": props,
            "description": f"a row of {cls.TABLE}"}  # type: ignore[attr-defined]


def _price_record() -> Schema:
    s = record_schema(records.Price)
    s["properties"] = {**s["properties"],
                       "outlier": {**BOOL, "description": "further than the deviation "
                                   "threshold from the consensus"},
                       "deviation_pct": {**N("number"), "description": "percent from the "
                                         "consensus; null when not in it (stale, other quote)"}}
    s["required"] = [*s["required"], "outlier", "deviation_pct"]
    return s


def _optional(schema: Schema, *names: str) -> Schema:
    """``schema`` with the properties ``names`` no longer required."""
    return {**schema, "required": [r for r in schema["required"] if r not in names]}


UPDATE_BASE = dict(provider={**STR, "description": "the provider id that collected it"},
                   category=STR,
                   counts={"type": "object", "additionalProperties": INT,
                           "description": "new rows per table"})
SEQ = {**INT, "minimum": 0,
       "description": "grows by exactly 1 per update of the service (across a whole team "
                      "hub); a jump means updates were missed: subscribe again for a fresh "
                      "snapshot. A snapshot carries the seq it reflects (0: none yet)"}
ENVELOPE_EXTRA = {
    "seq": SEQ,
    "origin": {**STR, "description": "the instance that published it (its instance_id)"},
}
ACTIONS = ["set_enabled", "collect_now", "collect_all", "acknowledge_alerts",
           "set_pool_strategy", "set_pool_order", "raise_alert", "backfill", "score_text"]

WS_SCHEMAS: dict[str, Schema] = {
    **{f"Record_{cls.TABLE}": record_schema(cls) for cls in RECORD_TYPES},
    "Record_market_prices": _price_record(),
    "CollectionUpdate": obj(
        **UPDATE_BASE,
        records=arr({"oneOf": [{"$ref": f"#/components/schemas/Record_{cls.TABLE}"}
                               for cls in RECORD_TYPES]})),
    "MarketDataUpdate": _optional(obj(
        **UPDATE_BASE,
        records=arr({"oneOf": [{"$ref": "#/components/schemas/Record_market_prices"},
                               {"$ref": "#/components/schemas/Record_ohlcv"}]}),
        consensus={**arr(obj(symbol=STR, consensus_price=N("number"), source_count=INT,
                             outliers={**arr(STR), "description": "sources flagged"})),
                   "description": "the consensus after this write of each symbol it touched"},
        outliers={**arr(obj(symbol=STR, source=STR, price=NUM, consensus=NUM,
                            deviation_pct=NUM)),
                  "description": "this provider's prices flagged as outliers"},
        via={"type": "string", "enum": ["stream"],
             "description": "present on a live stream's tick: published as it arrived "
                            "(stored at most once a second per source and symbol)"}),
        "outliers", "via"),
    "ExplorersSnapshot": obj(gas=SCHEMAS["Gas"]["properties"]["gas"],
                             explorers=SCHEMAS["Blocks"]["properties"]["explorers"]),
    "HealthCheckerSnapshot": obj(status={"$ref": "#/components/schemas/Status"},
                                 providers=SCHEMAS["Providers"]["properties"]["providers"]),
    "HealthCheckerUpdate": {"oneOf": [
        obj(event={"type": "string", "const": "status"}, provider=STR, old=STR, new=STR),
        obj(event={"type": "string", "const": "rotation"}, pool=STR, **{
            "from": N("string"), "to": N("string")}, reason=STR),
        obj(event={"type": "string", "const": "metrics"}, total_providers=INT,
            online_count=INT, degraded_count=INT, offline_count=INT, system_health=STR),
        obj(event={"type": "string", "const": "stream"}, provider=STR, stream=STREAM_STATE)]},
    "SchedulerUpdate": obj(provider=STR, expected=TS_N, actual=TS_N, on_time=BOOL,
                           delay_seconds=N("number"), skip_reason=N("string"),
                           on_time_percentage=N("number")),
    "AlertUpdate": obj(id=N("integer"), timestamp=TS, provider_id=N("string"),
                       alert_type=STR,
                       severity={"type": "string", "enum": ["info", "warning", "critical"]},
                       message=STR, acknowledged=BOOL),
    # --- client messages and the small server replies ------------------------------------
    "Subscribe": obj(action={"type": "string", "const": "subscribe"},
                     service={"$ref": "#/components/schemas/Service"}),
    "Unsubscribe": obj(action={"type": "string", "const": "unsubscribe"},
                       service={"$ref": "#/components/schemas/Service"}),
    "Ping": obj(action={"type": "string", "const": "ping"}),
    "Subscribed": obj(type={"type": "string", "const": "subscribed"},
                      service={"$ref": "#/components/schemas/Service"}),
    "Unsubscribed": obj(type={"type": "string", "const": "unsubscribed"},
                        service={"$ref": "#/components/schemas/Service"}),
    "Pong": obj(type={"type": "string", "const": "pong"}, timestamp=TS),
    "Hello": obj(action={"type": "string", "const": "hello"}),
    "HelloReply": obj(type={"type": "string", "const": "hello"}, version=STR,
                      instance_id=STR,
                      can_act={**BOOL, "description": "this connection's token may act"},
                      read_only_reason={**STR, "description": "why not, when it may not"}),
    "Action": {**obj(action={"type": "string", "enum": ACTIONS}),
               "description": "set_enabled {provider, enabled}; collect_now {provider}; "
                              "collect_all; acknowledge_alerts {alert_ids}; "
                              "set_pool_strategy {pool, strategy}; set_pool_order {pool, "
                              "order}; raise_alert {alert_type, severity, message}; "
                              "backfill {days, symbols?} (the hub fills the gaps of its "
                              "candles; the result comes when it is done); "
                              "score_text {text}. All but score_text need the full token; "
                              "an integer id is echoed in the result"},
    "ActionResult": obj(type={"type": "string", "const": "result"}, id=N("integer"),
                        action={"type": "string", "enum": ACTIONS}, ok=BOOL, message=STR,
                        data={"type": "object"}),
    "WsError": obj(type={"type": "string", "const": "error"},
                   error={"type": "string", "enum": [
                       "invalid_json", "invalid_message", "unknown_action", "unknown_service",
                       "message_too_large", "rate_limited", "internal_error",
                       "snapshot_failed"]},
                   detail=STR),
}
WS_SCHEMAS["Subscribe"]["properties"]["symbols"] = {
    **arr({"type": "string", "pattern": "^[A-Za-z0-9]{1,15}$"}), "minItems": 1, "maxItems": 50,
    "description": "market_data only: the snapshot holds these symbols (default: the "
                   "watchlist); updates are the same for every subscriber"}
WS_SCHEMAS["Subscribed"]["properties"]["symbols"] = {
    **arr(STR), "description": "the symbols asked for, upper case (when given)"}


def envelope(kind: str, service: str, data_schema: str) -> Schema:
    """A snapshot or update message of ``service`` whose ``data`` is ``data_schema``."""
    s = obj(type={"type": "string", "const": kind},
            service={"type": "string", "const": service}, timestamp=TS,
            data={"$ref": f"#/components/schemas/{data_schema}"})
    if kind == "update":
        s["properties"].update(ENVELOPE_EXTRA)
        s["required"] = [*s["required"], "seq", "origin"]
    else:
        s["properties"]["seq"] = SEQ
        s["required"] = [*s["required"], "seq"]
    return s

