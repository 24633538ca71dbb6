"""Display formats shared by every view (numbers, money, ages, local times)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptohub_desktop.core.time import parse_iso, utcnow


def when(value: Any) -> datetime | None:
    """An ISO string or datetime as an aware UTC datetime (None if absent/bad)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


def money(v: Any) -> str:
    """$67,187.34 / $0.5123 / $0.00001234: enough digits for cheap coins."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    a = abs(x)
    if a >= 1000:
        return f"${x:,.2f}"
    if a >= 1:
        return f"${x:,.4f}".rstrip("0").rstrip(".") if a < 10 else f"${x:,.2f}"
    if a == 0:
        return "$0"
    return f"${x:.6g}"


def compact(v: Any, prefix: str = "") -> str:
    """1.23B / 456.7M / 12.3K (E and P above a trillion trillion, for hash rates)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    for div, unit in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"),
                      (1e3, "K")):
        if abs(x) >= div:
            return f"{prefix}{x / div:,.2f}{unit}"
    return f"{prefix}{x:,.2f}" if x % 1 else f"{prefix}{x:,.0f}"


def pct(v: Any, signed: bool = True) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{x:+.2f}%" if signed else f"{x:.1f}%"


def ms(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{x:,.0f} ms"


def number(v: Any, digits: int = 2) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{x:,.{digits}f}" if x % 1 else f"{x:,.0f}"


def ago(value: Any, now: datetime | None = None) -> str:
    """"12 s ago", "5 min ago", "3 h ago", "2 d ago"."""
    t = when(value)
    if t is None:
        return ""
    s = max(0.0, ((now or utcnow()) - t).total_seconds())
    if s < 60:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s / 60:.0f} min ago"
    if s < 86400 * 2:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} d ago"


def local(value: Any, seconds: bool = False) -> str:
    """A UTC time shown in the user's local time zone."""
    t = when(value)
    if t is None:
        return ""
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def minutes(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    if x < 1:
        return f"{x * 60:.0f} s"
    if x < 120:
        return f"{x:.0f} min"
    if x < 2880:
        return f"{x / 60:.1f} h"
    return f"{x / 1440:.1f} d"


def size(n: Any) -> str:
    try:
        x = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if x < 1024 or unit == "GB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return ""


def short_hash(h: Any, n: int = 8) -> str:
    s = str(h or "")
    return s if len(s) <= 2 * n + 1 else f"{s[:n]}…{s[-n // 2:]}"


def interval_label(seconds: Any) -> str:
    try:
        s = int(seconds)
    except (TypeError, ValueError):
        return str(seconds or "")
    if s % 86400 == 0:
        return f"every {s // 86400} d"
    if s % 3600 == 0:
        return f"every {s // 3600} h"
    if s % 60 == 0:
        return f"every {s // 60} min"
    return f"every {s} s"
