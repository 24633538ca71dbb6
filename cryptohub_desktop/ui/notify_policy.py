"""What interrupts the user: the desktop-notification policy of the tray.

Every alert is stored and listed on the Alerts page; a notification is something a
person would want to be interrupted for (SPEC section 10, "Truth on screen"):

- **kinds**: the kinds ticked in the Alerts page (:data:`~.alert_rules.KINDS`; by
  default the user's price thresholds, a provider they depend on being down, a quota
  about to run out, storage errors) at or above the chosen severity;
- **sustained**: a provider-down alert waits :attr:`AlertRules.down_minutes`; it
  notifies only if the provider is still offline then and the user depends on it
  (ticked in Providers, or a provider they entered a key for). "Back" notifies only
  after a notified outage;
- **deduplicated**: the same alert (type, provider, text with its numbers blanked)
  notifies once per :data:`DEDUPE_SECONDS`;
- **rate-limited**: at most :data:`MAX_NOTIFICATIONS` per :data:`RATE_SECONDS`; the
  next one that may show says how many were held back.

The decisions are pure (:class:`NotifyPolicy`, a clock handed in); the tray owns the
timers and the look-up of "still down?".
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptohub_desktop.ui.alert_rules import AlertRules

DEDUPE_SECONDS = 1800.0
MAX_NOTIFICATIONS = 3
RATE_SECONDS = 600.0
_NUMBER = re.compile(r"\d[\d.,]*")


@dataclass(frozen=True)
class Decision:
    """What to do with one alert.

    Attributes:
        action: "show" now, "wait" (provider down: check again after ``wait_seconds``),
            or "drop".
        reason: why (for logs and tests).
    """

    action: str
    reason: str = ""
    wait_seconds: float = 0.0


def same_key(alert: dict[str, Any]) -> str:
    """What makes two alerts "the same" for notifications."""
    text = _NUMBER.sub("#", str(alert.get("message") or ""))
    return f"{alert.get('alert_type')}|{alert.get('provider_id') or ''}|{text}"


class NotifyPolicy:
    """Decides which alerts become desktop notifications.

    Args:
        rules: the user's alert rules.
        clock: monotonic seconds (tests pass a fake).

    Attributes:
        held_back: notifications not shown because of the rate limit, since the last one.
    """

    def __init__(self, rules: AlertRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self.held_back = 0
        self._seen: dict[str, float] = {}
        self._shown: deque[float] = deque()
        self.notified_down: set[str] = set()

    def decide(self, alert: dict[str, Any]) -> Decision:
        """The first look at a stored alert."""
        kind = str(alert.get("alert_type") or "")
        pid = alert.get("provider_id")
        if kind == "provider_recovered":
            if pid not in self.notified_down:
                return Decision("drop", "its outage was not notified")
            if not self.rules.notify.get("provider_recovered", True):
                self.notified_down.discard(pid)
                return Decision("drop", "recoveries are off")
            return self._admit(alert)
        if not self.rules.notify_for(alert):
            return Decision("drop", f"{kind} does not notify")
        if kind == "provider_down":
            return Decision("wait", "a provider must stay down to interrupt",
                            self.rules.down_minutes * 60.0)
        return self._admit(alert)

    def still_down(self, alert: dict[str, Any], status: str | None,
                   key_present: bool) -> Decision:
        """After the wait: notify if the provider is still offline and depended on."""
        pid = str(alert.get("provider_id") or "")
        if status != "offline":
            return Decision("drop", f"back ({status}) within the wait")
        if not self.rules.depends_on(pid, key_present):
            return Decision("drop", "not a provider the user depends on")
        decision = self._admit(alert)
        if decision.action == "show":
            self.notified_down.add(pid)
        return decision

    def _admit(self, alert: dict[str, Any]) -> Decision:
        now = self.clock()
        key = same_key(alert)
        if now - self._seen.get(key, -DEDUPE_SECONDS) < DEDUPE_SECONDS:
            return Decision("drop", "the same alert was notified recently")
        while self._shown and now - self._shown[0] >= RATE_SECONDS:
            self._shown.popleft()
        if len(self._shown) >= MAX_NOTIFICATIONS:
            self.held_back += 1
            return Decision("drop", "too many notifications at once")
        self._seen[key] = now
        self._shown.append(now)
        if alert.get("alert_type") == "provider_recovered":
            self.notified_down.discard(str(alert.get("provider_id")))
        return Decision("show")

    def take_held_back(self) -> int:
        """How many were held back since the last notification (and reset it)."""
        n, self.held_back = self.held_back, 0
        return n
