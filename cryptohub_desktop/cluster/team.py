"""One instance's share of a team hub: the shared bus, its leases and the shared rate
limits, built from ``[cluster]`` and handed to the engine through its ports (the hub
starts and stops them).

Example (what the composition root does in cluster mode)::

    hub = Hub(cfg, PROVIDERS, secrets, **Team(cfg).ports())
    await hub.start()          # connects to Redis, claims its share of the providers
    await hub.stop()           # gives its leases back at once
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptohub_desktop.cluster.leases import LeaseCoordinator
from cryptohub_desktop.cluster.limits import SharedClientLimit, SharedLimits
from cryptohub_desktop.cluster.redis_bus import RedisBus
from cryptohub_desktop.config import Config
from cryptohub_desktop.storage.backends import resolve_url


class Team:
    """The cluster parts of one instance.

    Args:
        cfg: a configuration with ``[cluster] redis_url`` and a PostgreSQL database.
        secret: fills ``{ENTRY}`` placeholders of the database URL (``Secrets.get``).
    """

    def __init__(self, cfg: Config, secret: Callable[[str], str | None] | None = None) -> None:
        cl = cfg.cluster
        prefix = cl.key_prefix
        self.instance_id = cl.instance_id
        self.bus = RedisBus(cl.redis_url, cl.instance_id, prefix=prefix)
        self.coordinator = LeaseCoordinator(resolve_url(cfg.database_url, secret), cl.instance_id,
                                            host=cfg.server.host, port=cfg.server.port,
                                            ttl=cl.lease_ttl_seconds)
        self.limits = SharedLimits(cl.redis_url, prefix=prefix,
                                   instances=lambda: self.coordinator.live)

    def ports(self) -> dict[str, Any]:
        """The engine's ports, as ``Hub`` keyword arguments."""
        return {"bus": self.bus, "coordinator": self.coordinator,
                "limits": self.limits}

    def client_limit(self, per_minute: int) -> SharedClientLimit:
        """The server's per-client REST limit, shared by the team."""
        return SharedClientLimit(self.limits, per_minute)
