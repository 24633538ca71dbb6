"""Throwaway databases for the tests: a SQLite file, or a PostgreSQL database of its own.

PostgreSQL databases are made on the server ``CRYPTOHUB_TEST_PG_ADMIN_URL`` names
(default ``postgresql://postgres@127.0.0.1:5432/postgres``, which ``scripts/services``
makes sure answers), one per test, named ``chd_t<pid>_<n>``, and dropped afterwards;
whatever a killed test session left behind is dropped at the next session's start.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

#: the backends the store, hub, REST and CLI tests run on (comma separated)
BACKENDS = [b.strip() for b in os.environ.get("CRYPTOHUB_TEST_BACKENDS",
                                              "sqlite,postgresql").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("CRYPTOHUB_TEST_PG_ADMIN_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "chd_t"


@dataclass
class TestDatabase:
    """One test's database.

    Attributes:
        backend: ``sqlite`` or ``postgresql``.
        url: what ``[database] url`` says.
        path: the SQLite file (None on PostgreSQL).
    """

    __test__ = False
    backend: str
    url: str
    path: Path | None = None

    @property
    def toml(self) -> str:
        """The ``[database]`` table that points a config at this database."""
        return f'[database]\nurl = "{self.url}"\n'

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` on a connection of its own (outside any store), committed; its
        rows, if it has any."""
        if self.path is not None:
            con = sqlite3.connect(self.path)
            try:
                rows = con.execute(sql).fetchall()
                con.commit()
                return rows
            finally:
                con.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description is not None else []

    def scalar(self, sql: str) -> Any:
        rows = self.query(sql)
        return rows[0][0] if rows else None


class PgServer:
    """Creates and drops the test session's PostgreSQL databases."""

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.params = conninfo_to_dict(admin_url)
        self._n = itertools.count(1)
        self.made: list[str] = []

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def check(self) -> str:
        """The server's version; raises psycopg.Error when it does not answer."""
        with self._admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def url_of(self, name: str) -> str:
        params = {**self.params, "dbname": name}
        host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
        auth = params.get("user", "postgres")
        if params.get("password"):
            auth += f":{params['password']}"
        return f"postgresql://{auth}@{host}:{port}/{name}"

    def create(self) -> str:
        """A new empty database; returns its name."""
        name = f"{PREFIX}{os.getpid()}_{next(self._n)}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    def drop_stale(self) -> None:
        """Drop test databases of test sessions that are no longer running."""
        with self._admin() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"])]
            for name in names:
                pid = name[len(PREFIX):].split("_")[0]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def dsn(self, name: str) -> str:
        return make_conninfo(self.url_of(name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
