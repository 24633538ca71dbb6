"""Configuration: TOML file + environment + command-line options (SPEC section 4).

Every key is optional; :func:`load_config` with no file gives a working app.
A bad value raises :class:`ConfigError` with a one-line message naming the key.

Example::

    cfg = load_config(Path("config.toml"), overrides={"server.port": 9000})
    cfg.interval_seconds("coingecko", "market_data")  # 60
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptohub_desktop.core.errors import ConfigError
from cryptohub_desktop.core.limits import RateLimit
from cryptohub_desktop.core.rules import PriceRule
from cryptohub_desktop.core.stream_settings import StreamSettings
from cryptohub_desktop.core.topics import CATEGORIES
from cryptohub_desktop.paths import DB_FILE, default_config_file, default_data_dir

DEFAULT_SCHEDULE = {
    "market_data": "every_1_min",
    "blockchain_explorers": "every_5_min",
    "news": "every_10_min",
    "sentiment": "every_15_min",
    "onchain_analytics": "every_5_min",
    "rpc_nodes": "every_5_min",
    "whale_tracking": "every_5_min",
}
DEFAULT_WATCHLIST = ["BTC", "ETH", "BNB", "SOL", "XRP"]
#: the alert kinds a [notify.channels.NAME] channel can receive (SPEC section 4)
NOTIFY_KINDS = ("price_rule", "provider_down", "quota", "staleness", "divergence",
                "instance_lost")
#: alert severities, lowest first
SEVERITIES = ("info", "warning", "critical")

_INTERVAL = re.compile(r"^every_(\d+)_(sec|second|min|minute|hour|day)s?$")
_UNIT = {"sec": 1, "second": 1, "min": 60, "minute": 60, "hour": 3600, "day": 86400}


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|min|minute|h|hour|d|day|"
                   r"month)s?\s*$", re.IGNORECASE)
_RATE_UNIT = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
              "d": 86400, "day": 86400, "month": 2592000}


def rate_limit(text: str, where: str = "rate_limit") -> RateLimit:
    """``"10/10s"`` -> 10 calls per 10 seconds; units s, min, h, day, month (a number
    before the unit multiplies it: ``"300/5min"``).

    Raises:
        ConfigError: not of that form, or zero calls or seconds.
    """
    m = _RATE.match(text)
    if not m or int(m.group(1)) <= 0 or (m.group(2) and int(m.group(2)) <= 0):
        raise ConfigError(f"{where}: {text!r} is not a limit like \"10/10s\", \"30/min\", "
                          "\"100/day\" or \"10000/month\"")
    return RateLimit(int(m.group(1)), int(m.group(2) or 1) * _RATE_UNIT[m.group(3).lower()])


def interval_to_seconds(name: str, where: str = "interval") -> int:
    """``"every_5_min"`` -> 300. Accepts sec/min/hour/day, singular or plural."""
    m = _INTERVAL.match(str(name).strip())
    if not m or int(m.group(1)) <= 0:
        raise ConfigError(f"{where}: '{name}' is not an interval like every_1_min, "
                          "every_30_sec, every_1_hour")
    return int(m.group(1)) * _UNIT[m.group(2)]


@dataclass
class ServerConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: list[str] = field(default_factory=list)
    rate_limit_per_minute: int = 600


@dataclass
class ProviderConfig:
    enabled: bool | None = None  # None: enabled when its key (if any) is present
    interval: str | None = None
    base_url: str | None = None
    ws_url: str | None = None  # the live stream's endpoint (SPEC section 14)
    ws_business_url: str | None = None  # a second stream endpoint (OKX candles)
    ws_enabled: bool = True  # false: no live stream for this provider
    rate_limits: tuple[RateLimit, ...] | None = None  # rate_limit: replaces the documented
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotifyChannelConfig:
    """One ``[notify.channels.NAME]`` table: where alerts go and which ones.

    Attributes:
        url: the apprise URL as written; ``{ENTRY_NAME}`` placeholders are resolved
            from the environment / keychain by the dispatcher, never here.
        kinds: the alert kinds it receives (default: all of :data:`NOTIFY_KINDS`).
        min_severity: the lowest severity it receives (default ``warning``).
        quiet_hours: ``(start, end)`` as minutes after local midnight, or None.
    """

    name: str
    url: str
    kinds: tuple[str, ...] = NOTIFY_KINDS
    min_severity: str = "warning"
    quiet_hours: tuple[int, int] | None = None

    @property
    def quiet_hours_text(self) -> str | None:
        """The quiet hours as written in the config (``"22:00-07:00"``)."""
        if self.quiet_hours is None:
            return None
        a, b = self.quiet_hours
        return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


@dataclass(frozen=True)
class StreamsConfig(StreamSettings):
    """``[streams]`` (SPEC sections 4 and 14): the door's timings (one definition, with
    their defaults, in :class:`StreamSettings`) plus whether streams run at all."""

    enabled: bool = True


@dataclass
class ClusterConfig:
    """``[cluster]`` (SPEC section 13): present with a ``redis_url``, a team hub.

    Attributes:
        instance_id: this instance's name in the team (default ``<hostname>-<port>``).
        trusted_proxies: addresses or networks whose ``X-Forwarded-For`` is believed.
    """

    redis_url: str = ""
    instance_id: str = ""
    lease_ttl_seconds: float = 10.0
    #: $CRYPTOHUB_REDIS_PREFIX: the team's Redis keys start with it (two teams, or tests,
    #: on one Redis)
    key_prefix: str = "cryptohub"
    trusted_proxies: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url)


@dataclass
class Config:
    """The whole configuration; ``path`` is the file it came from (may not exist)."""

    path: Path
    data_dir: Path
    server: ServerConfig = field(default_factory=ServerConfig)
    schedule: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCHEDULE))
    retention_days: int = 90
    database_url: str = ""
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    streams: StreamsConfig = field(default_factory=StreamsConfig)
    watchlist: list[str] = field(default_factory=lambda: list(DEFAULT_WATCHLIST))
    backup_keep: int = 7
    backup_daily: bool = True
    consensus_deviation_pct: float = 2.0
    consensus_max_age_seconds: int = 600
    log_level: str = "INFO"
    theme: str = "system"  # [ui] theme: system / light / dark
    price_rules: list[PriceRule] = field(default_factory=list)  # [alerts] price_rules
    hub_url: str = ""  # [hub] url: the desktop attached to a team hub (SPEC section 15)
    hub_ca_file: str = ""  # [hub] ca_file: a CA to trust for a self-signed hub
    notify_channels: dict[str, NotifyChannelConfig] = field(default_factory=dict)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def provider(self, provider_id: str) -> ProviderConfig:
        return self.providers.get(provider_id) or ProviderConfig()

    def interval_seconds(self, provider_id: str, category: str,
                         default: str | None = None) -> int:
        pc = self.provider(provider_id)
        if pc.interval:
            return interval_to_seconds(pc.interval, f"[providers.{provider_id}] interval")
        if default:
            return interval_to_seconds(default, f"{provider_id} default interval")
        return interval_to_seconds(self.schedule[category], f"[schedule] {category}")

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        names = {"str": "a string", "bool": "true or false", "int": "an integer",
                 "list": "a list"}.get(names, names)
        raise ConfigError(f"{where} must be {names}, got {value!r}")
    return value


def _unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise ConfigError(f"{where}: unknown key '{extra[0]}' (known: {', '.join(sorted(known))})")


def _port(value: Any, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{where} must be an integer 1-65535, got {value!r}")
    return value


def parse_config(raw: dict[str, Any], path: Path, data_dir: Path | None = None,
                 known_providers: set[str] | None = None) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    _unknown(raw, {"server", "schedule", "retention", "database", "providers", "watchlist",
                   "backup", "consensus", "logging", "ui", "notify", "streams", "cluster",
                   "alerts", "hub", "data_dir"},
             str(path.name))
    dd = raw.get("data_dir")
    if data_dir is None:  # --data-dir, then $CRYPTOHUB_DATA_DIR, then the file, then default
        if dd and not os.environ.get("CRYPTOHUB_DATA_DIR"):
            data_dir = Path(_expect(dd, str, "data_dir")).expanduser()
        else:
            data_dir = default_data_dir()
    cfg = Config(path=path, data_dir=data_dir)

    s = _expect(raw.get("server", {}), dict, "[server]")
    _unknown(s, {"enabled", "host", "port", "allowed_origins", "rate_limit_per_minute"},
             "[server]")
    cfg.server.enabled = _expect(s.get("enabled", True), bool, "[server] enabled")
    cfg.server.host = _expect(s.get("host", "127.0.0.1"), str, "[server] host")
    cfg.server.port = _port(s.get("port", 7860), "[server] port")
    origins = _expect(s.get("allowed_origins", []), list, "[server] allowed_origins")
    cfg.server.allowed_origins = [_expect(o, str, "[server] allowed_origins") for o in origins]
    rl = _expect(s.get("rate_limit_per_minute", 600), int, "[server] rate_limit_per_minute")
    if rl <= 0:
        raise ConfigError("[server] rate_limit_per_minute must be positive")
    cfg.server.rate_limit_per_minute = rl

    sched = _expect(raw.get("schedule", {}), dict, "[schedule]")
    _unknown(sched, set(CATEGORIES), "[schedule]")
    for cat, name in sched.items():
        interval_to_seconds(_expect(name, str, f"[schedule] {cat}"), f"[schedule] {cat}")
        cfg.schedule[cat] = name

    ret = _expect(raw.get("retention", {}), dict, "[retention]")
    _unknown(ret, {"days"}, "[retention]")
    days = _expect(ret.get("days", 90), int, "[retention] days")
    if days < 0:
        raise ConfigError("[retention] days must be 0 (keep forever) or more")
    cfg.retention_days = days

    db = _expect(raw.get("database", {}), dict, "[database]")
    _unknown(db, {"url"}, "[database]")
    url = _expect(db.get("url", ""), str, "[database] url").strip()
    where = "[database] url"
    if os.environ.get("CRYPTOHUB_DATABASE_URL", "").strip():  # the environment wins
        url, where = os.environ["CRYPTOHUB_DATABASE_URL"].strip(), "CRYPTOHUB_DATABASE_URL"
    cfg.database_url = _database_url(url, where) if url else f"sqlite:///{cfg.db_path}"

    wl = _expect(raw.get("watchlist", {}), dict, "[watchlist]")
    _unknown(wl, {"symbols"}, "[watchlist]")
    symbols = _expect(wl.get("symbols", DEFAULT_WATCHLIST), list, "[watchlist] symbols")
    cfg.watchlist = [_expect(x, str, "[watchlist] symbols").strip().upper() for x in symbols]
    if not all(re.fullmatch(r"[A-Z0-9]{1,15}", x) for x in cfg.watchlist):
        raise ConfigError(f"[watchlist] symbols must be plain symbols like BTC, got {symbols!r}")

    bk = _expect(raw.get("backup", {}), dict, "[backup]")
    _unknown(bk, {"keep", "daily"}, "[backup]")
    cfg.backup_keep = _expect(bk.get("keep", 7), int, "[backup] keep")
    if cfg.backup_keep < 1:
        raise ConfigError("[backup] keep must be at least 1")
    cfg.backup_daily = _expect(bk.get("daily", True), bool, "[backup] daily")

    cons = _expect(raw.get("consensus", {}), dict, "[consensus]")
    _unknown(cons, {"deviation_pct", "max_age_seconds"}, "[consensus]")
    cfg.consensus_deviation_pct = float(_expect(cons.get("deviation_pct", 2.0), (int, float),
                                                "[consensus] deviation_pct"))
    cfg.consensus_max_age_seconds = _expect(cons.get("max_age_seconds", 600), int,
                                            "[consensus] max_age_seconds")

    lg = _expect(raw.get("logging", {}), dict, "[logging]")
    _unknown(lg, {"level"}, "[logging]")
    cfg.log_level = _level(lg.get("level", "INFO"), "[logging] level")

    ui = _expect(raw.get("ui", {}), dict, "[ui]")
    _unknown(ui, {"theme"}, "[ui]")
    cfg.theme = _expect(ui.get("theme", "system"), str, "[ui] theme")
    if cfg.theme not in ("system", "light", "dark"):
        raise ConfigError(f"[ui] theme must be system, light or dark, got {cfg.theme!r}")

    cfg.notify_channels = _notify(raw.get("notify", {}))
    cfg.cluster = _cluster(_expect(raw.get("cluster", {}), dict, "[cluster]"), cfg)
    hub = _expect(raw.get("hub", {}), dict, "[hub]")
    _unknown(hub, {"url", "ca_file"}, "[hub]")
    cfg.hub_url = _expect(hub.get("url", ""), str, "[hub] url").strip()
    if cfg.hub_url and not re.match(r"^https?://[^/\s]+", cfg.hub_url):
        raise ConfigError(f"[hub] url must be http(s)://host[:port], got {cfg.hub_url!r}")
    cfg.hub_ca_file = _expect(hub.get("ca_file", ""), str, "[hub] ca_file")
    al = _expect(raw.get("alerts", {}), dict, "[alerts]")
    _unknown(al, {"price_rules"}, "[alerts]")
    for text in _expect(al.get("price_rules", []), list, "[alerts] price_rules"):
        try:
            cfg.price_rules.append(PriceRule.parse(_expect(text, str, "[alerts] price_rules")))
        except ValueError as exc:
            raise ConfigError(f"[alerts] price_rules: {exc}") from None
    cfg.streams = _streams(_expect(raw.get("streams", {}), dict, "[streams]"))

    provs = _expect(raw.get("providers", {}), dict, "[providers]")
    for pid, table in provs.items():
        where = f"[providers.{pid}]"
        if known_providers is not None and pid not in known_providers:
            raise ConfigError(f"{where}: unknown provider id '{pid}' (see `cryptohub-desktop providers`)")
        table = dict(_expect(table, dict, where))
        pc = ProviderConfig()
        if "enabled" in table:
            pc.enabled = _expect(table.pop("enabled"), bool, f"{where} enabled")
        if "interval" in table:
            pc.interval = _expect(table.pop("interval"), str, f"{where} interval")
            interval_to_seconds(pc.interval, f"{where} interval")
        if "rate_limit" in table:
            value = table.pop("rate_limit")
            texts = value if isinstance(value, list) else [value]
            pc.rate_limits = tuple(rate_limit(_expect(v, str, f"{where} rate_limit"),
                                              f"{where} rate_limit") for v in texts)
            if not pc.rate_limits:
                raise ConfigError(f"{where} rate_limit must name at least one limit")
        if "base_url" in table:
            pc.base_url = _expect(table.pop("base_url"), str, f"{where} base_url")
            if not pc.base_url.startswith(("http://", "https://")):
                raise ConfigError(f"{where} base_url must start with http:// or https://")
        for key in ("ws_url", "ws_business_url"):
            if key in table:
                url = _expect(table.pop(key), str, f"{where} {key}")
                if not url.startswith(("ws://", "wss://")) or len(url) <= len("wss://"):
                    raise ConfigError(f"{where} {key} must be a ws:// or wss:// URL, got {url!r}")
                setattr(pc, key, url)
        if "ws_enabled" in table:
            pc.ws_enabled = _expect(table.pop("ws_enabled"), bool, f"{where} ws_enabled")
        pc.options = table
        cfg.providers[pid] = pc
    return cfg


_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ENTRY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_QUIET = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)$")


def _notify(value: Any) -> dict[str, NotifyChannelConfig]:
    """``[notify]``: only ``[notify.channels.NAME]`` tables, each checked key by key."""
    table = _expect(value, dict, "[notify]")
    _unknown(table, {"channels"}, "[notify]")
    channels = _expect(table.get("channels", {}), dict, "[notify.channels]")
    out: dict[str, NotifyChannelConfig] = {}
    for name, raw in channels.items():
        where = f"[notify.channels.{name}]"
        if not _CHANNEL_NAME.match(name):
            raise ConfigError(f"{where}: a channel name is letters, digits, - and _ "
                              "(at most 40)")
        raw = _expect(raw, dict, where)
        _unknown(raw, {"url", "kinds", "min_severity", "quiet_hours"}, where)
        if "url" not in raw:
            raise ConfigError(f"{where} url is required (an apprise URL like "
                              "json://host/path or mailto://...)")
        url = _expect(raw["url"], str, f"{where} url").strip()
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$", url):
            raise ConfigError(f"{where} url must be an apprise URL like schema://..., "
                              "without spaces")
        for inner in _PLACEHOLDER.findall(url):
            if not _ENTRY_NAME.match(inner):
                raise ConfigError(f"{where} url: placeholder {{{inner}}} must be an entry "
                                  "name in upper case, like {TELEGRAM_BOT_TOKEN}")
        kinds = _expect(raw.get("kinds", list(NOTIFY_KINDS)), list, f"{where} kinds")
        for k in kinds:
            if k not in NOTIFY_KINDS:
                raise ConfigError(f"{where} kinds: unknown kind {k!r} "
                                  f"(known: {', '.join(NOTIFY_KINDS)})")
        if not kinds:
            raise ConfigError(f"{where} kinds must name at least one of "
                              f"{', '.join(NOTIFY_KINDS)}")
        severity = raw.get("min_severity", "warning")
        if severity not in SEVERITIES:
            raise ConfigError(f"{where} min_severity must be info, warning or critical, "
                              f"got {severity!r}")
        quiet = None
        if "quiet_hours" in raw:
            quiet = _quiet_hours(_expect(raw["quiet_hours"], str, f"{where} quiet_hours"),
                                 f"{where} quiet_hours")
        out[name] = NotifyChannelConfig(name=name, url=url,
                                        kinds=tuple(k for k in NOTIFY_KINDS if k in kinds),
                                        min_severity=severity, quiet_hours=quiet)
    return out


def _quiet_hours(text: str, where: str) -> tuple[int, int]:
    m = _QUIET.match(text.replace(" ", ""))
    if not m:
        raise ConfigError(f"{where} must be local times like \"22:00-07:00\", got {text!r}")
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if start == end:
        raise ConfigError(f"{where}: start and end are the same time ({text!r}); "
                          "leave quiet_hours out for none")
    return start, end



_STREAM_SECONDS = ("stale_after_seconds", "ping_interval_seconds", "pong_timeout_seconds",
                   "reconnect_initial_seconds", "reconnect_max_seconds",
                   "rest_fallback_after_seconds")


def _streams(table: dict[str, Any]) -> StreamsConfig:
    """``[streams]``: positive numbers of seconds, a positive connection budget."""
    _unknown(table, {"enabled", "max_connects_per_5min", *_STREAM_SECONDS}, "[streams]")
    default = StreamsConfig()
    values: dict[str, Any] = {
        "enabled": _expect(table.get("enabled", True), bool, "[streams] enabled")}
    for key in _STREAM_SECONDS:
        value = _expect(table.get(key, getattr(default, key)), (int, float),
                        f"[streams] {key}")
        if not value > 0:
            raise ConfigError(f"[streams] {key} must be more than 0 seconds, got {value!r}")
        values[key] = float(value)
    budget = _expect(table.get("max_connects_per_5min", default.max_connects_per_5min), int,
                     "[streams] max_connects_per_5min")
    if budget < 1:
        raise ConfigError(f"[streams] max_connects_per_5min must be at least 1, got {budget}")
    out = StreamsConfig(**values, max_connects_per_5min=budget)
    if out.reconnect_max_seconds < out.reconnect_initial_seconds:
        raise ConfigError("[streams] reconnect_max_seconds must not be less than "
                          f"reconnect_initial_seconds ({out.reconnect_initial_seconds:g})")
    return out


def _cluster(table: dict[str, Any], cfg: Config) -> ClusterConfig:
    """``[cluster]``; ``$CRYPTOHUB_REDIS_URL`` wins over ``redis_url``."""
    _unknown(table, {"redis_url", "instance_id", "lease_ttl_seconds", "trusted_proxies"},
             "[cluster]")
    out = ClusterConfig()
    out.redis_url = (os.environ.get("CRYPTOHUB_REDIS_URL")
                     or _expect(table.get("redis_url", ""), str, "[cluster] redis_url"))
    if out.redis_url and not out.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"[cluster] redis_url must be a Redis URL like "
                          f"redis://127.0.0.1:6379/0, got {out.redis_url!r}")
    out.instance_id = _expect(table.get("instance_id", ""), str, "[cluster] instance_id") or (
        f"{socket.gethostname()}-{cfg.server.port}")
    if not re.fullmatch(r"[A-Za-z0-9._:-]{1,100}", out.instance_id):
        raise ConfigError("[cluster] instance_id must be letters, digits and . _ : - "
                          f"(at most 100), got {out.instance_id!r}")
    ttl = _expect(table.get("lease_ttl_seconds", 10), (int, float), "[cluster] lease_ttl_seconds")
    if not 1 <= ttl <= 600:
        raise ConfigError(f"[cluster] lease_ttl_seconds must be 1-600, got {ttl!r}")
    out.lease_ttl_seconds = float(ttl)
    out.key_prefix = os.environ.get("CRYPTOHUB_REDIS_PREFIX") or "cryptohub"
    proxies = _expect(table.get("trusted_proxies", []), list, "[cluster] trusted_proxies")
    for p in proxies:
        try:
            ipaddress.ip_network(_expect(p, str, "[cluster] trusted_proxies"), strict=False)
        except ValueError:
            raise ConfigError(f"[cluster] trusted_proxies: {p!r} is not an address or a "
                              "network like 10.0.0.0/8") from None
    out.trusted_proxies = list(proxies)
    if out.enabled and not cfg.database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("[cluster] redis_url needs a PostgreSQL [database] url: several "
                          "instances cannot share one SQLite file")
    return out


_DB_URL = re.compile(r"^(sqlite|postgresql|postgres)://(.*)$", re.IGNORECASE)


def _database_url(url: str, where: str) -> str:
    """A database URL: ``sqlite:///path`` or ``postgresql://user@host:port/name`` (a
    password as ``{ENTRY_NAME}`` is filled from the keychain or the environment when the
    database opens). Never echoes the URL back: it may hold a password."""
    m = _DB_URL.match(url)
    if not m:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        raise ConfigError(f"{where} must be sqlite:///path or postgresql://user@host/database"
                          + (f" (not {scheme}://)" if scheme else ""))
    rest = m.group(2)
    if m.group(1).lower() == "sqlite" and not rest.strip("/"):
        raise ConfigError(f"{where}: sqlite:/// needs a file path")
    if m.group(1).lower() != "sqlite" and not rest.partition("?")[0].partition("/")[2]:
        raise ConfigError(f"{where} names no database (postgresql://user@host:5432/DATABASE)")
    for inner in _PLACEHOLDER.findall(url):
        if not _ENTRY_NAME.match(inner):
            raise ConfigError(f"{where}: placeholder {{{inner}}} must be an entry name in "
                              "upper case, like {CRYPTOHUB_DB_PASSWORD}")
    return url


def _level(value: Any, where: str) -> str:
    level = str(value).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{where} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


def load_config(path: Path | None = None, *, data_dir: Path | None = None,
                overrides: dict[str, Any] | None = None,
                known_providers: set[str] | None = None) -> Config:
    """Read the config file (missing file = all defaults) and apply overrides.

    Args:
        path: the TOML file; None = ``$CRYPTOHUB_CONFIG`` or the platform default.
        data_dir: ``--data-dir``; wins over the file and ``$CRYPTOHUB_DATA_DIR``.
        overrides: command-line values by dotted name ("server.port", "server.host",
            "server.enabled", "logging.level").
        known_providers: provider ids; a ``[providers.X]`` for another id is an error.

    Raises:
        ConfigError: unreadable file, bad TOML or a bad value.
    """
    explicit = path is not None
    path = path or default_config_file()
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        raw.setdefault(section, {})[key] = value
    return parse_config(raw, path, data_dir=data_dir, known_providers=known_providers)
