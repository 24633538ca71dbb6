"""Who collects what in a team hub: membership and provider leases in PostgreSQL.

Every instance heartbeats in ``hub_instance``. Each provider (and the team's own
housekeeping, :data:`TEAM_LEASE`) has a row in ``provider_lease``: its ``owner``
may call it until ``lease_until``, by the database's clock. Every tick
(:attr:`LeaseCoordinator.tick_seconds`, a quarter of the TTL) an instance:

1. heartbeats;
2. renews the leases it holds (well before they end);
3. computes its fair share: ceil(leases / live instances);
4. gives back what it holds beyond that share, or claims free or expired leases up
   to it, ``FOR UPDATE SKIP LOCKED`` so instances claiming at once never take the
   same one; each claim raises the lease's ``epoch``;
5. if it holds the team's lease, removes members silent for 2 x TTL and reports
   each once (``on_lost``: the ``instance_lost`` alert).

Self-fencing: an instance owns a provider only until its last successful renewal
plus the TTL, less one tick, by its own monotonic clock: one that cannot renew
(database away, process stopped) stops calling the provider before its lease ends,
and every write of the provider's data checks, in the same transaction, that the
epoch it holds is still current (:meth:`LeaseCoordinator.fence`). SIGTERM
(:meth:`stop`) gives every lease back at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from peewee import fn

from cryptohub_desktop import __version__
from cryptohub_desktop.core.errors import FencedOut
from cryptohub_desktop.engine.ports import TEAM
from cryptohub_desktop.storage.models import ProviderLease

log = logging.getLogger("cryptohub.cluster.leases")

#: the lease of the team's own work: alerts, notifications, retention, backups
TEAM_LEASE = TEAM
NOW = "timezone('utc', now())"


class LeaseCoordinator:
    """The :class:`~cryptohub_desktop.engine.ports.Coordinator` of a team hub.

    Args:
        conninfo: the PostgreSQL URL (its own connection, apart from the store's writer).
        instance_id: this instance's id.
        host, port: where this instance serves (shown in ``/api/cluster``).
        ttl: ``[cluster] lease_ttl_seconds``.
    """

    def __init__(self, conninfo: str, instance_id: str, *, host: str, port: int,
                 ttl: float = 10.0) -> None:
        self.conninfo = conninfo
        self.instance_id = instance_id
        self.host = host
        self.port = port
        self.ttl = ttl
        self.tick_seconds = ttl / 4
        self.held: dict[str, int] = {}  # provider id -> epoch
        self._valid_until = 0.0  # monotonic: held leases may be used until then
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_change: Callable[[set[str]], None] = lambda owned: None
        self._on_lost: Callable[[str, float], None] = lambda instance, age: None
        self._ids: list[str] = []
        self.connected = False
        self.live = 1  # instances seen alive at the last tick

    # --- the Coordinator port --------------------------------------------------------------
    def owns(self, provider_id: str) -> bool:
        return provider_id in self.held and time.monotonic() < self._valid_until

    def epoch(self, provider_id: str) -> int | None:
        return self.held.get(provider_id) if self.owns(provider_id) else None

    def fence(self, provider_id: str) -> Callable[[], None]:
        """A check to run inside the transaction that writes ``provider_id``'s data: it
        raises :class:`FencedOut` unless this instance still holds the lease at the
        epoch it had when the run began (and holds it, ``FOR SHARE``, until commit)."""
        epoch = self.held.get(provider_id)

        def check() -> None:
            ok = (ProviderLease.select(ProviderLease.provider_id)
                  .where(ProviderLease.provider_id == provider_id,
                         ProviderLease.owner == self.instance_id,
                         ProviderLease.epoch == epoch,
                         ProviderLease.lease_until > fn.timezone("utc", fn.clock_timestamp()))
                  .for_update("FOR SHARE")  # type: ignore[arg-type]  # the stub says bool
                  .exists())
            if not ok:
                raise FencedOut(f"{provider_id}: this instance no longer holds its lease "
                                f"(epoch {epoch}); the write was refused")
        return check

    async def start(self, provider_ids: Sequence[str],
                    on_change: Callable[[set[str]], None],
                    on_lost: Callable[[str, float], None] = lambda instance, age: None
                    ) -> None:
        """Register, make a lease row for every provider, claim a share, keep going."""
        self._ids = [*provider_ids, TEAM_LEASE]
        self._on_change = on_change
        self._on_lost = on_lost
        try:
            await self._connect()
            assert self._conn is not None
            await self._conn.execute(
                "INSERT INTO provider_lease (provider_id, owner, epoch, lease_until) "
                "SELECT unnest(%s::text[]), NULL, 0, '1970-01-01' "
                "ON CONFLICT (provider_id) DO NOTHING", [self._ids])
            await self._tick()
        except psycopg.Error as exc:
            log.warning("leases: database unavailable at start (%s); retrying", exc)
            self.connected = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="leases")

    async def stop(self) -> None:
        """Give every lease back and leave the team, at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=2)
            self._task = None
        released = bool(self.held)
        self.held.clear()
        self._valid_until = 0.0
        if self._conn is not None:
            try:
                await self._conn.execute(
                    f"UPDATE provider_lease SET owner = NULL, lease_until = {NOW} "
                    "WHERE owner = %s", [self.instance_id])
                await self._conn.execute("DELETE FROM hub_instance WHERE id = %s",
                                         [self.instance_id])
            except psycopg.Error as exc:
                log.warning("leases: could not release on stop (%s); they expire in %gs",
                            exc, self.ttl)
            await self._conn.close()
            self._conn = None
        if released:
            self._on_change(set())

    # --- the loop --------------------------------------------------------------------------
    async def _connect(self) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=max(2, int(self.ttl / 2)))
        self.connected = True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self._connect()
                await self._tick()
            except (psycopg.Error, OSError) as exc:
                if self.connected:
                    log.warning("leases: cannot renew (%s); fencing myself off at the end of "
                                "my leases", exc)
                self.connected = False
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
                if self.held and time.monotonic() >= self._valid_until:
                    self.held.clear()
                    self._on_change(set())

    async def _tick(self) -> None:
        assert self._conn is not None
        sent = time.monotonic()
        conn = self._conn
        ttl = f"interval '{self.ttl:.3f} seconds'"
        await conn.execute(
            "INSERT INTO hub_instance (id, host, port, version, started_at, heartbeat_at) "
            f"VALUES (%s, %s, %s, %s, {NOW}, {NOW}) ON CONFLICT (id) DO UPDATE SET "
            "heartbeat_at = excluded.heartbeat_at, host = excluded.host, "
            "port = excluded.port, version = excluded.version",
            [self.instance_id, self.host, self.port, __version__])
        cur = await conn.execute(
            f"UPDATE provider_lease SET lease_until = {NOW} + {ttl} "
            f"WHERE owner = %s AND lease_until > {NOW} RETURNING provider_id, epoch",
            [self.instance_id])
        held = {pid: epoch for pid, epoch in await cur.fetchall()}
        cur = await conn.execute(
            f"SELECT count(*) FROM hub_instance WHERE heartbeat_at > {NOW} - {ttl}")
        row = await cur.fetchone()
        self.live = live = max(1, int(row[0]) if row else 1)
        share = math.ceil(len(self._ids) / live)
        if len(held) > share:
            surplus = sorted(held)[share:]
            await conn.execute(
                f"UPDATE provider_lease SET owner = NULL, lease_until = {NOW} "
                "WHERE owner = %s AND provider_id = ANY(%s)", [self.instance_id, surplus])
            for pid in surplus:
                held.pop(pid)
            log.info("leases: gave back %s for a fair share (%d of %d per instance)",
                     ", ".join(surplus), share, len(self._ids))
        elif len(held) < share:
            cur = await conn.execute(
                "WITH free AS (SELECT provider_id FROM provider_lease "
                f"WHERE lease_until <= {NOW} AND provider_id = ANY(%s) "
                "ORDER BY provider_id FOR UPDATE SKIP LOCKED LIMIT %s) "
                f"UPDATE provider_lease p SET owner = %s, epoch = p.epoch + 1, "
                f"lease_until = {NOW} + {ttl} FROM free WHERE p.provider_id = free.provider_id "
                "RETURNING p.provider_id, p.epoch",
                [self._ids, share - len(held), self.instance_id])
            claimed = {pid: epoch for pid, epoch in await cur.fetchall()}
            if claimed:
                log.info("leases: took %s", ", ".join(sorted(claimed)))
            held.update(claimed)
        if TEAM_LEASE in held:
            await self._forget_lost(conn)
        self._valid_until = sent + self.ttl - self.tick_seconds
        changed = set(held) != set(self.held)
        self.held = held
        if changed:
            self._on_change(set(held))

    async def _forget_lost(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """The holder of the team's lease removes members silent for 2 x TTL (their leases
        have ended by then) and reports each once: an instance that stopped without
        SIGTERM. One that comes back simply registers again."""
        cur = await conn.execute(
            f"DELETE FROM hub_instance WHERE heartbeat_at < {NOW} - "
            f"interval '{2 * self.ttl:.3f} seconds' AND id <> %s "
            f"RETURNING id, extract(epoch FROM {NOW} - heartbeat_at)", [self.instance_id])
        for instance, age in await cur.fetchall():
            log.warning("leases: instance %s stopped heartbeating %.0f s ago; its providers "
                        "were taken over", instance, float(age))
            self._on_lost(str(instance), float(age))
