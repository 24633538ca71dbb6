"""Display formats shared by every view (numbers, money, ages, times with their zone).

Times are shown in the zone the user chose (Settings → Window → Times: the computer's
local zone, the default, or UTC) and always say which zone it is; dates carry the year
when it is not this year.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from cryptohub_desktop.core.time import human_duration, parse_iso, utcnow

ZONES = ("local", "utc")
_zone = {"mode": "local"}


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
    """"12 s ago", "5 min ago", "3 h ago", "2 d ago"; older than 60 days: "2.4 years ago"."""
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
    if s < 86400 * 60:
        return f"{s / 86400:.0f} d ago"
    return f"{human_duration(s)} ago"


def set_zone(mode: str) -> None:
    """Show times in the computer's local zone ("local") or in UTC ("utc")."""
    if mode not in ZONES:
        raise ValueError(f"times must be one of {', '.join(ZONES)}")
    _zone["mode"] = mode


def zone_mode() -> str:
    return _zone["mode"]


def zone() -> tzinfo:
    """The zone times are shown in."""
    if _zone["mode"] == "utc":
        return UTC
    tz = datetime.now().astimezone().tzinfo
    return tz if tz is not None else UTC


def in_zone(t: datetime) -> datetime:
    return t.astimezone(zone())


def zone_name(t: datetime | None = None) -> str:
    """The zone's short name ("UTC", "CET"; "UTC+05:30" where the OS has no name)."""
    local_t = in_zone(t or utcnow())
    name = local_t.tzname() or ""
    if not name or name[0] in "+-":
        off = local_t.utcoffset()
        minutes = int(off.total_seconds() // 60) if off is not None else 0
        name = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return name


def ago_short(value: Any, now: datetime | None = None) -> str:
    """A compact age for narrow columns: "15 s", "5 min", "3 h", "2 d", "12 mo", "3 y"."""
    s = age(value, now)
    if s is None:
        return ""
    for limit, div, unit in ((60, 1, "s"), (3600, 60, "min"), (172800, 3600, "h"),
                             (86400 * 60, 86400, "d"), (86400 * 730, 86400 * 30.44, "mo")):
        if s < limit:
            return f"{s / div:.0f} {unit}"
    return f"{s / (86400 * 365.25):.0f} y"


def local(value: Any, seconds: bool = False) -> str:
    """A UTC time in the chosen zone with its name: "2026-12-07 14:02 CET"."""
    t = when(value)
    if t is None:
        return ""
    lt = in_zone(t)
    return (f"{lt:%Y-%m-%d %H:%M:%S}" if seconds else f"{lt:%Y-%m-%d %H:%M}") \
        + f" {zone_name(t)}"


def short(value: Any, now: datetime | None = None) -> str:
    """A compact time: "14:02 CET" today, "7 Dec 14:02 CET" this year, "17 May 2025"
    before."""
    t = when(value)
    if t is None:
        return ""
    lt = in_zone(t)
    today = in_zone(now or utcnow())
    if lt.date() == today.date():
        return f"{lt:%H:%M} {zone_name(t)}"
    if lt.year == today.year:
        return f"{lt.day} {lt:%b %H:%M} {zone_name(t)}"
    return f"{lt.day} {lt:%b %Y}"


def age(value: Any, now: datetime | None = None) -> float | None:
    """Seconds since ``value`` (None if absent)."""
    t = when(value)
    if t is None:
        return None
    return max(0.0, ((now or utcnow()) - t).total_seconds())


def as_of(value: Any, limit_seconds: float | None = None, now: datetime | None = None) -> str:
    """"3 min ago" — or "stale: 3.7 years old (17 May 2023)" past ``limit_seconds``."""
    a = age(value, now)
    if a is None:
        return "no data yet"
    if limit_seconds is not None and a > limit_seconds:
        return f"stale: {human_duration(a)} old ({short(value, now)})"
    return ago(value, now)


def is_stale(value: Any, limit_seconds: float, now: datetime | None = None) -> bool:
    a = age(value, now)
    return a is not None and a > limit_seconds


def minutes(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return human_duration(x * 60)


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


_TOKEN = re.compile(r"every_(\d+)_(sec|min|hour|day)s?")
_UNIT = {"sec": "s", "min": "min", "hour": "h", "day": "d"}


def interval_name(token: Any) -> str:
    """A config interval token for people: "every_1_min" -> "every 1 min"."""
    text = str(token or "")
    m = _TOKEN.fullmatch(text.strip())
    if not m:
        return text.replace("_", " ")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "sec":
        return f"every {n} s"
    if unit == "hour":
        return "every hour" if n == 1 else f"every {n} hours"
    if unit == "day":
        return "every day" if n == 1 else f"every {n} days"
    return f"every {n} min"


def interval_token(text: str) -> str:
    """The inverse of :func:`interval_name` ("every 5 min" -> "every_5_min"); a token
    stays a token."""
    t = text.strip().lower()
    if _TOKEN.fullmatch(t):
        return t
    m = re.fullmatch(r"every\s+(\d+)?\s*(s|sec|seconds?|min|minutes?|h|hours?|d|days?)", t)
    if not m:
        return t.replace(" ", "_")
    n = m.group(1) or "1"
    unit = m.group(2)[0]
    return f"every_{n}_" + {"s": "sec", "m": "min", "h": "hour", "d": "day"}[unit]


HASHRATE_UNITS = ((1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"), (1e6, "MH/s"),
                  (1e3, "kH/s"))


def hashrate(v: Any) -> str:
    """Hashes per second with their unit: "92.90 EH/s"."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    for div, unit in HASHRATE_UNITS:
        if abs(x) >= div:
            return f"{x / div:,.2f} {unit}"
    return f"{x:,.0f} H/s"


#: words kept as written in metric names
_ACRONYMS = {"tvl": "TVL", "usd": "(USD)", "btc": "BTC", "eth": "ETH", "nvt": "NVT",
             "mvrv": "MVRV", "tx": "transactions", "cnt": "count", "adr": "addresses",
             "act": "active", "ghs": "(GH/s)", "ths": "(TH/s)", "ehs": "(EH/s)",
             "pct": "(%)", "gwei": "(gwei)"}


def metric_name(name: Any) -> str:
    """A metric id for people: "tvl_usd" -> "TVL (USD)", "news_positive_count" ->
    "News positive count"."""
    words = [w for w in re.split(r"[_\s]+", str(name or "")) if w]
    out = [_ACRONYMS.get(w.lower(), w) for w in words]
    text = " ".join(out)
    return text[:1].upper() + text[1:]


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
