"""Peewee models of every table in SPEC section 6.

The database is a :class:`peewee.DatabaseProxy` initialised by the store, so a
test hands in its own temporary database. Table names follow the original
system (``providers``, ``data_collections``, ``market_prices`` ...). Datetimes
are stored as naive UTC. The same models serve SQLite and PostgreSQL: the ids of
the two big tables are 64-bit (``BIGSERIAL`` on PostgreSQL; SQLite's INTEGER is
64-bit anyway), and text that can be long (a news URL) has no length limit.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    IntegerField,
    Model,
    TextField,
)

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


# --- monitoring --------------------------------------------------------------------


class ProviderRow(BaseModel):
    id = CharField(primary_key=True)
    name = CharField()
    category = CharField(index=True)
    base_url = TextField()
    docs_url = TextField(default="")
    requires_key = BooleanField(default=False)
    key_configured = BooleanField(default=False)
    enabled = BooleanField(default=True)
    priority_tier = IntegerField(default=2)
    pool = CharField(default="")
    rate_limit = CharField(default="")
    status = CharField(default="unknown")
    response_time_ms = FloatField(null=True)
    success_rate = FloatField(null=True)
    consecutive_failures = IntegerField(default=0)
    last_check = DateTimeField(null=True)
    last_success = DateTimeField(null=True)
    last_data_time = DateTimeField(null=True)
    updated_at = DateTimeField(null=True)

    class Meta:
        table_name = "providers"


class ConnectionAttempt(BaseModel):
    id = AutoField()
    provider_id = CharField(index=True)
    timestamp = DateTimeField(index=True)
    endpoint = TextField(default="")
    status = CharField()  # success / failure
    response_time_ms = FloatField(null=True)
    http_status_code = IntegerField(null=True)
    error_type = CharField(null=True)
    error_message = TextField(null=True)
    payload_bytes = IntegerField(default=0)

    class Meta:
        table_name = "connection_attempts"


class DataCollection(BaseModel):
    id = AutoField()
    provider_id = CharField(index=True)
    category = CharField()
    scheduled_time = DateTimeField(null=True)
    actual_fetch_time = DateTimeField(index=True)
    data_timestamp = DateTimeField(null=True)
    staleness_minutes = FloatField(null=True)
    record_count = IntegerField(default=0)
    payload_size_bytes = IntegerField(default=0)
    on_schedule = BooleanField(default=True)
    status = CharField(default="success")
    error_type = CharField(null=True)
    duration_ms = FloatField(null=True)
    instance_id = CharField(null=True)  # schema v4: the team-hub instance that collected it

    class Meta:
        table_name = "data_collections"
        # schema v4: a scheduled slot is stored once (manual runs have no slot: NULL)
        indexes = ((("provider_id", "scheduled_time"), True),)


class RateLimitUsage(BaseModel):
    id = AutoField()
    provider_id = CharField(index=True)
    timestamp = DateTimeField(index=True)
    limit_type = CharField()
    limit_value = IntegerField()
    current_usage = IntegerField()
    percentage = FloatField()
    reset_time = DateTimeField(null=True)

    class Meta:
        table_name = "rate_limit_usage"


class ScheduleConfig(BaseModel):
    id = AutoField()
    provider_id = CharField(unique=True)
    schedule_interval = CharField()
    interval_seconds = IntegerField()
    enabled = BooleanField(default=True)
    last_run = DateTimeField(null=True)
    next_run = DateTimeField(null=True)
    on_time_count = IntegerField(default=0)
    late_count = IntegerField(default=0)
    skip_count = IntegerField(default=0)

    class Meta:
        table_name = "schedule_config"


class ScheduleCompliance(BaseModel):
    id = AutoField()
    provider_id = CharField(index=True)
    expected_time = DateTimeField()
    actual_time = DateTimeField(null=True)
    delay_seconds = FloatField(null=True)
    on_time = BooleanField(default=True)
    skip_reason = CharField(null=True)
    timestamp = DateTimeField(index=True)

    class Meta:
        table_name = "schedule_compliance"


class FailureLog(BaseModel):
    id = AutoField()
    provider_id = CharField(index=True)
    timestamp = DateTimeField(index=True)
    error_type = CharField(index=True)
    error_message = TextField(default="")
    http_status_code = IntegerField(null=True)
    endpoint = TextField(default="")
    retry_attempted = BooleanField(default=False)
    retry_result = CharField(null=True)

    class Meta:
        table_name = "failure_logs"


class Alert(BaseModel):
    id = AutoField()
    timestamp = DateTimeField(index=True)
    provider_id = CharField(null=True)
    alert_type = CharField()
    severity = CharField(default="warning")  # info / warning / critical
    message = TextField()
    acknowledged = BooleanField(default=False)
    acknowledged_at = DateTimeField(null=True)

    class Meta:
        table_name = "alerts"


class NotifyDelivery(BaseModel):
    """One message to one alert channel (engine.notify): delivered, or failed and why.

    ``url`` is the channel's masked URL and ``reason`` is masked: no channel secret is
    ever stored. ``repeats`` > 0 marks a summary of that many repeated alerts;
    ``kind`` is ``test`` for a test message.
    """

    id = AutoField()
    timestamp = DateTimeField(index=True)
    channel = CharField(index=True)
    url = TextField()
    alert_id = IntegerField(null=True, index=True)
    alert_type = CharField()
    kind = CharField()
    severity = CharField()
    status = CharField()  # delivered / failed
    attempts = IntegerField(default=1)
    reason = TextField(null=True)
    repeats = IntegerField(default=0)

    class Meta:
        table_name = "notify_deliveries"


class SystemMetric(BaseModel):
    id = AutoField()
    timestamp = DateTimeField(index=True)
    total_providers = IntegerField()
    online_count = IntegerField()
    degraded_count = IntegerField()
    offline_count = IntegerField()
    avg_response_time_ms = FloatField(null=True)
    total_requests_hour = IntegerField(default=0)
    failed_requests_hour = IntegerField(default=0)
    system_health = CharField(default="healthy")
    db_size_bytes = BigIntegerField(default=0)
    memory_rss_mb = FloatField(null=True)

    class Meta:
        table_name = "system_metrics"


class SourcePool(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    category = CharField()
    strategy = CharField(default="priority")  # round_robin / priority / least_used
    enabled = BooleanField(default=True)

    class Meta:
        table_name = "source_pools"


class PoolMember(BaseModel):
    id = AutoField()
    pool_name = CharField(index=True)
    provider_id = CharField()
    priority = IntegerField(default=0)  # order in the pool, 0 first
    enabled = BooleanField(default=True)
    use_count = IntegerField(default=0)
    success_count = IntegerField(default=0)
    failure_count = IntegerField(default=0)
    last_used = DateTimeField(null=True)

    class Meta:
        table_name = "pool_members"
        indexes = ((("pool_name", "provider_id"), True),)


class RotationHistory(BaseModel):
    id = AutoField()
    pool_name = CharField(index=True)
    from_provider = CharField(null=True)
    to_provider = CharField(null=True)
    reason = CharField()
    timestamp = DateTimeField(index=True)

    class Meta:
        table_name = "rotation_history"


class RotationState(BaseModel):
    id = AutoField()
    pool_name = CharField(unique=True)
    current_provider = CharField(null=True)
    last_rotation = DateTimeField(null=True)
    rotation_count = IntegerField(default=0)

    class Meta:
        table_name = "rotation_state"


# --- data --------------------------------------------------------------------------


class MarketPrice(BaseModel):
    id = BigAutoField()  # schema v4 on PostgreSQL
    symbol = CharField()
    price_usd = FloatField()
    market_cap = FloatField(null=True)
    volume_24h = FloatField(null=True)
    price_change_24h = FloatField(null=True)
    timestamp = DateTimeField()
    source = CharField()
    quote = CharField(default="USD")  # schema v2
    deviation_pct = FloatField(null=True)  # schema v2: distance from consensus
    outlier = BooleanField(default=False)  # schema v2: beyond the consensus threshold

    class Meta:
        table_name = "market_prices"
        indexes = ((("symbol", "timestamp"), False), (("source", "symbol", "timestamp"), False))


class OHLCV(BaseModel):
    id = BigAutoField()  # schema v4 on PostgreSQL
    source = CharField()
    symbol = CharField()
    interval = CharField()
    open_time = DateTimeField()
    open = FloatField()
    high = FloatField()
    low = FloatField()
    close = FloatField()
    volume = FloatField()

    class Meta:
        table_name = "ohlcv"
        indexes = ((("source", "symbol", "interval", "open_time"), True),
                   (("symbol", "interval", "open_time"), False))


class NewsArticleRow(BaseModel):
    id = AutoField()
    title = TextField()
    content = TextField(default="")
    source = CharField(index=True)
    url = TextField(unique=True)  # schema v4: no 255-character limit on PostgreSQL
    published_at = DateTimeField(index=True)
    sentiment = CharField(null=True)
    sentiment_score = FloatField(null=True)
    tags = TextField(default="")
    collected_at = DateTimeField(null=True)

    class Meta:
        table_name = "news_articles"


class WhaleTransaction(BaseModel):
    id = AutoField()
    blockchain = CharField()
    transaction_hash = CharField()
    from_address = CharField(default="")
    to_address = CharField(default="")
    amount = FloatField()
    symbol = CharField()
    amount_usd = FloatField(null=True)
    timestamp = DateTimeField(index=True)
    source = CharField()

    class Meta:
        table_name = "whale_transactions"
        indexes = ((("blockchain", "transaction_hash"), True),)


class SentimentMetricRow(BaseModel):
    id = AutoField()
    metric_name = CharField()
    value = FloatField()
    classification = CharField(default="")
    timestamp = DateTimeField()
    source = CharField()

    class Meta:
        table_name = "sentiment_metrics"
        indexes = ((("metric_name", "timestamp"), False),)


class GasPriceRow(BaseModel):
    id = AutoField()
    blockchain = CharField()
    gas_price_gwei = FloatField(null=True)
    fast_gas_price = FloatField(null=True)
    standard_gas_price = FloatField(null=True)
    slow_gas_price = FloatField(null=True)
    timestamp = DateTimeField()
    source = CharField()

    class Meta:
        table_name = "gas_prices"
        indexes = ((("blockchain", "timestamp"), False),)


class BlockchainStat(BaseModel):
    id = AutoField()
    blockchain = CharField()
    latest_block = BigIntegerField(null=True)
    total_transactions = BigIntegerField(null=True)
    network_hashrate = FloatField(null=True)
    difficulty = FloatField(null=True)
    mempool_size = BigIntegerField(null=True)
    timestamp = DateTimeField()
    source = CharField()

    class Meta:
        table_name = "blockchain_stats"
        indexes = ((("blockchain", "timestamp"), False),)


class RpcNodeStatus(BaseModel):
    id = AutoField()
    provider = CharField()
    chain = CharField()
    block_height = BigIntegerField()
    lag_blocks = IntegerField(null=True)
    response_time_ms = FloatField(null=True)
    timestamp = DateTimeField()

    class Meta:
        table_name = "rpc_node_status"
        indexes = ((("chain", "timestamp"), False), (("provider", "timestamp"), False))


class OnchainMetricRow(BaseModel):
    id = AutoField()
    metric = CharField()
    chain = CharField()
    value = FloatField()
    timestamp = DateTimeField()
    source = CharField()

    class Meta:
        table_name = "onchain_metrics"
        indexes = ((("metric", "chain", "timestamp"), False),)


# --- team hub (SPEC section 13) -----------------------------------------------------


class HubInstance(BaseModel):
    """A running instance of a team hub, kept alive by its heartbeats."""

    id = CharField(primary_key=True)
    host = CharField()
    port = IntegerField()
    version = CharField()
    started_at = DateTimeField()
    heartbeat_at = DateTimeField(index=True)

    class Meta:
        table_name = "hub_instance"


class ProviderLease(BaseModel):
    """Who collects a provider now: ``owner`` until ``lease_until`` (the database's
    clock, naive UTC); ``epoch`` grows with every change of owner."""

    provider_id = CharField(primary_key=True)
    owner = CharField(null=True)
    epoch = BigIntegerField(default=0)
    lease_until = DateTimeField(null=True)

    class Meta:
        table_name = "provider_lease"


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    description = CharField()
    applied_at = DateTimeField()

    class Meta:
        table_name = "schema_version"


MONITORING = [ProviderRow, ConnectionAttempt, DataCollection, RateLimitUsage, ScheduleConfig,
              ScheduleCompliance, FailureLog, Alert, SystemMetric, SourcePool, PoolMember,
              RotationHistory, RotationState, NotifyDelivery]
DATA = [MarketPrice, OHLCV, NewsArticleRow, WhaleTransaction, SentimentMetricRow, GasPriceRow,
        BlockchainStat, RpcNodeStatus, OnchainMetricRow]
CLUSTER = [HubInstance, ProviderLease]
ALL_MODELS = [*MONITORING, *DATA, *CLUSTER, SchemaVersion]

#: record table name -> model
BY_TABLE = {m._meta.table_name: m for m in ALL_MODELS}

#: the unique key that identifies a stored row of the tables written with "insert
#: unless already stored" (the conflict target of their upserts)
UNIQUE_KEYS = {
    "news_articles": [NewsArticleRow.url],
    "whale_transactions": [WhaleTransaction.blockchain, WhaleTransaction.transaction_hash],
    "ohlcv": [OHLCV.source, OHLCV.symbol, OHLCV.interval, OHLCV.open_time],
}

#: tables that retention trims, with their time column
RETAINED = {
    ConnectionAttempt: "timestamp", DataCollection: "actual_fetch_time",
    RateLimitUsage: "timestamp", ScheduleCompliance: "timestamp", FailureLog: "timestamp",
    SystemMetric: "timestamp", RotationHistory: "timestamp", Alert: "timestamp",
    NotifyDelivery: "timestamp",
    MarketPrice: "timestamp", OHLCV: "open_time", NewsArticleRow: "published_at",
    WhaleTransaction: "timestamp", SentimentMetricRow: "timestamp", GasPriceRow: "timestamp",
    BlockchainStat: "timestamp", RpcNodeStatus: "timestamp", OnchainMetricRow: "timestamp",
}
