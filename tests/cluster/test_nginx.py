"""The team hub behind Debian's nginx with the shipped config (docs/deploy/nginx.conf):
WebSocket through TLS, an idle connection kept alive, a dead instance left for the next,
the desktop's remote API reconnecting, and X-Forwarded-For believed only from nginx."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from cryptohub_desktop.api.remote import RemoteApi
from tests.cluster.harness import Team, free_port
from tests.cluster.test_team_hub import team  # noqa: F401 - the fixture
from tests.conftest import SLOW

SHIPPED = Path(__file__).parents[2] / "docs" / "deploy" / "nginx.conf"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the CA file a desktop is told to trust)."""
    cert, key = folder / "hub.pem", folder / "hub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _config(t: Team, folder: Path, port: int, cert: Path, key: Path) -> Path:
    """The shipped config with this test's ports, certificate and prefix: the same
    blocks and directives, nothing added but nginx's own housekeeping paths and the
    address nginx connects from (127.0.0.2, the instances' trusted proxy)."""
    text = SHIPPED.read_text()
    servers = "".join(f"    server 127.0.0.1:{i.port} max_fails=2 fail_timeout=10s;\n"
                      for i in t.instances.values())
    text = re.sub(r"(upstream cryptohub \{\n(?:    #.*\n)*)(?:    server .*\n)+",
                  lambda m: m.group(1) + servers, text)
    text = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", text, flags=re.S)
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    text = text.replace("    listen [::]:443 ssl;\n", "")
    text = text.replace("/etc/ssl/certs/hub.example.org.pem", str(cert))
    text = text.replace("/etc/ssl/private/hub.example.org.key", str(key))
    text = text.replace("        proxy_pass http://cryptohub;",
                        "        proxy_pass http://cryptohub;\n        proxy_bind 127.0.0.2;")
    main = folder / "nginx-main.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\nevents {{}}\n"
        f"http {{\n  access_log {folder}/access.log;\n"
        + "".join(f"  {k}_temp_path {folder}/{k};\n"
                  for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {folder}/cryptohub.conf;\n}}\n")
    (folder / "cryptohub.conf").write_text(text)
    return main


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[object]:
    """``nginx(team)`` -> the https base URL of nginx in front of ``team``."""
    procs: list[subprocess.Popen[bytes]] = []
    binary = shutil.which("nginx") or "/usr/sbin/nginx"

    def start(t: Team) -> tuple[str, Path]:
        cert, key = _certificate(tmp_path)
        port = free_port()
        main = _config(t, tmp_path, port, cert, key)
        check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(main)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        procs.append(subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(main), "-g",
                                       "daemon off;"]))
        url = f"https://127.0.0.1:{port}"
        Team.wait(lambda: _answers(url + "/health", cert), 10 * SLOW, 0.1)
        return url, cert

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


def _answers(url: str, cert: Path) -> bool:
    try:
        tls = ssl.create_default_context(cafile=str(cert))
        return httpx.get(url, verify=tls, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_through_nginx(team, nginx):  # noqa: F811 - the fixture
    """Through nginx over TLS: subscribed, snapshot and updates; an idle connection lives
    past 90 s; the remote API, its instance killed, reconnects and has a fresh snapshot
    within 5 s; a spoofed X-Forwarded-For changes nothing."""
    t: Team = await asyncio.to_thread(team, ["coingecko", "kraken"])
    url, cert = await asyncio.to_thread(nginx, t)
    tls = ssl.create_default_context(cafile=str(cert))
    ws_url = url.replace("https", "wss") + "/ws/master"
    token = {"Authorization": "Bearer team-read"}
    async with connect(ws_url, ssl=tls, additional_headers=token) as idle, \
            connect(ws_url, ssl=tls, additional_headers=token) as live:
        await idle.send(json.dumps({"action": "subscribe", "service": "onchain"}))
        assert json.loads(await idle.recv())["type"] == "subscribed"
        assert json.loads(await idle.recv())["type"] == "snapshot"
        opened = time.monotonic()
        await live.send(json.dumps({"action": "subscribe", "service": "market_data"}))
        kinds = [json.loads(await asyncio.wait_for(live.recv(), 30 * SLOW))["type"]
                 for _ in range(3)]
        assert kinds == ["subscribed", "snapshot", "update"]

        states: list[str] = []
        remote = RemoteApi(url, "team-admin", ca_file=str(cert), on_state=states.append)
        await remote.start()
        assert remote.state == "connected" and remote.can_act
        victim = remote.instance_id
        resyncs: list[float] = []
        remote.subscribe(lambda e: resyncs.append(time.monotonic())
                         if e.kind == "resync" else None)
        await asyncio.to_thread(t.kill, victim)
        killed = time.monotonic()
        await asyncio.to_thread(Team.wait, lambda: remote.instance_id not in ("", victim)
                                and remote.state == "connected" and any(
                                    r > killed for r in resyncs), 5 * SLOW)
        assert any(s.startswith("reconnecting") for s in states)
        await remote.stop()

        # nginx's own address is trusted: a client's forged header is not believed, it
        # is this machine asking (no token needed, no remote client's limit)
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(cert))) as http:
            r = await http.get(url + "/api/status",
                               headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.7"})
            assert r.status_code == 200
        alive = [i for i in t.instances.values() if i.name != victim][0]
        r = httpx.get(alive.url + "/api/status", headers={"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 200  # from an untrusted peer the header is ignored

        await asyncio.sleep(max(0.0, 91 - (time.monotonic() - opened)))
        await idle.send(json.dumps({"action": "ping"}))
        assert json.loads(await asyncio.wait_for(idle.recv(), 10))["type"] in ("pong",
                                                                             "update")
