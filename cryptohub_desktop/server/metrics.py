"""``/metrics``: the hub's health in the Prometheus text exposition format (0.0.4).

Gauges, one series per provider (and per rate-limit window)::

    cryptohub_provider_up{provider="coingecko",category="market_data"} 1
    cryptohub_provider_response_time_ms{...}       average of recent successes
    cryptohub_provider_success_rate{...}           0..1 over the recent window
    cryptohub_provider_staleness_seconds{...}      age of the newest data
    cryptohub_rate_limit_usage_ratio{provider, limit_type}  0..1 of the window
    cryptohub_providers{status="online"}           count per status
    cryptohub_server_clients, cryptohub_uptime_seconds
"""

from __future__ import annotations

import math

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.time import parse_iso, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UP_STATUSES = ("online", "degraded")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class _Family:
    def __init__(self, name: str, help_text: str) -> None:
        self.lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        self.name = name

    def add(self, value: float | None, **labels: str) -> None:
        if value is not None:
            self.lines.append(f"{self.name}{_labels(**labels) if labels else ''} {_value(value)}")


async def render(api: HubApi) -> str:
    """The metrics page for the hub behind ``api``."""
    now = utcnow()
    up = _Family("cryptohub_provider_up",
                 "1 when the provider is online or degraded, 0 when offline or not checked yet")
    rt = _Family("cryptohub_provider_response_time_ms",
                 "Average response time of recent successful collections, milliseconds")
    sr = _Family("cryptohub_provider_success_rate",
                 "Share of successful collections over the recent window, 0..1")
    st = _Family("cryptohub_provider_staleness_seconds", "Age of the provider's newest data")
    rl = _Family("cryptohub_rate_limit_usage_ratio",
                 "Calls used in the current rate-limit window over the limit, 0..1")
    counts = _Family("cryptohub_providers", "Number of providers by status")
    by_status: dict[str, int] = {}
    called: set[str] = set()
    for p in (await api.providers())["providers"]:
        labels = {"provider": p["id"], "category": p["category"]}
        status = p["status"]
        by_status[status] = by_status.get(status, 0) + 1
        if status in ("needs_key", "disabled"):
            continue  # not called at all: never offline
        called.add(p["id"])
        up.add(1 if status in UP_STATUSES else 0, **labels)
        rt.add(p["response_time_ms"], **labels)
        sr.add(p["success_rate"] / 100.0 if p["success_rate"] is not None else None, **labels)
        if p.get("last_data_time"):
            age = (now - parse_iso(p["last_data_time"])).total_seconds()
            st.add(round(max(0.0, age), 3), **labels)
    for u in (await api.rate_limits())["rate_limits"]:
        if u["provider"] in called:
            rl.add(round(u["current_usage"] / u["limit_value"], 4) if u["limit_value"] else 0.0,
                   provider=u["provider"], limit_type=u["limit_type"])
    for status, n in sorted(by_status.items()):
        counts.add(n, status=status)
    status_answer = await api.status()
    clients = _Family("cryptohub_server_clients", "WebSocket clients connected")
    clients.add(status_answer["system_metrics"].get("server_clients", 0))
    uptime = _Family("cryptohub_uptime_seconds", "Seconds since the hub started")
    uptime.add(status_answer["uptime_seconds"])
    lines = [line for fam in (up, rt, sr, st, rl, counts, clients, uptime) for line in fam.lines]
    return "\n".join(lines) + "\n"
