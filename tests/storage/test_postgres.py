"""What is particular to PostgreSQL: the password (masked, from the keychain), clear
errors when the server is away, reconnecting, and who may write into a database."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import psycopg
import pytest

from cryptohub_desktop.core.errors import StoreError, StoreLocked, StoreUnavailable
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage import migrations
from cryptohub_desktop.storage.backends import backend_for, display_url
from cryptohub_desktop.storage.models import MarketPrice
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.memkeyring import MemoryKeyring
from tests.tcpproxy import TcpProxy

pytestmark = pytest.mark.postgresql


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def price(n: int = 0) -> list[Price]:
    return [Price("BTC", 60000.0 + n, utcnow())]


def count(store: Store) -> int:
    return store.write_sync(lambda: MarketPrice.select().count())


def test_the_password_is_never_shown():
    """A password in the URL is masked wherever it is printed; a placeholder stays a name."""
    assert display_url("postgresql://hub:s3cr%40t-pw@db.internal:5432/cryptohub") == \
        "postgresql://hub:****@db.internal:5432/cryptohub"
    assert display_url("postgres://hub:{CRYPTOHUB_DB_PASSWORD}@db/x") == \
        "postgres://hub:{CRYPTOHUB_DB_PASSWORD}@db/x"
    assert display_url("postgresql://db/x?user=hub&password=pw9&sslmode=require") == \
        "postgresql://db/x?user=hub&password=****&sslmode=require"
    assert display_url("postgresql://hub@db.internal:5432/x") == "postgresql://hub@db.internal:5432/x"
    backend = backend_for("postgresql://hub:hunter2hunter2@127.0.0.1:5432/x")
    assert "hunter2" not in backend.display_url


def test_a_password_placeholder_is_filled_from_the_keychain(database):
    """``{ENTRY}`` in the URL's password is filled from the keychain (escaped for the
    URL); a missing entry is a one-line error naming it."""
    url = database.url.replace("postgres@", "postgres:{CHD_DB_PASSWORD}@")
    keychain = MemoryKeyring()
    secrets = Secrets(env={}, backend=keychain)
    with pytest.raises(StoreError, match="needs CHD_DB_PASSWORD: set it in the keychain"):
        Store.open(url, secrets.get)
    secrets.set("CHD_DB_PASSWORD", "p@ss/w:rd 1")
    store = Store.open(url, secrets.get)
    try:
        assert store.backend.params["password"] == "p@ss/w:rd 1"
        assert "p@ss" not in store.backend.display_url and "p%40ss" not in store.url.split("@")[-1]
        store.write_sync(store.insert_records, "coingecko", price())
        assert count(store) == 1
    finally:
        store.close()


def test_an_unreachable_server_or_missing_database_is_one_clear_line(pg_server):
    """No server on the port: StoreUnavailable; a database that does not exist: how to
    create it. One line each, no password."""
    with pytest.raises(StoreUnavailable) as down:
        Store.open(f"postgresql://hub:topsecret99@127.0.0.1:{free_port()}/cryptohub")
    text = str(down.value)
    assert "cannot be reached" in text and "\n" not in text and "topsecret99" not in text
    url = pg_server.url_of("chd_no_such_database")
    with pytest.raises(StoreError, match="does not exist.*createdb chd_no_such_database") as e:
        Store.open(url)
    assert "\n" not in str(e.value)


def test_a_dropped_connection_is_replaced_on_the_next_use(database, pg_server):
    """The server ends every connection (pg_terminate_backend, as on a restart): the
    next write and read just work on new connections, and nothing written is lost."""
    store = Store.open(database.url)
    try:
        store.write_sync(store.insert_records, "coingecko", price(1))
        assert count(store) == 1
        name = database.url.rsplit("/", 1)[1]
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            gone = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_backend_pid()",
                                 [name]).fetchall()
        assert gone  # the writer's connection was open
        store.write_sync(store.insert_records, "coingecko", price(2))
        assert count(store) == 2
    finally:
        store.close()


async def test_the_server_going_away_fails_writes_clearly_then_recovers(database):
    """Database away mid-run: writes and reads fail with StoreUnavailable (one line),
    what was committed stays; when it is back, the next write reconnects."""
    with TcpProxy() as proxy:
        url = database.url.replace("127.0.0.1:5432", proxy.url_host)
        store = Store.open(url)
        try:
            await store.write(store.insert_records, "coingecko", price(1))
            proxy.cut()
            for n in range(3):
                with pytest.raises(StoreUnavailable) as err:
                    await store.write(store.insert_records, "coingecko", price(10 + n))
                assert "cannot be reached" in str(err.value) and "\n" not in str(err.value)
            with pytest.raises(StoreUnavailable):
                await store.read(lambda: MarketPrice.select().count())
            proxy.restore()
            await store.write(store.insert_records, "coingecko", price(2))
            rows = await store.read(lambda: [r.price_usd for r in MarketPrice.select()
                                             .order_by(MarketPrice.id)])
            assert rows == [60001.0, 60002.0]
        finally:
            store.close()


def test_a_copy_into_the_database_waits_for_no_store(database):
    """While a store has the database open, claiming it (db migrate, restore) is refused;
    while it is claimed, a store cannot open it."""
    store = Store.open(database.url)
    backend = backend_for(database.url)
    try:
        with pytest.raises(StoreLocked, match="in use by a running Crypto Hub"):
            with backend.claim():
                pass
    finally:
        store.close()
    with backend.claim():
        with pytest.raises(StoreLocked, match="being written by db migrate or restore"):
            Store.open(database.url)
    Store.open(database.url).close()


def test_a_database_of_the_original_schema_upgrades(database):
    """A PostgreSQL database as the original system left it (no schema_version, no
    quote/consensus columns, 4-byte floats, 32-bit ids, 255-character urls) opens, is
    upgraded step by step, and keeps its rows with their values."""
    Store.open(database.url).close()
    floats = database.query("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public' AND data_type = 'double precision' "
                            "AND column_name <> 'deviation_pct'")
    for sql in ["DROP TABLE schema_version", "DROP TABLE notify_deliveries",
                "ALTER TABLE market_prices DROP COLUMN quote, DROP COLUMN deviation_pct, "
                "DROP COLUMN outlier",
                "ALTER TABLE ohlcv ALTER COLUMN id TYPE integer",
                "ALTER SEQUENCE ohlcv_id_seq AS integer",
                "ALTER TABLE news_articles ALTER COLUMN url TYPE varchar(255)",
                *(f'ALTER TABLE "{t}" ALTER COLUMN "{c}" TYPE real' for t, c in floats),
                "INSERT INTO market_prices (symbol, price_usd, timestamp, source) "
                "VALUES ('BTC', 50000.5, '2024-01-01 00:00:00', 'coingecko')"]:
        database.query(sql)
    store = Store.open(database.url)
    try:
        row = store.write_sync(lambda: MarketPrice.get())
        assert (row.symbol, row.price_usd, row.quote, row.outlier) == ("BTC", 50000.5, "USD",
                                                                       False)
    finally:
        store.close()
    assert [r[0] for r in database.query("SELECT version FROM schema_version ORDER BY 1")] \
        == list(range(1, migrations.LATEST + 1))
    assert database.query("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = 'public' AND data_type = 'real'") == []
    assert database.scalar("SELECT data_type FROM information_schema.columns WHERE "
                           "table_name = 'news_articles' AND column_name = 'url'") == "text"
    assert database.scalar("SELECT data_type FROM information_schema.sequences WHERE "
                           "sequence_name = 'ohlcv_id_seq'") == "bigint"


def test_instances_upgrading_at_once_apply_each_step_once(database):
    """Three processes opening a v2 database at the same moment: the migration lock lets
    one upgrade it, each step is recorded once, every process opens it."""
    Store.open(database.url).close()
    for sql in ["DROP TABLE notify_deliveries", "DELETE FROM schema_version",
                "INSERT INTO schema_version VALUES (2, 'old', '2024-01-01 00:00:00')"]:
        database.query(sql)
    start = time.time() + 1.5
    child = ("import sys, time; from cryptohub_desktop.storage.store import Store; "
             "time.sleep(max(0, float(sys.argv[2]) - time.time())); "
             "s = Store.open(sys.argv[1]); print(s.schema_version()); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", child, database.url, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [p.communicate(timeout=60 * SLOW) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert [out.strip() for out, _ in results] == [str(migrations.LATEST)] * 3
    assert database.query("SELECT version, COUNT(*) FROM schema_version GROUP BY version "
                          "ORDER BY version") == [(v, 1) for v in range(2, migrations.LATEST + 1)]
