"""JSON Schemas (2020-12, as OpenAPI 3.1 uses) of every REST answer.

They describe exactly what ``snapshot.py`` returns; the schemathesis test checks
live answers against them. Helpers keep them short: ``obj(required props)``,
``arr(items)``, ``N(type)`` for a nullable value.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

TS: Schema = {"type": "string", "format": "date-time", "description": "UTC, ends in Z"}
TS_N: Schema = {"type": ["string", "null"], "format": "date-time"}
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}


def N(kind: str) -> Schema:  # noqa: N802 - reads like a type
    """A nullable value of JSON type ``kind``."""
    return {"type": [kind, "null"]}


def obj(**props: Schema) -> Schema:
    """An object that has every property of ``props`` (more are allowed)."""
    return {"type": "object", "required": list(props), "properties": props}


def arr(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


#: a provider's live stream (SPEC section 14); null when the provider has none
STREAM_STATE: Schema = {"oneOf": [{"type": "null"}, obj(
    state={"type": "string", "pattern": r"^(live|stale|connecting|off|rejected|stopped|"
           r"fallback \(REST\)|reconnecting \(\d+\))$",
           "description": "live / stale / reconnecting (n) / connecting / fallback (REST) / "
                          "rejected / off"},
    detail=STR)]}

PROVIDER_STATUS = {"type": "string",
                   "enum": ["online", "degraded", "offline", "empty", "idle", "unknown",
                            "needs_key", "disabled"],
                   "description": "empty: answered with no usable records; idle: had no "
                                  "input and asked nobody"}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(error={"type": "string", "description": "machine-readable code"},
                 detail={"type": "string", "description": "one line for a human"}),
    "Health": obj(status={"type": "string", "enum": ["healthy"]}, timestamp=TS,
                  degraded={**arr({"type": "string", "enum": ["redis", "leases"]}),
                            "description": "team hub parts that cannot be reached now"}),
    "Status": obj(
        status={"type": "string", "enum": ["healthy", "degraded", "unhealthy", "offline"],
                "description": "offline: this machine reaches no upstream host"},
        timestamp=TS,
        database={"type": "string", "enum": ["connected", "unavailable"]},
        total_providers=INT, online_providers=INT, degraded_providers=INT,
        offline_providers=INT, empty_providers=INT, idle_providers=INT,
        network=obj(online=BOOL, since=TS_N, detail=STR, unreachable_providers=arr(STR)),
        uptime_seconds=NUM,
        system_metrics=obj(total_providers=INT, online_count=INT, degraded_count=INT,
                           offline_count=INT, avg_response_time_ms=N("number"),
                           total_requests_hour=INT, failed_requests_hour=INT,
                           system_health=STR, db_size_bytes=INT, memory_rss_mb=N("number"),
                           server_clients=INT)),
    "Providers": obj(providers=arr(obj(
        id=STR, name=STR, category=STR, status=PROVIDER_STATUS,
        status_reason={**STR, "description": "why this status, one line (empty if online)"},
        response_time_ms=N("number"), success_rate={**N("number"), "description": "percent"},
        last_check=TS_N, last_success=TS_N, requires_key=BOOL, key_configured=BOOL,
        key_state={"type": "string", "enum": ["not_needed", "present", "missing"]},
        enabled=BOOL, consecutive_failures=INT, circuit_open=BOOL, pool=STR, tier=INT,
        docs_url=STR, stream=STREAM_STATE))),
    "RateLimits": obj(rate_limits=arr(obj(
        provider=STR, limit_type=STR, limit_value=INT, current_usage=INT, percentage=NUM,
        reset_time=TS_N, warning={**BOOL, "description": "true at >= 80%"}))),
    "Schedule": obj(schedule=arr(obj(
        provider=STR, name=STR, category=STR, interval=N("string"),
        interval_seconds=N("integer"), active=BOOL, last_run=TS_N, next_run=TS_N,
        on_time_count=INT, late_count=INT, skip_count=INT, on_time_percentage=N("number"),
        success_rate={**N("number"), "description": "recent runs that delivered data, %"},
        last_outcome={"type": ["string", "null"],
                      "enum": ["success", "failure", "empty", "idle", None]}))),
    "Freshness": {"type": "object", "description": "category -> provider name (or id with "
                  "?by=id) -> freshness; the entry holds the other key (id, or name)",
                  "additionalProperties": {"type": "object", "additionalProperties": {
                      **obj(staleness_minutes=N("number"),
                            status={"type": "string", "enum": ["fresh", "stale", "no_data"]}),
                      "properties": {"id": STR, "name": STR, "staleness_minutes": N("number"),
                                     "status": {"type": "string",
                                                "enum": ["fresh", "stale", "no_data"]}},
                      "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}}},
    "Failures": obj(
        failures=arr(obj(id=INT, provider=STR, timestamp=TS, error_type=STR,
                         error_message=N("string"), http_status_code=N("integer"),
                         endpoint=N("string"), retry_attempted=BOOL)),
        by_error_type={"type": "object", "additionalProperties": INT}, window_hours=INT),
    "Market": obj(
        timestamp=TS, max_age_seconds=INT, deviation_threshold_pct=NUM,
        market=arr(obj(
            symbol=STR, consensus_price=N("number"), source_count=INT, outliers=arr(STR),
            latest={"oneOf": [{"type": "null"}, obj(
                price=N("number"), source=STR, quote=STR, timestamp=TS,
                age_seconds=N("number"))],
                "description": "the newest stored price of any source and any age"},
            price_change_24h=N("number"), market_cap=N("number"), volume_24h=N("number"),
            sources=arr(obj(source=STR, price=N("number"), quote=STR, timestamp=TS,
                            age_seconds=N("number"), deviation_pct=N("number"),
                            outlier=BOOL,
                            via={"type": "string", "enum": ["stream", "rest"],
                                 "description": "stream: the exchange's live WebSocket"},
                            stale={**BOOL, "description": "true: its live stream went silent;"
                                   " the last known value, left out of the consensus"}))))),
    "History": obj(
        symbol=STR, interval=STR, source=N("string"), start=TS_N, end=TS_N, count=INT,
        history=arr(obj(source=STR, open_time=TS, open=N("number"), high=N("number"),
                        low=N("number"), close=N("number"), volume=N("number")))),
    "News": obj(count=INT, news=arr(obj(
        id=INT, title=STR, url=STR, source=STR, published_at=TS, sentiment=N("string"),
        sentiment_score=N("number"), tags=arr(STR), summary=STR))),
    "Sentiment": obj(
        timestamp=TS,
        fear_greed={"oneOf": [{"type": "null"}, obj(value=N("number"), classification=STR,
                                                     timestamp=TS, source=STR)]},
        text=obj(model=N("string"),
                 metrics=arr(obj(metric_name=STR, value=N("number"), classification=STR,
                                 timestamp=TS, source=STR)),
                 headlines=obj(positive=INT, negative=INT, neutral=INT, count=INT,
                               average_score=N("number"), window_hours=INT))),
    "Whales": obj(count=INT, whales=arr(obj(
        blockchain=STR, transaction_hash=STR, from_address=STR, to_address=STR,
        amount=N("number"), symbol=STR, amount_usd=N("number"), timestamp=TS, source=STR))),
    "Gas": obj(gas=arr(obj(
        blockchain=STR, unit={"type": "string", "enum": ["gwei", "sat/vB"]},
        slow=N("number"), standard=N("number"), fast=N("number"), gas_price=N("number"),
        timestamp=TS, source=STR))),
    "Blocks": obj(
        blocks=arr(obj(chain=STR, highest_block=INT, nodes=arr(obj(
            provider=STR, block_height=INT, lag_blocks=INT, response_time_ms=N("number"),
            timestamp=TS)))),
        explorers=arr(obj(blockchain=STR, latest_block=N("integer"),
                          total_transactions=N("integer"), network_hashrate=N("number"),
                          difficulty=N("number"), mempool_size=N("integer"), timestamp=TS,
                          source=STR))),
    "Onchain": obj(onchain=arr(obj(metric=STR, chain=STR, value=N("number"), timestamp=TS,
                                   source=STR))),
    "Alerts": obj(alerts=arr(obj(
        id=INT, timestamp=TS, provider_id=N("string"), alert_type=STR,
        severity={"type": "string", "enum": ["info", "warning", "critical"]},
        message=STR, acknowledged=BOOL, acknowledged_at=TS_N,
        deliveries={**arr(obj(channel=STR, status={"type": "string",
                                                     "enum": ["delivered", "failed"]},
                                reason=N("string"), attempts=INT, timestamp=TS)),
                    "description": "what each alert channel did with it"})),
        channels={**arr(obj(name=STR, url={**STR, "description": "secrets masked"},
                            kinds=arr(STR), min_severity=STR, quiet_hours=N("string"),
                            status={"type": "string", "enum": ["unknown", "ok", "failed"]},
                            consecutive_failures=INT, last_delivery=TS_N,
                            last_error=N("string"))),
                  "description": "the [notify] channels and how their deliveries went"}),
    "Pools": obj(pools=arr(obj(
        name=STR, category=STR,
        strategy={"type": "string", "enum": ["priority", "round_robin", "least_used"]},
        current_provider=N("string"), rotation_count=INT,
        members=arr(obj(provider_id=STR, priority=INT, enabled=BOOL, healthy=BOOL,
                        status=PROVIDER_STATUS, use_count=INT, success_count=INT,
                        failure_count=INT, last_used=TS_N)),
        rotation_history=arr(obj(from_provider=N("string"), to_provider=N("string"),
                                 reason=STR, timestamp=TS))))),
    "Cluster": obj(enabled=BOOL, instance_id=STR, timestamp=TS,
                   instances=arr(obj(id=STR, host=STR, port=INT, version=STR,
                                     started_at=TS, heartbeat_at=TS,
                                     heartbeat_age_seconds=NUM)),
                   leases=arr(obj(provider=STR, owner=N("string"), epoch=INT,
                                  lease_until=TS_N))),
    "Chart": obj(symbol=STR, seconds=INT, end=TS_N,
                 series=arr(obj(source=STR, interval=STR, t=arr(NUM),
                                close=arr(N("number"))))),
    "PriceHistory": obj(hours=INT, series={"type": "object",
                                           "additionalProperties": arr(arr(N("number")))}),
    "ProviderActivity": obj(
        provider=STR,
        attempts=arr(obj(timestamp=TS, status=STR, response_time_ms=N("number"),
                         http_status_code=N("integer"), error_type=N("string"))),
        failures=arr(obj(timestamp=TS, error_type=STR, error_message=N("string"),
                         http_status_code=N("integer"), endpoint=N("string")))),
    "TextModel": {**obj(active_model=N("string")),
                  "description": "the model's status (more fields when loaded)"},
}
