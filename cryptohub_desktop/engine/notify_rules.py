"""The pure half of alert delivery: what an alert is, which channel takes it, what
the message says, and how a channel URL's secrets are filled in and masked.

No I/O here (the dispatcher in :mod:`cryptohub_desktop.engine.notify` does that), so
every rule is tested without sockets.

Kinds: the engine's ``alert_type`` values map onto the six channel kinds of SPEC
section 4 (:data:`KIND_OF`)::

    price_threshold, price_rule      -> price_rule
    provider_down, provider_recovered -> provider_down   (the recovery is "info")
    rate_limit_warning, quota        -> quota
    staleness                        -> staleness
    price_deviation, divergence      -> divergence
    instance_lost                    -> instance_lost

Any other type (today ``storage_error``) goes to no channel.

Placeholders: ``{ENTRY_NAME}`` in a channel URL (upper case, digits, ``_``) is
replaced by that entry from the environment or the keychain (``Secrets.get``), as
API keys are. The value is inserted as it is stored: a secret with URL-reserved
characters (``@ / : ?``) must be stored percent-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptohub_desktop.config import SEVERITIES, NotifyChannelConfig
from cryptohub_desktop.core.masking import mask, scrub
from cryptohub_desktop.core.time import parse_iso, utcnow

#: engine alert_type -> channel kind
KIND_OF = {
    "price_threshold": "price_rule", "price_rule": "price_rule",
    "provider_down": "provider_down", "provider_recovered": "provider_down",
    "rate_limit_warning": "quota", "quota": "quota",
    "staleness": "staleness",
    "price_deviation": "divergence", "divergence": "divergence",
    "instance_lost": "instance_lost",
}
LABEL = {"price_rule": "price rule", "provider_down": "provider down", "quota": "quota",
         "staleness": "stale data", "divergence": "source divergence",
         "instance_lost": "instance lost"}
RANK = {s: i for i, s in enumerate(SEVERITIES)}
DETAIL_KEYS = ("symbol", "price", "rule")
PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_NUMBER = re.compile(r"\d[\d.,]*")
#: apprise's credential arguments that core.masking's patterns do not know (pass=, pwd=)
_CREDENTIAL_ARG = re.compile(r"(?i)((?:^|&)(?:pass|pwd|secret)=)([^&\s]+)")


@dataclass(frozen=True)
class AlertEvent:
    """One alert as the dispatcher sees it.

    Attributes:
        alert_type: the engine's type (``price_threshold``, ``provider_down`` ...).
        severity: info, warning or critical.
        message: the alert's one-line text.
        provider_id: the provider it is about, if any.
        timestamp: when it was raised (aware UTC).
        alert_id: the ``alerts`` row id, when it was stored.
        dedupe: an explicit "same alert" key; default: see :func:`dedupe_key`.
        details: extra lines for the message (``symbol``, ``price``, ``rule``).
    """

    alert_type: str
    severity: str
    message: str
    provider_id: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    alert_id: int | None = None
    dedupe: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        """The channel kind, or None: an alert type no channel receives."""
        return KIND_OF.get(self.alert_type)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertEvent:
        """From an ``alerts`` row as the hub publishes it (``id``, ``timestamp`` as a
        datetime or ISO text, ``alert_type``, ``severity``, ``message``,
        ``provider_id``), plus optional ``dedupe``, ``symbol``, ``price``, ``rule``."""
        ts = row.get("timestamp")
        if isinstance(ts, str):
            ts = parse_iso(ts)
        elif isinstance(ts, datetime):
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        else:
            ts = utcnow()
        severity = str(row.get("severity") or "warning")
        return cls(alert_type=str(row.get("alert_type") or ""),
                   severity=severity if severity in RANK else "warning",
                   message=str(row.get("message") or ""), provider_id=row.get("provider_id"),
                   timestamp=ts, alert_id=row.get("id"), dedupe=row.get("dedupe"),
                   details={k: str(row[k]) for k in DETAIL_KEYS if row.get(k) is not None})


def in_quiet_hours(window: tuple[int, int] | None, local: datetime) -> bool:
    """Whether local time ``local`` falls in ``window`` (minutes after midnight,
    start included, end excluded; a start after the end wraps past midnight)."""
    if window is None:
        return False
    start, end = window
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def accepts(channel: NotifyChannelConfig, event: AlertEvent, local: datetime) -> str | None:
    """None if ``channel`` takes ``event`` at local time ``local``, else why not.

    Rules: the kind must be one of the channel's kinds, the severity at least its
    min_severity, and during its quiet hours only critical alerts go out (the others
    are dropped, not held back for the morning).
    """
    if event.kind is None:
        return f"alert type {event.alert_type} goes to no channel"
    if event.kind not in channel.kinds:
        return f"kind {event.kind} not in kinds"
    if RANK.get(event.severity, 1) < RANK[channel.min_severity]:
        return f"{event.severity} is below min_severity {channel.min_severity}"
    if event.severity != "critical" and in_quiet_hours(channel.quiet_hours, local):
        return f"quiet hours {channel.quiet_hours_text}"
    return None


def dedupe_key(event: AlertEvent) -> str:
    """What makes two alerts "the same": the explicit ``dedupe`` key, else type,
    provider and the message with its numbers blanked (so "used 81/100 calls" and
    "used 85/100 calls" are one alert). A price rule is the same alert for the same
    rule: its ``rule`` detail, or the message up to the first colon (the UI writes
    "BTC above 70,000: consensus price is now ...")."""
    if event.dedupe:
        return event.dedupe
    if event.kind == "price_rule":
        subject = event.details.get("rule") or event.message.split(":", 1)[0]
    else:
        subject = _NUMBER.sub("#", event.message)
    return f"{event.alert_type}|{event.provider_id or ''}|{subject}"


def render(event: AlertEvent, host: str, repeats: int = 0,
           window_seconds: float = 0.0) -> tuple[str, str]:
    """The message (title, plain-text body) for ``event``; with ``repeats`` > 0 the
    summary of that many repeats seen within ``window_seconds`` (``event`` is the last)."""
    label = "provider back" if event.alert_type == "provider_recovered" else \
        LABEL.get(event.kind or "", event.alert_type)
    title = f"[{event.severity.upper()}] Crypto Hub: {label}"
    lines = []
    if repeats:
        title += f" ({repeats} more like this)"
        lines += [f"{repeats} more like this in the last {_duration(window_seconds)}; "
                  "the last one:"]
    lines += [event.message, ""]
    lines += [f"{k}: {event.details[k]}" for k in DETAIL_KEYS if k in event.details]
    if event.provider_id:
        lines.append(f"provider: {event.provider_id}")
    lines.append(f"time: {event.timestamp.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if event.alert_id is not None:
        lines.append(f"alert: #{event.alert_id} ({event.alert_type})")
    lines.append(f"from: {host}")
    return title, "\n".join(lines)


def render_test(channel: str, host: str, now: datetime) -> tuple[str, str]:
    """The test message of ``notify test`` and the Settings "Send test" button."""
    return ("Crypto Hub: test message",
            f"A test from Crypto Hub Desktop on {host} to channel '{channel}' at "
            f"{now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC.\n"
            "If you read this, alerts will reach you here.")


@dataclass(frozen=True)
class ResolvedUrl:
    """A channel URL with its placeholders filled in.

    Attributes:
        url: the URL apprise gets (contains the secrets: never log or store it).
        secrets: the values inserted, for masking.
        missing: entry names with no value in the environment or keychain.
    """

    url: str
    secrets: tuple[str, ...]
    missing: tuple[str, ...]


def resolve_url(template: str, lookup: Callable[[str], str | None]) -> ResolvedUrl:
    """Fill ``{ENTRY_NAME}`` placeholders with ``lookup(name)`` (``Secrets.get``:
    environment first, then the keychain; it blocks, so call it off the event loop)."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in dict.fromkeys(PLACEHOLDER.findall(template)):
        value = lookup(name)
        if value:
            values[name] = value
        else:
            missing.append(name)
    url = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return ResolvedUrl(url, tuple(values.values()), tuple(missing))


def display_url(template: str, known: Iterable[str] = ()) -> str:
    """The channel URL as it may be printed, stored or answered: placeholders stay as
    written (``{TELEGRAM_BOT_TOKEN}``), while known secret values and what looks like a
    secret (``user:password@``, ``token=...``) are masked (:func:`core.masking.scrub`)."""
    names = PLACEHOLDER.findall(template)
    # a space cannot be part of any masked secret pattern, so the marks survive scrub
    marked = PLACEHOLDER.sub(lambda m: f" {names.index(m.group(1))} ", template)
    # the query apart: scrub's user:password@ pattern would take "host:25?from=a@b" for one
    head, sep, query = marked.partition("?")
    query = _CREDENTIAL_ARG.sub(lambda m: m.group(1) + mask(m.group(2)), query)
    text = scrub(head, tuple(known)) + sep + scrub(query, tuple(known))
    return re.sub(r" (\d+) ", lambda m: "{" + names[int(m.group(1))] + "}", text)


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
