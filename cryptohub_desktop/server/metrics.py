"""``/metrics``: the hub's health in the Prometheus text format, through
``prometheus_client``.

A custom collector (:class:`HubCollector`) turns a snapshot of the hub's state, read
through the HubApi just before each scrape, into metric families; the server's own
counters (WebSocket fan-out) and a histogram of REST answer times sit beside it, with
``prometheus_client``'s process, platform and garbage-collector metrics. Every
metric is in base units (seconds, bytes, ratios 0..1), which ``promtool check
metrics`` verifies in the tests. Each server has its own registry.

Families (labels ``provider`` and ``category`` per provider)::

    cryptohub_provider_up                     1 online or degraded and has succeeded
                                              at least once; 0 otherwise
    cryptohub_provider_response_time_seconds  average of recent successful runs
    cryptohub_provider_success_ratio          successful runs over the recent window
    cryptohub_provider_staleness_seconds      age of the provider's newest data
    cryptohub_provider_consecutive_failures
    cryptohub_provider_runs_total{result}     runs since the database began (pools)
    cryptohub_rate_limit_usage_ratio{provider, limit_type}
    cryptohub_providers{status}               providers per status
    cryptohub_server_clients, cryptohub_uptime_seconds, cryptohub_database_size_bytes
    cryptohub_ws_updates_total, cryptohub_ws_messages_sent_total,
    cryptohub_ws_clients_dropped_total{reason}
    cryptohub_http_request_duration_seconds{path}   histogram of REST answers
    process_*, python_*                       prometheus_client's own collectors

Providers that are switched off or miss their key are never called, so they get no
per-provider series (never "down").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.time import parse_iso, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UP_STATUSES = ("online", "degraded")
NOT_CALLED = ("needs_key", "disabled")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5)


class HubCollector(Collector):
    """Metric families from the last :meth:`update` (the hub's answers) and the
    fan-out counters.

    Args:
        fanout_stats: the live counters of ``ws.Fanout`` (events, messages, drops).
    """

    def __init__(self, fanout_stats: Mapping[str, int]) -> None:
        self.fanout_stats = fanout_stats
        self.snapshot: dict[str, Any] = {}

    def update(self, snapshot: dict[str, Any]) -> None:
        """Use ``snapshot`` (providers, rate_limits, pools, status, db_size) from now on."""
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        labels = ["provider", "category"]
        up = GaugeMetricFamily("cryptohub_provider_up", "1 when the provider is online or "
                               "degraded and has succeeded at least once, else 0", labels=labels)
        rt = GaugeMetricFamily("cryptohub_provider_response_time_seconds",
                               "Average time of the provider's recent successful runs",
                               labels=labels)
        sr = GaugeMetricFamily("cryptohub_provider_success_ratio",
                               "Successful runs over the recent window, 0..1", labels=labels)
        st = GaugeMetricFamily("cryptohub_provider_staleness_seconds",
                               "Age of the provider's newest data", labels=labels)
        cf = GaugeMetricFamily("cryptohub_provider_consecutive_failures",
                               "Failed runs in a row", labels=labels)
        by_status: dict[str, int] = {}
        called = set()
        now = utcnow()
        for p in snap.get("providers", []):
            status = p["status"]
            by_status[status] = by_status.get(status, 0) + 1
            if status in NOT_CALLED:
                continue
            called.add(p["id"])
            values = [p["id"], p["category"]]
            up.add_metric(values, 1.0 if status in UP_STATUSES and p.get("last_success")
                          else 0.0)
            if p.get("response_time_ms") is not None:
                rt.add_metric(values, p["response_time_ms"] / 1000.0)
            if p.get("success_rate") is not None:
                sr.add_metric(values, p["success_rate"] / 100.0)
            if p.get("last_data_time"):
                age = (now - parse_iso(p["last_data_time"])).total_seconds()
                st.add_metric(values, round(max(0.0, age), 3))
            cf.add_metric(values, float(p.get("consecutive_failures") or 0))
        yield from (up, rt, sr, st, cf)
        runs = CounterMetricFamily("cryptohub_provider_runs", "Runs of the provider by "
                                   "result, as the source pools count them",
                                   labels=["provider", "result"])
        for pool in snap.get("pools", []):
            for m in pool["members"]:
                if m["provider_id"] in called:
                    runs.add_metric([m["provider_id"], "success"], m["success_count"])
                    runs.add_metric([m["provider_id"], "failure"], m["failure_count"])
        yield runs
        rl = GaugeMetricFamily("cryptohub_rate_limit_usage_ratio", "Calls used in the "
                               "current rate-limit window over the limit, 0..1",
                               labels=["provider", "limit_type"])
        for u in snap.get("rate_limits", []):
            if u["provider"] in called:
                rl.add_metric([u["provider"], u["limit_type"]],
                              u["current_usage"] / u["limit_value"] if u["limit_value"] else 0.0)
        yield rl
        counts = GaugeMetricFamily("cryptohub_providers", "Providers by status",
                                   labels=["status"])
        for status, n in sorted(by_status.items()):
            counts.add_metric([status], n)
        yield counts
        status_answer = snap.get("status") or {}
        yield GaugeMetricFamily("cryptohub_server_clients", "WebSocket clients connected",
                                value=(status_answer.get("system_metrics") or {}).get(
                                    "server_clients", 0))
        yield GaugeMetricFamily("cryptohub_uptime_seconds", "Seconds since the hub started",
                                value=status_answer.get("uptime_seconds", 0.0))
        if snap.get("db_size") is not None:
            yield GaugeMetricFamily("cryptohub_database_size_bytes",
                                    "Size of the database", value=snap["db_size"])
        stats = self.fanout_stats
        yield CounterMetricFamily("cryptohub_ws_updates", "Updates fanned out to "
                                  "WebSocket subscribers", value=stats.get("events", 0))
        yield CounterMetricFamily("cryptohub_ws_messages_sent", "WebSocket update messages "
                                  "written (one per subscriber and update)",
                                  value=stats.get("messages", 0))
        dropped = CounterMetricFamily("cryptohub_ws_clients_dropped", "WebSocket clients "
                                      "dropped: too slow (1013) or abusive (1008)",
                                      labels=["reason"])
        dropped.add_metric(["slow"], stats.get("dropped_slow", 0))
        dropped.add_metric(["abuse"], stats.get("dropped_abuse", 0))
        yield dropped


class MetricsExporter:
    """The ``/metrics`` page of one server.

    Args:
        api: the hub served.
        fanout_stats: the fan-out's counters (``Fanout.stats``).
    """

    def __init__(self, api: HubApi, fanout_stats: Mapping[str, int]) -> None:
        self.api = api
        self.registry = CollectorRegistry(auto_describe=True)
        self.collector = HubCollector(fanout_stats)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Histogram("cryptohub_http_request_duration_seconds",
                                  "Time to answer a REST request, by route",
                                  ["path"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe_request(self, path: str, seconds: float) -> None:
        """Count one REST answer (``path``: the route, or "other")."""
        self.requests.labels(path).observe(seconds)

    async def render(self) -> bytes:
        """The metrics page, read fresh from the hub."""
        self.collector.update({
            "providers": (await self.api.providers())["providers"],
            "rate_limits": (await self.api.rate_limits())["rate_limits"],
            "pools": (await self.api.pools())["pools"],
            "status": await self.api.status(),
            "db_size": self.api.database_size()})
        return generate_latest(self.registry)
