"""A real Redis (127.0.0.1:6379, started by scripts/services) with a key prefix of the
test's own, removed afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from tests.dbs import PgServer

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


class TcpProxy:
    """A TCP relay on 127.0.0.1 in front of a real server, which a test can cut (close
    every connection and refuse new ones) and restore: a network outage, for real."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._pipes -= {writer, up_writer}

    async def cut(self) -> None:
        """Close every relayed connection and stop accepting new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._pipes):
            w.transport.abort()
        self._pipes.clear()

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        await self.start()

    async def close(self) -> None:
        await self.cut()


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    """A cuttable relay in front of the test Redis."""
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    proxy = await TcpProxy(host, int(port)).start()
    yield proxy
    await proxy.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A throwaway PostgreSQL database of this test's own, dropped afterwards."""
    name = pg_server.create()
    yield pg_server.url_of(name)
    pg_server.drop(name)
