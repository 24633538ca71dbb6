"""A real team hub for tests and benchmarks: several `cryptohub-desktop serve` processes
on one PostgreSQL database and one Redis (a key prefix of their own), fed by the replay
upstream with a path prefix per instance, so the upstream can tell who called.

Example::

    with ReplayServer() as replay:
        team = Team(tmp_path, pg_url, redis_url, prefix, replay, ["coingecko"], size=3)
        team.start()                      # waits until every instance answers /health
        team.owner("coingecko")           # the instance holding its lease
        team.kill("hub-b")                # kill -9
        team.stop()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from cryptohub_desktop.collectors import PROVIDERS
from tests.conftest import SLOW
from tests.replay import ReplayServer

CMD = [sys.executable, "-m", "cryptohub_desktop"]


def kill_redis_readers(redis_url: str) -> int:
    """Drop every connection blocked in XREAD (each instance's bus reader) with CLIENT
    KILL, as a network blip would; returns how many."""
    admin = redis.Redis.from_url(redis_url)
    try:
        readers = [c for c in admin.client_list() if c.get("cmd") == "xread"]
        for c in readers:
            admin.client_kill_filter(_id=c["id"])
        return len(readers)
    finally:
        admin.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    name: str
    port: int
    config: Path
    data: Path
    proc: subprocess.Popen[str] | None = None
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Team:
    """``size`` instances named hub-a, hub-b ... collecting ``providers``.

    Args:
        extra: TOML put in every instance's config (top-level tables).
        options: provider id -> lines for its [providers.ID] table (e.g. rate_limit).
        ttl: ``[cluster] lease_ttl_seconds``.
        interval: the market_data / every category's interval.
        redis_url: each instance's Redis URL (a proxy's, to cut Redis in a test).
    """

    def __init__(self, folder: Path, pg_url: str, redis_url: str, prefix: str,
                 replay: ReplayServer, providers: list[str], *, size: int = 3,
                 ttl: float = 3.0, interval: str = "every_5_sec", extra: str = "",
                 options: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.pg_url = pg_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.replay = replay
        self.providers = providers
        self.ttl = ttl
        self.instances: dict[str, Instance] = {}
        self.lease_count = len(PROVIDERS) + 1  # every provider and the team's own work
        for i in range(size):
            name = f"hub-{chr(ord('a') + i)}"
            inst = Instance(name, free_port(), folder / f"{name}.toml", folder / name)
            lines = ["[database]", f'url = "{pg_url}"', "", "[cluster]",
                     f'redis_url = "{redis_url}"', f'instance_id = "{name}"',
                     f"lease_ttl_seconds = {ttl}", 'trusted_proxies = ["127.0.0.2"]', "",
                     "[schedule]", *(f'{cat} = "{interval}"' for cat in (
                         "market_data", "blockchain_explorers", "news", "sentiment",
                         "whale_tracking", "rpc_nodes", "onchain_analytics")), "",
                     "[consensus]", "max_age_seconds = 2000000000", "",
                     "[backup]", "daily = false", "", extra, ""]
            for p in PROVIDERS:
                lines += [f"[providers.{p.id}]"]
                if p.id in providers:
                    lines += [f'base_url = "{replay.mount(p.id, f"/{name}/{p.id}")}"',
                              (options or {}).get(p.id, "")]
                else:
                    lines += ["enabled = false"]
                lines.append("")
            inst.config.write_text("\n".join(lines))
            self.instances[name] = inst

    # --- processes -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                    "CRYPTOHUB_REDIS_PREFIX": self.prefix, "SERVER_TOKEN": "team-admin",
                    "SERVER_READ_TOKEN": "team-read"})
        env.pop("CRYPTOHUB_DATABASE_URL", None)
        env.pop("CRYPTOHUB_REDIS_URL", None)
        return env

    def launch(self, name: str) -> None:
        inst = self.instances[name]
        inst.log = self.folder / f"{name}-{int(time.time() * 1000)}.out"
        with inst.log.open("w") as out:  # the child keeps its own descriptor
            inst.proc = subprocess.Popen(
                [*CMD, "serve", "--port", str(inst.port), "--data-dir", str(inst.data),
                 "--config", str(inst.config)], stdout=out, stderr=subprocess.STDOUT,
                text=True, env=self.env())

    def start(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        """Start the instances (all at once) and wait until each answers /health and
        the leases are shared out."""
        names = names or list(self.instances)
        for name in names:
            self.launch(name)
        deadline = time.monotonic() + timeout * SLOW
        for name in names:
            self.wait_healthy(name, deadline)
        self.wait(lambda: self.shared_fairly(list(self.instances)), timeout * SLOW)

    def wait_healthy(self, name: str, deadline: float) -> None:
        inst = self.instances[name]
        while True:
            assert inst.proc is not None
            if inst.proc.poll() is not None:
                raise AssertionError(f"{name} exited: {inst.log.read_text()[-3000:]}")
            try:
                if httpx.get(inst.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{name} never answered /health"
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """kill -9: no release, no goodbye."""
        proc = self.instances[name].proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def signal(self, name: str, sig: int) -> None:
        proc = self.instances[name].proc
        assert proc is not None
        proc.send_signal(sig)

    def stop(self) -> dict[str, str]:
        """SIGTERM every running instance; returns each one's output."""
        outputs = {}
        for inst in self.instances.values():
            if inst.proc is not None and inst.proc.poll() is None:
                inst.proc.send_signal(signal.SIGCONT)
                inst.proc.send_signal(signal.SIGTERM)
        for name, inst in self.instances.items():
            if inst.proc is not None:
                try:
                    inst.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    inst.proc.kill()
                    inst.proc.wait(timeout=10)
                outputs[name] = inst.log.read_text() if inst.log.exists() else ""
        return outputs

    # --- what the database says ----------------------------------------------------------
    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            return list(conn.execute(sql, args or None).fetchall())

    def leases(self) -> dict[str, str | None]:
        """provider -> owner, for leases that are current by the database's clock."""
        rows = self.query("SELECT provider_id, owner FROM provider_lease WHERE lease_until > "
                          "timezone('utc', now())")
        return {pid: owner for pid, owner in rows}

    def owner(self, provider: str) -> str | None:
        return self.leases().get(provider)

    def shared_fairly(self, names: list[str]) -> bool:
        """Every lease is held and each of ``names`` holds its fair share (the first
        instance up takes everything, then gives back as the others join)."""
        try:
            owners = list(self.leases().values())
        except psycopg.Error:
            return False
        share = -(-self.lease_count // len(names))
        return len(owners) == self.lease_count and all(
            0 < owners.count(n) <= share for n in names)

    def owned_count(self) -> int:
        try:
            return len(self.leases())
        except psycopg.Error:
            return 0

    @staticmethod
    def wait(cond: Any, timeout: float, step: float = 0.05) -> float:
        start = time.monotonic()
        while not cond():
            assert time.monotonic() - start < timeout, "condition not met in time"
            time.sleep(step)
        return time.monotonic() - start

    def arrivals(self, name: str, provider: str) -> list[float]:
        """When the upstream saw the instance ``name`` call ``provider`` (monotonic)."""
        prefix = f"/{name}/{provider}"
        with self.replay._lock:
            return [s.at for s in self.replay.seen if s.path.startswith(prefix)]
