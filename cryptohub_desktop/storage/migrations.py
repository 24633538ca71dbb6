"""Versioned schema migrations (playhouse.migrate).

A new database gets the current schema directly and is stamped with
:data:`LATEST`. An existing database is upgraded step by step from its recorded
version; a database from before versioning (tables but no ``schema_version``)
is version 1. Each step runs in one transaction and is recorded.

Versions:
    1. the original system's tables (SPEC section 6)
    2. market_prices.quote, .deviation_pct, .outlier (quote currency and consensus flags)
    3. notify_deliveries (alert delivery results per channel, engine.notify)
    4. team hub: hub_instance, provider_lease; data_collections.instance_id and
       UNIQUE(provider_id, scheduled_time)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from peewee import BooleanField, CharField, Database, FloatField
from playhouse.migrate import SchemaMigrator, migrate

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.storage.models import (
    ALL_MODELS,
    HubInstance,
    NotifyDelivery,
    ProviderLease,
    SchemaVersion,
)

log = logging.getLogger("cryptohub.store")


def _v2(db: Database, m: SchemaMigrator) -> None:
    have = {c.name for c in db.get_columns("market_prices")}
    ops = []
    if "quote" not in have:
        ops.append(m.add_column("market_prices", "quote", CharField(default="USD")))
    if "deviation_pct" not in have:
        ops.append(m.add_column("market_prices", "deviation_pct", FloatField(null=True)))
    if "outlier" not in have:
        ops.append(m.add_column("market_prices", "outlier", BooleanField(default=False)))
    migrate(*ops)


def _v3(db: Database, m: SchemaMigrator) -> None:
    db.create_tables([NotifyDelivery])  # safe: kept if present; peewee DDL, any backend


def _v4(db: Database, m: SchemaMigrator) -> None:
    db.create_tables([HubInstance, ProviderLease])
    if "instance_id" not in {c.name for c in db.get_columns("data_collections")}:
        migrate(m.add_column("data_collections", "instance_id", CharField(null=True)))
    indexes = {i.name for i in db.get_indexes("data_collections")}
    if "data_collections_provider_id_scheduled_time" not in indexes:
        # a slot stored twice (before v4) keeps its first row
        db.execute_sql(
            'DELETE FROM "data_collections" WHERE "scheduled_time" IS NOT NULL AND "id" NOT IN '
            '(SELECT MIN("id") FROM "data_collections" WHERE "scheduled_time" IS NOT NULL '
            'GROUP BY "provider_id", "scheduled_time")')
        migrate(m.add_index("data_collections", ("provider_id", "scheduled_time"), True))


STEPS: list[tuple[int, str, Callable[[Database, SchemaMigrator], None]]] = [
    (2, "market_prices quote currency and consensus flags", _v2),
    (3, "notify_deliveries: alert delivery results per channel", _v3),
    (4, "team hub: hub_instance, provider_lease, data_collections.instance_id, one row per "
        "scheduled slot", _v4),
]
LATEST = 4


def current_version(db: Database) -> int:
    """The schema version of ``db``: 0 = empty, 1 = unversioned original tables."""
    tables = set(db.get_tables())
    if "schema_version" in tables:
        row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
        return row.version if row else 1
    return 1 if "providers" in tables else 0


def upgrade(db: Database) -> int:
    """Bring ``db`` to :data:`LATEST`; returns the version it had before."""
    before = current_version(db)
    if before > LATEST:
        raise StoreError(f"database schema v{before} is newer than this app (v{LATEST}); "
                         "update Crypto Hub Desktop")
    migrator = SchemaMigrator.from_database(db)
    with db.atomic():
        if before == 0:
            db.create_tables(ALL_MODELS)
            SchemaVersion.create(version=LATEST, description="new database",
                                 applied_at=to_db(utcnow()))
            return 0
        db.create_tables([SchemaVersion])
        if before == 1 and not SchemaVersion.select().exists():
            SchemaVersion.create(version=1, description="original schema",
                                 applied_at=to_db(utcnow()))
    for version, description, step in STEPS:
        if version <= before:
            continue
        with db.atomic():
            step(db, migrator)
            SchemaVersion.create(version=version, description=description,
                                 applied_at=to_db(utcnow()))
        log.info("database upgraded to schema v%d: %s", version, description)
    # tables added since (create_tables is safe: existing ones are kept)
    db.create_tables(ALL_MODELS)
    return before
