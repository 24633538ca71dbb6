"""The embedded local server: REST + WebSocket on the hub's event loop."""

from cryptohub_desktop.server.app import ServerHandle, start_server

__all__ = ["ServerHandle", "start_server"]
