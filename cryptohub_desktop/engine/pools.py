"""Source pools: per category, which provider is *current*, and failover.

Every provider still collects on its own schedule; a pool decides which member
answers when one answer is wanted (the category's primary source in the UI and
``/api/pools``, the provider a backfill uses) and rotates away from a member
that fails, is rate limited or has its circuit open, recording why in
``rotation_history``.

Strategies:
    priority     the first healthy member in the configured order
    round_robin  the next healthy member after the current one, on each pick
    least_used   the healthy member used least so far
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.core.topics import POOL_STRATEGIES

log = logging.getLogger("cryptohub.pools")
STRATEGIES = POOL_STRATEGIES


@dataclass
class Member:
    provider_id: str
    enabled: bool = True
    use_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    last_used: datetime | None = None


@dataclass
class Rotation:
    pool: str
    from_provider: str | None
    to_provider: str | None
    reason: str
    timestamp: datetime


@dataclass
class Pool:
    """One category's pool.

    Args:
        healthy: callable telling whether a provider may be used now
            (enabled, key present, circuit closed, not offline).
    """

    name: str
    category: str
    members: list[Member]
    healthy: Callable[[str], bool]
    strategy: str = "priority"
    current: str | None = None
    rotation_count: int = 0
    history: list[Rotation] = field(default_factory=list)
    on_rotate: Callable[[Rotation], None] | None = None

    def order(self) -> list[str]:
        return [m.provider_id for m in self.members]

    def member(self, provider_id: str) -> Member | None:
        return next((m for m in self.members if m.provider_id == provider_id), None)

    def _candidates(self) -> list[Member]:
        return [m for m in self.members if m.enabled and self.healthy(m.provider_id)]

    def pick(self) -> str | None:
        """The provider to use now by the pool's strategy (also updates ``current``)."""
        candidates = self._candidates()
        if not candidates:
            self._set(None, "no healthy member")
            return None
        if self.strategy == "round_robin":
            ids = [m.provider_id for m in candidates]
            order = self.order()
            if self.current in order:
                start = order.index(self.current) + 1
                ring = order[start:] + order[:start]
                choice = next(p for p in ring if p in ids)
            else:
                choice = ids[0]
        elif self.strategy == "least_used":
            choice = min(candidates, key=lambda m: (m.use_count, self.order().index(
                m.provider_id))).provider_id
        else:
            choice = candidates[0].provider_id
        if choice != self.current:
            reason = "strategy" if self.current is None or self.healthy(self.current) else (
                "unhealthy")
            if self.strategy == "priority" and self.current and self.healthy(self.current):
                reason = "recovered"
            self._set(choice, reason if self.current else "initial")
        m = self.member(choice)
        if m:
            m.use_count += 1
            m.last_used = utcnow()
        return choice

    def report(self, provider_id: str, ok: bool, reason: str | None = None) -> None:
        """Outcome of a member's run; a failing current member is rotated away from."""
        m = self.member(provider_id)
        if m is None:
            return
        if ok:
            m.success_count += 1
            if self.strategy == "priority" and self.current != provider_id:
                cur = self.order().index(self.current) if self.current in self.order() else 99
                if self.order().index(provider_id) < cur and self.healthy(provider_id):
                    self._set(provider_id, "recovered")
            return
        m.failure_count += 1
        if provider_id == self.current:
            nxt = self._next_after(provider_id)
            self._set(nxt, reason or "failure")

    def _next_after(self, provider_id: str) -> str | None:
        order = self.order()
        i = order.index(provider_id)
        for pid in order[i + 1:] + order[:i]:
            m = self.member(pid)
            if m and m.enabled and self.healthy(pid):
                return pid
        return None

    def _set(self, provider_id: str | None, reason: str) -> None:
        if provider_id == self.current:
            return
        rot = Rotation(self.name, self.current, provider_id, reason, utcnow())
        if self.current is not None:
            self.rotation_count += 1
            log.info("pool %s: %s -> %s (%s)", self.name, self.current, provider_id, reason)
        self.current = provider_id
        self.history.append(rot)
        del self.history[:-200]
        if self.on_rotate:
            self.on_rotate(rot)

    def reorder(self, order: list[str]) -> None:
        """Set the member order; ids not given keep their relative order at the end."""
        known = {m.provider_id: m for m in self.members}
        head = [known[p] for p in order if p in known]
        tail = [m for m in self.members if m.provider_id not in order]
        self.members = head + tail

    def set_strategy(self, strategy: str) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
