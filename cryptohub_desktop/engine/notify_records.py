"""What alert delivery reports: one :class:`DeliveryResult` per message and channel,
a :class:`ChannelHealth` per channel, and the ``notify_deliveries`` table they go to.

Every text here is already masked: ``url`` is the display form of the channel URL
(placeholders, never their values) and ``reason`` went through ``scrub``.

Reading, for the Alerts view and ``/api/alerts`` (on the store's reader)::

    rows = await store.read(queries.notify_deliveries, [alert_id, ...])   # newest first
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptohub_desktop.core.time import iso, to_db
from cryptohub_desktop.storage.models import NotifyDelivery


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one message to one channel.

    Attributes:
        status: ``delivered`` or ``failed``.
        reason: why it failed (masked); None when delivered.
        attempts: sends made (0: never sent, e.g. a missing secret or a full queue).
        kind: the channel kind, or ``test`` for a test message.
        repeats: > 0 for a summary of that many repeats of the alert.
        timestamp: when the outcome was known (aware UTC).
    """

    channel: str
    url: str
    status: str
    reason: str | None
    attempts: int
    alert_id: int | None
    alert_type: str
    kind: str
    severity: str
    title: str
    repeats: int
    timestamp: datetime

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "url": self.url, "status": self.status,
                "reason": self.reason, "attempts": self.attempts, "alert_id": self.alert_id,
                "alert_type": self.alert_type, "kind": self.kind, "severity": self.severity,
                "title": self.title, "repeats": self.repeats,
                "timestamp": iso(self.timestamp)}


@dataclass
class ChannelHealth:
    """A channel's state, like a provider's status.

    Attributes:
        status: ``unknown`` (nothing sent yet), ``ok`` (the last message was
            delivered), ``retrying``, ``failed`` (the last message failed after its
            retries), ``needs_secret`` (a placeholder has no value), ``invalid``
            (apprise does not know the URL).
        detail: why it is needs_secret / invalid.
        consecutive_failures: failed messages since the last delivered one.
        delivered, failed: messages since start.
        queued: messages waiting now.
    """

    name: str
    url: str
    kinds: tuple[str, ...]
    min_severity: str
    quiet_hours: str | None
    status: str = "unknown"
    detail: str | None = None
    last_attempt_at: datetime | None = None
    last_delivery_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    delivered: int = 0
    failed: int = 0
    queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "kinds": list(self.kinds),
                "min_severity": self.min_severity, "quiet_hours": self.quiet_hours,
                "status": self.status, "detail": self.detail,
                "last_attempt_at": iso(self.last_attempt_at),
                "last_delivery_at": iso(self.last_delivery_at),
                "last_error": self.last_error, "last_error_at": iso(self.last_error_at),
                "consecutive_failures": self.consecutive_failures,
                "delivered": self.delivered, "failed": self.failed, "queued": self.queued}


def insert_delivery(result: DeliveryResult) -> int:
    """Write ``result`` to ``notify_deliveries`` (on the store's writer); its row id."""
    return NotifyDelivery.insert(
        timestamp=to_db(result.timestamp), channel=result.channel, url=result.url,
        alert_id=result.alert_id, alert_type=result.alert_type, kind=result.kind,
        severity=result.severity, status=result.status, attempts=result.attempts,
        reason=result.reason, repeats=result.repeats).execute()
