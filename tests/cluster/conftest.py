"""A real Redis (127.0.0.1:6379, started by scripts/services) with a key prefix of the
test's own, removed afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from tests.dbs import PgServer
from tests.tcpproxy import TcpProxy

REDIS_URL = os.environ.get("CRYPTOHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix no other test uses; its keys are deleted at the end."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    """A cuttable relay in front of the test Redis."""
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    with TcpProxy((host, int(port))) as proxy:
        yield proxy


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A throwaway PostgreSQL database of this test's own, dropped afterwards."""
    name = pg_server.create()
    yield pg_server.url_of(name)
    pg_server.drop(name)
