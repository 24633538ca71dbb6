"""Starts, stops and restarts the embedded local server from the GUI."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.config import ServerConfig

log = logging.getLogger("cryptohub.ui")

#: starts the local server for a config; returns its handle (``.port``, ``.close()``)
ServeFn = Callable[[ServerConfig], Awaitable[Any]]


class ServerControl(QObject):
    """The local REST/WebSocket server's lifecycle.

    Args:
        api: the hub the server serves.
        cfg: bind settings; :meth:`apply` replaces them.
        serve: starts the server (the composition root binds it to the hub).

    Signals:
        changed(): started, stopped or failed.
    """

    changed = Signal()

    def __init__(self, api: HubApi, cfg: ServerConfig, serve: ServeFn,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.serve = serve
        self.cfg = cfg
        self.handle: Any = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.handle is not None

    async def start(self) -> None:
        """Start if enabled; a bind failure is kept in :attr:`error`, not raised."""
        if self.handle is not None or not self.cfg.enabled:
            self.changed.emit()
            return
        try:
            self.handle = await self.serve(self.cfg)
            self.error = None
            log.info("server listening on %s:%s", self.cfg.host, self.handle.port)
        except OSError as exc:
            self.error = (f"port {self.cfg.port} in use" if exc.errno in (98, 48, 10048)
                          else str(exc))
            log.warning("server not started: %s", self.error)
        except Exception as exc:  # noqa: BLE001 - the GUI keeps running without a server
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("server failed to start")
        self.changed.emit()

    async def stop(self) -> None:
        """Stop (idempotent)."""
        handle, self.handle = self.handle, None
        if handle is not None:
            await handle.close()
        self.changed.emit()

    async def apply(self, cfg: ServerConfig) -> None:
        """Use new settings: restart if anything that matters changed."""
        same = (cfg.enabled, cfg.host, cfg.port) == (self.cfg.enabled, self.cfg.host,
                                                     self.cfg.port)
        self.cfg = cfg
        if same and (self.running or not cfg.enabled):
            return
        await self.stop()
        self.error = None
        await self.start()

    def describe(self) -> str:
        """One line for the status bar."""
        if self.handle is not None:
            host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
            clients = int(self.handle.clients)
            return f"Server {host}:{self.handle.port} · {clients} client{'s' * (clients != 1)}"
        if self.error:
            return f"Server stopped: {self.error}"
        return "Server off" if not self.cfg.enabled else "Server starting…"
