"""A real hub for the desktop to attach to: one ``cryptohub-desktop serve`` process on
SQLite, its providers fed by the replay upstream (every other provider off), with a
full access token and a read-only one.

Example::

    with ReplayServer() as replay:  # an Upstream
        hub = ServeHub(tmp_path, replay, ["coingecko", "kraken"])
        hub.start()                 # waits until /health answers
        hub.get("/api/market")      # as the admin
        hub.stop()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
from websockets.asyncio.client import connect

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.topics import CATEGORIES
from tests.cluster.harness import CMD, free_port
from tests.conftest import SLOW

ADMIN_TOKEN = "hub-admin-token-1"
READ_TOKEN = "hub-read-token-1"


class Upstream(Protocol):
    """Where recorded answers are served (:class:`ReplayServer`, or one in another process)."""

    def mount(self, provider_id: str) -> str:
        """The base_url of ``provider_id``'s recorded answers."""
        ...


class ServeHub:
    """``cryptohub-desktop serve`` on 127.0.0.1:<free port> (live exchange streams off:
    they have no replay here).

    Args:
        folder: where its config, data folder and output go.
        replay: the upstream; ``providers`` point at it, every other provider is off.
        interval: every category's schedule (the first run is a second after start).
        extra: TOML lines put first (top-level tables); live streams are off unless it
            has a ``[streams]`` table.
        options: provider id -> more lines for its ``[providers.ID]`` table (ws_url ...).
        watchlist: the hub's watched symbols.
        env: more environment for the process (API keys by their entry names).
    """

    def __init__(self, folder: Path, replay: Upstream, providers: Sequence[str], *,
                 interval: str = "every_1_hour", extra: str = "",
                 watchlist: Sequence[str] = ("BTC", "ETH"),
                 options: dict[str, str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.folder = folder
        self.data = folder / "hub-data"
        self.config = folder / "hub.toml"
        self.log = folder / "hub.out"
        self.proc: subprocess.Popen[str] | None = None
        self.env = env or {}
        lines = [extra, "[schedule]", *(f'{c} = "{interval}"' for c in CATEGORIES), "",
                 "[consensus]", "max_age_seconds = 2000000000", "",  # recorded answers are old
                 "[backup]", "daily = false", "",
                 *([] if "[streams]" in extra else  # their default URLs are the internet's
                   ["[streams]", "enabled = false", ""]),
                 "[watchlist]", "symbols = [" + ", ".join(f'"{s}"' for s in watchlist) + "]",
                 ""]
        for p in PROVIDERS:
            lines.append(f"[providers.{p.id}]")
            lines.append(f'base_url = "{replay.mount(p.id)}"' if p.id in providers
                         else "enabled = false")
            lines.append((options or {}).get(p.id, ""))
            lines.append("")
        self.config.write_text("\n".join(lines))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start it and wait until ``/health`` answers."""
        env = dict(os.environ)
        env.update({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                    "SERVER_TOKEN": ADMIN_TOKEN, "SERVER_READ_TOKEN": READ_TOKEN, **self.env})
        for name in ("CRYPTOHUB_DATABASE_URL", "CRYPTOHUB_REDIS_URL", "CRYPTOHUB_HUB_TOKEN"):
            env.pop(name, None)
        with self.log.open("a") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [*CMD, "serve", "--port", str(self.port), "--data-dir", str(self.data),
                 "--config", str(self.config)], stdout=out, stderr=subprocess.STDOUT,
                text=True, env=env)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the hub exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the hub never answered /health"
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, and wait for it to end (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20 * SLOW)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    async def act(self, action: str, **fields: Any) -> dict[str, Any]:
        """Ask the hub to act on its WebSocket as the admin (not through the desktop);
        returns the result message."""
        ws_url = f"ws://127.0.0.1:{self.port}/ws/master"
        async with connect(ws_url, additional_headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"}) as ws:
            await ws.send(json.dumps({"action": action, "id": 1, **fields}))
            async for raw in ws:
                msg: dict[str, Any] = json.loads(raw)
                if msg.get("type") == "result":
                    return msg
        raise AssertionError(f"the hub closed the connection before answering {action}")

    async def get(self, path: str, **params: Any) -> Any:
        """A REST answer, as the admin."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10 * SLOW, headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
            r = await client.get(path, params=params)
        r.raise_for_status()
        return r.json()



def watchlist_btc(view: Any) -> dict[str, Any] | None:
    """The Dashboard watchlist's BTC row as shown (None while it has none)."""
    i = view.watchlist.find("BTC")
    return view.watchlist.row(i) if i >= 0 else None


async def hub_btc(hub: Any) -> dict[str, Any]:
    """BTC as the hub's ``/api/market`` answers it."""
    market = await hub.get("/api/market", symbols="BTC")
    return next(m for m in market["market"] if m["symbol"] == "BTC")

def tcp_peers() -> list[tuple[int, str, int]]:
    """The TCP connections this process opened, as (local port, remote host, remote
    port), from ``/proc``: sockets it holds, less listening ones and those accepted by
    them (the replay upstream's, say)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    peers, listening = [], set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                if inode not in inodes:
                    continue
                lport = int(local.split(":")[1], 16)
                if state == "0A":  # LISTEN
                    listening.add(lport)
                    continue
                rhost, rport = remote.split(":")
                peers.append((lport, _host(rhost), int(rport, 16)))
    return [p for p in peers if p[0] not in listening]


def _host(hexaddr: str) -> str:
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return ".".join(str(b) for b in reversed(raw))
    if raw[:8] == bytes(8) and raw[8:12] == b"\xff\xff\0\0":  # IPv4-mapped IPv6
        return ".".join(str(b) for b in reversed(raw[12:]))
    return raw.hex()
