"""One instance's share of a team hub: the shared bus, its leases and the shared rate
limits, built from ``[cluster]`` and handed to the engine through its ports (the hub
starts and stops them).

Example (what the composition root does in cluster mode)::

    hub = Hub(cfg, PROVIDERS, secrets, **Team(cfg).ports())
    await hub.start()          # connects to Redis, claims its share of the providers
    await hub.stop()           # gives its leases back at once
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.cluster.leases import LeaseCoordinator
from cryptohub_desktop.cluster.limits import SharedLimits
from cryptohub_desktop.cluster.redis_bus import RedisBus
from cryptohub_desktop.config import Config


class Team:
    """The cluster parts of one instance.

    Args:
        cfg: a configuration with ``[cluster] redis_url`` and a PostgreSQL database.
        prefix: the Redis key prefix (tests use their own).
    """

    def __init__(self, cfg: Config, *, prefix: str = "cryptohub") -> None:
        cl = cfg.cluster
        self.instance_id = cl.instance_id
        self.bus = RedisBus(cl.redis_url, cl.instance_id, prefix=prefix)
        self.coordinator = LeaseCoordinator(cfg.database_url, cl.instance_id,
                                            host=cfg.server.host, port=cfg.server.port,
                                            ttl=cl.lease_ttl_seconds)
        self.limits = SharedLimits(cl.redis_url, prefix=prefix,
                                   instances=lambda: self.coordinator.live)

    def ports(self) -> dict[str, Any]:
        """The engine's ports, as ``Hub`` keyword arguments."""
        return {"bus": self.bus, "coordinator": self.coordinator,
                "limits": self.limits}
