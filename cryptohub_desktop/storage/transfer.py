"""``db migrate``: copy every table from one database to another (SQLite and
PostgreSQL, either direction).

How it works:

- The **target** is claimed first (:meth:`Backend.claim`): on SQLite an exclusive
  ``flock`` of ``<database>.lock``, on PostgreSQL the exclusive side of the advisory
  lock every running store holds shared. So it refuses while a hub (or any store)
  has the target open, and a hub cannot open it while the copy runs. The target is
  created or upgraded to the current schema.
- The **source** is read, not written: a running hub may keep using it. It is read
  inside one snapshot (a read transaction; REPEATABLE READ on PostgreSQL), so the
  copy is one consistent moment of every table. Its schema must be current (open it
  once with this version to upgrade it).
- Rows are copied in batches (one transaction each) **with their ids**, and a row
  whose id or other unique key the target already holds is skipped: a second run
  adds nothing, and an interrupted run can simply be started again. On PostgreSQL
  the id sequences are moved past the copied ids afterwards.
- ``schema_version`` is not copied: it is the target's own history.

Typical use::

    result = transfer("sqlite:////data/api_monitor.db",
                      "postgresql://hub@db.internal/cryptohub", progress=bar)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import peewee

from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.backends import Backend, backend_for, resolve_url
from cryptohub_desktop.storage.models import ALL_MODELS, CLUSTER, SchemaVersion, database

#: the tables copied, in this order
#: every table but the schema's version and a team hub's live membership and leases
COPIED: list[type[peewee.Model]] = [m for m in ALL_MODELS
                                    if m is not SchemaVersion and m not in CLUSTER]
BATCH = 5000
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TableCopy:
    """What happened to one table.

    Attributes:
        source: rows in the source.
        before, after: rows in the target before and after the copy.
        copied: rows the copy added (``after - before`` unless others wrote meanwhile).
    """

    table: str
    source: int
    before: int
    copied: int
    after: int


def transfer(source_url: str, target_url: str, *,
             secret: Callable[[str], str | None] | None = None, batch: int = BATCH,
             progress: Progress | None = None) -> list[TableCopy]:
    """Copy every table of ``source_url`` into ``target_url``; returns a row count per
    table. Idempotent. Uses the process's model binding: run it on its own (the CLI).

    Args:
        secret: fills ``{ENTRY}`` placeholders of either URL (``Secrets.get``).
        progress: called with (rows done, rows in all, table) as batches land.

    Raises:
        StoreError: either database cannot be opened, the source is not a current Crypto
            Hub database, or both URLs name the same database.
        StoreLocked: a running hub uses the target.
    """
    src_b = backend_for(resolve_url(source_url, secret))
    dst_b = backend_for(resolve_url(target_url, secret))
    if src_b.identity() == dst_b.identity():
        raise StoreError("--from and --to name the same database")
    if not src_b.exists():
        raise StoreError(f"there is no database at {src_b.display_url}")
    with dst_b.claim():
        src = src_b.connect(in_use=False)
        try:
            version = _version(src)
            if version != migrations.LATEST:
                raise StoreError(
                    f"{src_b.display_url} has schema v{version}, this version writes "
                    f"v{migrations.LATEST}: open it once with this version first (e.g. "
                    "cryptohub-desktop check) so it is upgraded" if version else
                    f"{src_b.display_url} holds no Crypto Hub tables")
            dst = dst_b.connect(in_use=False)
            try:
                database.initialize(dst)
                with dst_b.migration_lock(dst):
                    migrations.upgrade(dst, dst_b)
                return _copy_all(src, src_b, dst, dst_b, batch, progress)
            finally:
                _close(dst, dst_b)
        except (peewee.PeeweeException, OSError) as exc:
            raise src_b.translate(exc, "db migrate failed") from exc
        finally:
            _close(src, src_b)


def _copy_all(src: peewee.Database, src_b: Backend, dst: peewee.Database, dst_b: Backend,
              batch: int, progress: Progress | None) -> list[TableCopy]:
    out = []
    with src_b.snapshot(src):
        totals = {m: _count(src, m) for m in COPIED}
        grand, done = sum(totals.values()), 0
        for model in COPIED:
            table = model._meta.table_name
            before = _count(dst, model)
            copied = 0
            columns = [f.column_name for f in model._meta.sorted_fields]
            for rows in _batches(src, model, batch):
                try:
                    with dst.atomic():
                        copied += dst_b.insert_rows(dst, table, columns, rows)
                except (peewee.PeeweeException, OSError) as exc:
                    raise dst_b.translate(exc, f"copying {table} failed") from exc
                done += len(rows)
                if progress:
                    progress(done, grand, table)
            key: Any = model._meta.primary_key
            dst_b.after_copy(dst, table, key.column_name)
            out.append(TableCopy(table, totals[model], before, copied, _count(dst, model)))
    if progress and grand == 0:
        progress(0, 0, "")
    return out


def _batches(db: peewee.Database, model: type[peewee.Model],
             size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``model``'s table in primary-key order, ``size`` at a time, each
    value as Python sees it (datetimes, booleans) whatever the engine stored."""
    fields = model._meta.sorted_fields
    pk: Any = model._meta.primary_key
    key = pk.column_name
    cols = ",".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    last: Any = None
    while True:
        where = f' WHERE "{key}" > {db.param}' if last is not None else ""
        sql = f'SELECT {cols} FROM "{table}"{where} ORDER BY "{key}" LIMIT {int(size)}'
        raw = db.execute_sql(sql, [last] if last is not None else []).fetchall()
        if not raw:
            return
        rows = [tuple(f.python_value(v) for f, v in zip(fields, r, strict=True)) for r in raw]
        last = raw[-1][[f.column_name for f in fields].index(key)]
        yield rows
        if len(raw) < size:
            return


def _count(db: peewee.Database, model: type[peewee.Model]) -> int:
    row = db.execute_sql(f'SELECT COUNT(*) FROM "{model._meta.table_name}"').fetchone()
    return int(row[0]) if row else 0


def _version(db: peewee.Database) -> int:
    """The schema version of ``db`` read without the models (0: no tables)."""
    tables = set(db.get_tables())
    if "schema_version" in tables:
        row = db.execute_sql('SELECT MAX("version") FROM "schema_version"').fetchone()
        return int(row[0]) if row and row[0] is not None else 1
    return 1 if "providers" in tables else 0


def _close(db: peewee.Database, backend: Backend) -> None:
    try:
        if not db.is_closed():
            db.close()
    except peewee.PeeweeException:
        pass
    backend.dispose(db)
