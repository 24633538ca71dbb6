"""UTC time helpers: every timestamp in the engine is a timezone-aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_unix(seconds: float | int | str) -> datetime:
    """A Unix time in seconds (number or numeric string) as UTC."""
    return datetime.fromtimestamp(float(seconds), UTC)


def from_ms(millis: float | int | str) -> datetime:
    """A Unix time in milliseconds as UTC."""
    return datetime.fromtimestamp(float(millis) / 1000.0, UTC)


def parse_iso(text: str) -> datetime:
    """An ISO-8601 string ("2024-05-01T12:00:00Z", with or without offset) as UTC.

    A string with no offset is taken as UTC. Fractions longer than microseconds
    (some APIs send nanoseconds) are cut.
    """
    s = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in s:
        head, _, tail = s.partition(".")
        digits = ""
        rest = ""
        for i, ch in enumerate(tail):
            if not ch.isdigit():
                rest = tail[i:]
                break
            digits += ch
        s = f"{head}.{digits[:6].ljust(6, '0')}{rest}" if digits else head + rest
    dt = datetime.fromisoformat(s)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_rfc2822(text: str) -> datetime:
    """An RSS-style date ("Tue, 10 Jun 2025 04:00:00 GMT") as UTC."""
    dt = parsedate_to_datetime(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_db(dt: datetime | None) -> datetime | None:
    """Aware UTC -> naive UTC, the form stored in the database."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def from_db(dt: datetime | None) -> datetime | None:
    """Naive UTC from the database -> aware UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def iso(dt: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, as the REST API answers."""
    dt = from_db(dt)
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def human_duration(seconds: float) -> str:
    """A duration a person reads at a glance: "45 s", "12 min", "3 h 20 min", "5 days",
    "3 months", "2.4 years"."""
    s = max(0.0, float(seconds))
    if s < 90:
        return f"{s:.0f} s"
    minutes = s / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        h, m = divmod(round(minutes), 60)
        return f"{h} h" + (f" {m} min" if m and h < 10 else "")
    days = hours / 24
    if days < 60:
        return f"{days:.0f} days"
    if days < 730:
        return f"{days / 30.44:.0f} months"
    return f"{days / 365.25:.1f} years"
