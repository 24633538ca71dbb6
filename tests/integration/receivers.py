"""Real notification receivers on 127.0.0.1 for the alert-delivery tests.

- :class:`WebhookReceiver`: an HTTP server (own thread) that records every request
  apprise's ``json://`` plugin makes; a path under ``/fail`` answers 500.
- :class:`SmtpReceiver`: an aiosmtpd server on the test's event loop that records
  every e-mail apprise's ``mailto://`` plugin submits.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import SLOW


@dataclass
class Hit:
    at: float  # time.monotonic()
    path: str
    body: dict[str, Any]


class WebhookReceiver:
    """``with WebhookReceiver() as hook:`` then ``hook.url("/ok")`` -> a json:// URL."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.hits.append(Hit(time.monotonic(), self.path, json.loads(raw)))
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def at(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(prefix)]

    async def wait(self, prefix: str, count: int, timeout: float = 5.0) -> list[Hit]:
        """The hits under ``prefix`` once there are ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout * SLOW
        while len(self.at(prefix)) < count:
            assert time.monotonic() < deadline, f"{prefix}: {len(self.at(prefix))}/{count} hits"
            await asyncio.sleep(0.01)
        return self.at(prefix)


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd's name
                          envelope: Envelope) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope, msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """``async with SmtpReceiver() as smtp:`` -> a plain (no TLS) SMTP server."""

    def __init__(self) -> None:
        self._collect = _Collect()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def __aenter__(self) -> SmtpReceiver:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self._collect, hostname="mail.test"), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def messages(self) -> list[tuple[Envelope, EmailMessage]]:
        return self._collect.messages

    async def wait(self, count: int, timeout: float = 5.0) -> list[tuple[Envelope, EmailMessage]]:
        deadline = time.monotonic() + timeout * SLOW
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)}/{count} e-mails"
            await asyncio.sleep(0.01)
        return self.messages
