"""Actions on ``/ws/master``: what a desktop attached to the hub (or a script) may ask
it to do, answered with a typed result (SPEC section 15).

A message ``{"action": "collect_now", "id": 7, "provider": "coingecko"}`` is answered
``{"type": "result", "id": 7, "action": "collect_now", "ok": true, "message": "...",
"data": {...}}``. Changing actions need the full access token (``SERVER_TOKEN``);
with the read-only token, or no token from this machine, they answer ``ok: false``
with the reason and change nothing. ``hello`` says what the connection may do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cryptohub_desktop import __version__
from cryptohub_desktop.api.protocol import ActionResult, HubApi
from cryptohub_desktop.server.security import ADMIN

READ_ONLY = ("this connection may only read: actions need the hub's full access token "
             "(SERVER_TOKEN), not the read-only one")


def _text(msg: dict[str, Any], name: str, limit: int = 200) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{name} must be a non-empty string")
    return value.strip()


def _strings(msg: dict[str, Any], name: str, limit: int = 100) -> list[str]:
    value = msg.get(name)
    if (not isinstance(value, list) or not 0 < len(value) <= limit
            or not all(isinstance(v, str) and v for v in value)):
        raise ValueError(f"{name} must be a list of names")
    return value


def _ints(msg: dict[str, Any], name: str, limit: int = 1000) -> list[int]:
    value = msg.get(name)
    if (not isinstance(value, list) or not 0 < len(value) <= limit
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{name} must be a list of integers")
    return value


class Actions:
    """The actions a hub takes over its WebSocket, checked and dispatched to its HubApi.

    Args:
        api: the hub served.
    """

    def __init__(self, api: HubApi) -> None:
        self.api = api
        #: action -> (needs the full token, run(message) -> result)
        self.table: dict[str, tuple[bool, Callable[[dict[str, Any]],
                                                   Awaitable[ActionResult]]]] = {
            "set_enabled": (True, self._set_enabled),
            "collect_now": (True, lambda m: api.collect_now(_text(m, "provider"))),
            "collect_all": (True, lambda m: api.collect_all()),
            "acknowledge_alerts": (True, lambda m: api.acknowledge_alerts(_ints(m, "alert_ids"))),
            "set_pool_strategy": (True, lambda m: api.set_pool_strategy(_text(m, "pool"),
                                                                        _text(m, "strategy"))),
            "set_pool_order": (True, lambda m: api.set_pool_order(_text(m, "pool"),
                                                                  _strings(m, "order"))),
            "raise_alert": (True, self._raise_alert),
            "backfill": (True, self._backfill),
            "score_text": (False, self._score_text),
        }
        self.names = tuple(self.table)

    def hello(self, access: str) -> dict[str, Any]:
        """Who this hub is and what the connection may do."""
        return {"type": "hello", "version": __version__, "instance_id": self.api.instance_id,
                "can_act": access == ADMIN,
                "read_only_reason": "" if access == ADMIN else READ_ONLY}

    async def run(self, action: str, msg: dict[str, Any], access: str) -> dict[str, Any]:
        """The result message of ``action`` asked by a connection with ``access``."""
        request_id = msg.get("id")
        needs_admin, fn = self.table[action]
        if needs_admin and access != ADMIN:
            result = ActionResult(False, READ_ONLY, {})
        else:
            try:
                result = await fn(msg)
            except ValueError as exc:
                result = ActionResult(False, f"{action}: {exc}", {})
            except RuntimeError as exc:  # e.g. the text model still loading
                result = ActionResult(False, str(exc), {})
        return {"type": "result", "id": request_id if isinstance(request_id, int) else None,
                "action": action, "ok": result.ok, "message": result.message,
                "data": result.data}

    async def _set_enabled(self, msg: dict[str, Any]) -> ActionResult:
        enabled = msg.get("enabled")
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        return await self.api.set_enabled(_text(msg, "provider"), enabled)

    async def _raise_alert(self, msg: dict[str, Any]) -> ActionResult:
        severity = _text(msg, "severity")
        if severity not in ("info", "warning", "critical"):
            raise ValueError("severity must be info, warning or critical")
        return await self.api.raise_alert(_text(msg, "alert_type", 60), severity,
                                          _text(msg, "message", 2000))

    async def _backfill(self, msg: dict[str, Any]) -> ActionResult:
        days = msg.get("days", 30)
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
            raise ValueError("days must be a whole number from 1 to 3650")
        symbols = _strings(msg, "symbols", 50) if msg.get("symbols") is not None else None
        return await self.api.backfill(symbols, days)

    async def _score_text(self, msg: dict[str, Any]) -> ActionResult:
        scored = await self.api.score_text(_text(msg, "text", 5000))
        return ActionResult(True, f"{scored['label']} {scored['score']:+.3f}", scored)
