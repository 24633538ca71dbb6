"""Shared fixtures: the replay upstream, temporary data folders, a hub on a real database.

Database backends: a test marked ``@pytest.mark.backends`` (or a module with
``pytestmark = pytest.mark.backends``) that uses the ``database`` fixture, directly
or through ``make_hub``, runs once per backend in ``CRYPTOHUB_TEST_BACKENDS``
(default ``sqlite,postgresql``), each time on a database of its own (tests/dbs.py).
Tests of PostgreSQL alone are marked ``@pytest.mark.postgresql`` (left out when the
variable names no postgresql). Other tests run on SQLite. PostgreSQL is never
skipped: a server that does not answer fails those tests (``scripts/services``
starts one), and in CI (``CI=true``) leaving postgresql out is an error.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from cryptohub_desktop.config import Config, load_config
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.secrets import Secrets
from tests.dbs import BACKENDS, PgServer, TestDatabase
from tests.memkeyring import MemoryKeyring
from tests.replay import ReplayServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# a developer's own database must never be where the tests write (the `database` fixture
# says where they do)
os.environ.pop("CRYPTOHUB_DATABASE_URL", None)
#: multiply waits by this on slow machines (CRYPTOHUB_TEST_SLOW=3)
SLOW = float(os.environ.get("CRYPTOHUB_TEST_SLOW", "1"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends: run on every database backend in "
                            "CRYPTOHUB_TEST_BACKENDS (default sqlite,postgresql)")
    config.addinivalue_line("markers", "postgresql: a test of PostgreSQL alone")
    if os.environ.get("CI", "").lower() == "true" and "postgresql" not in BACKENDS:
        raise pytest.UsageError("CI must test PostgreSQL: CRYPTOHUB_TEST_BACKENDS leaves it out")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgresql"):
        metafunc.parametrize("database", ["postgresql"], indirect=True)
    elif metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize("database", BACKENDS, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "postgresql" in BACKENDS:
        return
    dropped = [i for i in items if i.get_closest_marker("postgresql")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not i.get_closest_marker("postgresql")]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server the test databases are made on (fails, never skips, when
    it does not answer)."""
    server = PgServer()
    try:
        server.check()
        server.drop_stale()
    except Exception as exc:  # noqa: BLE001 - any failure: the same clear message
        pytest.fail(f"PostgreSQL does not answer at {server.admin_url} ({exc}); run "
                    "scripts/services, or set CRYPTOHUB_TEST_BACKENDS=sqlite to test SQLite "
                    "only", pytrace=False)
    yield server
    for name in list(server.made):
        server.drop(name)


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """This test's own database: ``sqlite`` (the data folder's file) unless parametrized
    by the ``backends`` marker."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        path = tmp_path / "data" / "api_monitor.db"
        yield TestDatabase("sqlite", f"sqlite:///{path}", path)
        return
    if backend != "postgresql":
        raise ValueError(f"CRYPTOHUB_TEST_BACKENDS: unknown backend {backend!r}")
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create()
    yield TestDatabase("postgresql", server.url_of(name))
    server.drop(name)


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def config_for(tmp_path: Path, replay: ReplayServer | None, provider_ids: Sequence[str],
               extra: str = "", watchlist: Sequence[str] = ("BTC", "ETH", "BNB", "SOL", "XRP"),
               options: dict[str, str] | None = None,
               database: TestDatabase | None = None) -> Config:
    """A config whose providers point at the replay server (mounting their fixtures).

    Args:
        extra: TOML put first (top-level tables other than [providers.*]).
        options: provider id -> extra TOML lines for its [providers.ID] table.
        database: the database to use (default: SQLite in the data folder).
    """
    if "[consensus]" not in extra:  # recorded answers are old: count them as fresh
        extra += "\n[consensus]\nmax_age_seconds = 2000000000\n"
    if database is not None and "[database]" not in extra:
        extra += "\n" + database.toml
    lines = [extra, "[watchlist]", f"symbols = {list(watchlist)!r}".replace("'", '"'), ""]
    for pid in provider_ids:
        table = [(options or {}).get(pid, "")]
        if replay is not None:
            table.insert(0, f'base_url = "{replay.mount(pid)}"')
        lines += [f"[providers.{pid}]", *table, ""]
    path = write_config(tmp_path, "\n".join(lines))
    return load_config(path, data_dir=tmp_path / "data")


@pytest.fixture
def secrets() -> Secrets:
    return Secrets(env={}, backend=MemoryKeyring())


@pytest.fixture
async def make_hub(tmp_path: Path, replay: ReplayServer, secrets: Secrets,
                   database: TestDatabase) -> AsyncIterator[Callable[..., Any]]:
    """``await make_hub([providers], extra_toml="", keys={})`` -> a started hub (no schedule)
    on this test's ``database``."""
    hubs: list[Hub] = []

    async def factory(providers: Sequence[Provider], extra: str = "",
                      keys: dict[str, str] | None = None, schedule: bool = False,
                      mount: bool = True, clock: Callable[[], float] | None = None,
                      options: dict[str, str] | None = None) -> Hub:
        for k, v in (keys or {}).items():
            secrets.set(k, v)
        cfg = config_for(tmp_path, replay if mount else None, [p.id for p in providers], extra,
                         options=options, database=database)
        kwargs = {"clock": clock} if clock else {}
        hub = Hub(cfg, providers, secrets, **kwargs)
        hub.request_timeout = 2.0 * SLOW
        await hub.start(schedule=schedule)
        hubs.append(hub)
        return hub

    yield factory
    for hub in hubs:
        await hub.settle()
        await hub.stop()
