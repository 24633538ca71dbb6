"""Versioned schema migrations (playhouse.migrate).

One set of steps for every backend. A new database gets the current schema
directly and is stamped with :data:`LATEST`. An existing database is upgraded
step by step from its recorded version; a database from before versioning
(tables but no ``schema_version``) is version 1. Each step runs in one
transaction and is recorded once. The store runs :func:`upgrade` under its
backend's migration lock (an advisory lock on PostgreSQL), so instances starting
at once on an empty database apply each step exactly once.

A step that adds an index creates it explicitly (:func:`add_indexes`): Peewee's
``create_tables`` is not relied on for indexes of a table that already exists.
What a step must say differently per engine (64-bit ids, text limits) it asks
the backend.

Versions:
    1. the original system's tables (SPEC section 6)
    2. market_prices.quote, .deviation_pct, .outlier (quote currency and consensus flags)
    3. notify_deliveries (alert delivery results per channel, engine.notify)
    4. 64-bit ids of ohlcv and market_prices, 8-byte floats everywhere,
       news_articles.url without a length limit (PostgreSQL, e.g. a database of the
       original system; SQLite's INTEGER and REAL are 64-bit and its text unlimited)
    5. team hub: hub_instance, provider_lease; data_collections.instance_id and
       UNIQUE(provider_id, scheduled_time)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from peewee import BooleanField, CharField, Database, FloatField, Model
from playhouse.migrate import SchemaMigrator, migrate

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.storage.backends import Backend
from cryptohub_desktop.storage.models import (
    ALL_MODELS,
    DataCollection,
    HubInstance,
    NotifyDelivery,
    ProviderLease,
    SchemaVersion,
)

Step = Callable[[Database, SchemaMigrator, Backend], None]

log = logging.getLogger("cryptohub.store")


def add_indexes(model: type[Model]) -> None:
    """Create every index ``model`` declares that is missing (``IF NOT EXISTS``)."""
    model._schema.create_indexes(safe=True)  # type: ignore[attr-defined]


def _v2(db: Database, m: SchemaMigrator, backend: Backend) -> None:
    have = {c.name for c in db.get_columns("market_prices")}
    ops = []
    if "quote" not in have:
        ops.append(m.add_column("market_prices", "quote", CharField(default="USD")))
    if "deviation_pct" not in have:
        ops.append(m.add_column("market_prices", "deviation_pct", FloatField(null=True)))
    if "outlier" not in have:
        ops.append(m.add_column("market_prices", "outlier", BooleanField(default=False)))
    migrate(*ops)


def _v3(db: Database, m: SchemaMigrator, backend: Backend) -> None:
    db.create_tables([NotifyDelivery])  # safe: kept if present; peewee DDL, any backend
    add_indexes(NotifyDelivery)


def _v4(db: Database, m: SchemaMigrator, backend: Backend) -> None:
    backend.widen_ids(db, ["ohlcv", "market_prices"])
    backend.widen_floats(db, [m._meta.table_name for m in ALL_MODELS])
    backend.widen_text(db, "news_articles", "url")


def _v5(db: Database, m: SchemaMigrator, backend: Backend) -> None:
    db.create_tables([HubInstance, ProviderLease])
    if "instance_id" not in {c.name for c in db.get_columns("data_collections")}:
        migrate(m.add_column("data_collections", "instance_id", CharField(null=True)))
    # a slot stored twice (before v5) keeps its first row, then the unique index
    db.execute_sql(
        'DELETE FROM "data_collections" WHERE "scheduled_time" IS NOT NULL AND "id" NOT IN '
        '(SELECT MIN("id") FROM "data_collections" WHERE "scheduled_time" IS NOT NULL '
        'GROUP BY "provider_id", "scheduled_time")')
    add_indexes(DataCollection)
    add_indexes(HubInstance)


STEPS: list[tuple[int, str, Step]] = [
    (2, "market_prices quote currency and consensus flags", _v2),
    (3, "notify_deliveries: alert delivery results per channel", _v3),
    (4, "64-bit ids of ohlcv and market_prices, 8-byte floats, news url without limit", _v4),
    (5, "team hub: hub_instance, provider_lease, data_collections.instance_id, one row per "
        "scheduled slot", _v5),
]
LATEST = 5


def current_version(db: Database) -> int:
    """The schema version of ``db``: 0 = empty, 1 = unversioned original tables."""
    tables = set(db.get_tables())
    if "schema_version" in tables:
        row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
        return row.version if row else 1
    return 1 if "providers" in tables else 0


def upgrade(db: Database, backend: Backend) -> int:
    """Bring ``db`` to :data:`LATEST`; returns the version it had before. The caller
    holds ``backend.migration_lock(db)``."""
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
            step(db, migrator, backend)
            SchemaVersion.create(version=version, description=description,
                                 applied_at=to_db(utcnow()))
        log.info("database upgraded to schema v%d: %s", version, description)
    # tables added since (create_tables is safe: existing ones are kept)
    db.create_tables(ALL_MODELS)
    return before
