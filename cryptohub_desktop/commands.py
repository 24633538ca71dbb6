"""The composition roots of every command: gui, serve, collect, backfill, providers,
keys, backup, restore, check, notify, db migrate.

Each builds what its command needs (the engine, the local server, the window)
from the configuration and runs it. Qt is imported only by :func:`_gui`. The
commands that write the database hold the data folder's lock (``lockfile.py``)
while they run; ``restore`` takes it too, so it never runs beside a writer.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.api.remote import RemoteApi
from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.config import Config, ServerConfig
from cryptohub_desktop.core.errors import StoreError, UserError
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.engine.backfill import STEP, backfill
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.engine.notify import AlertDispatcher, DeliveryPolicy, DeliveryResult
from cryptohub_desktop.lockfile import hold, holder
from cryptohub_desktop.logs import setup_logging
from cryptohub_desktop.paths import ensure_layout
from cryptohub_desktop.portinfo import listener, port_free
from cryptohub_desktop.progress import BackfillProgress, CollectProgress, RowsProgress
from cryptohub_desktop.providers.quotas import FILE_NAME as QUOTA_FILE
from cryptohub_desktop.providers.quotas import PersistentLimits
from cryptohub_desktop.providers.spec import key_names
from cryptohub_desktop.secrets import HUB_TOKEN, KeychainUnavailable, Secrets, parse_env_file
from cryptohub_desktop.server import ServerHandle, start_server
from cryptohub_desktop.storage.backends import PLACEHOLDER, display_url
from cryptohub_desktop.storage.store import Store, restore_backup, rotate_backups
from cryptohub_desktop.storage.transfer import transfer

log = logging.getLogger("cryptohub.cli")

#: commands that write the database: each holds the data folder's lock while it runs
WRITERS = ("gui", "serve", "collect", "backfill", "restore")


def run(command: str, cfg: Config, args: argparse.Namespace) -> int:
    secrets = Secrets()
    if command in ("gui", "serve", "collect", "backfill", "backup", "check", "notify"):
        try:
            ensure_layout(cfg.data_dir)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {cfg.data_dir}: {exc}") from exc
        # the window and notify (its own table) log to the files only
        setup_logging(cfg.data_dir, cfg.log_level, lambda: secrets.seen,
                      console=command not in ("gui", "notify"))
    handler = {"gui": _gui, "serve": _serve, "collect": _collect, "backfill": _backfill,
               "providers": _providers, "keys": _keys, "backup": _backup, "restore": _restore,
               "check": _check, "notify": _notify, "db": _db}[command]
    if command in WRITERS and not (command == "gui" and cfg.hub_url):
        with hold(cfg.data_dir, command):  # LockHeld: one line naming the holder's pid
            return handler(cfg, args, secrets)
    return handler(cfg, args, secrets)


def make_hub(cfg: Config, secrets: Secrets) -> Hub:
    """The engine (see :func:`engine`)."""
    return engine(cfg, secrets)[0]


def engine(cfg: Config, secrets: Secrets) -> tuple[Hub, Any]:
    """The engine, and the team it belongs to (None when alone).

    Alone, its day and month quotas live in ``ratelimits.db`` beside the database, so
    they survive restarts; one instance of a team hub (``[cluster] redis_url``) has
    every limit in Redis, shared by the team, its updates on Redis Streams and its
    providers under leases.
    """
    if not cfg.cluster.enabled:
        limits = PersistentLimits(cfg.data_dir / QUOTA_FILE)
        return Hub(cfg, PROVIDERS, secrets, limits=limits), None
    # the team's drivers (Redis, psycopg) load only for a team hub, like a database
    # backend loads only for its URL: a desktop's start does not pay for them
    from cryptohub_desktop.cluster.team import Team
    team = Team(cfg, secrets.get)
    return Hub(cfg, PROVIDERS, secrets, **team.ports()), team


# --- gui --------------------------------------------------------------------------------
def _gui(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    from cryptohub_desktop.ui.app import run_gui  # Qt: only for the window

    if cfg.hub_url:  # attached to a team hub: no engine, no store, no local server here
        token = secrets.get(HUB_TOKEN)
        remote = RemoteApi(cfg.hub_url, token, ca_file=cfg.hub_ca_file or None)
        return run_gui(cfg, remote, secrets, None)
    api = LocalApi(make_hub(cfg, secrets))
    return run_gui(cfg, api, secrets, serving(api, secrets))


def serving(api: HubApi, secrets: Secrets) -> Callable[[ServerConfig], Awaitable[ServerHandle]]:
    """How the window starts the local server for ``api`` (on the GUI's own loop)."""
    def serve(server_cfg: ServerConfig) -> Awaitable[ServerHandle]:
        return start_server(api, server_cfg, secrets)
    return serve


# --- serve ------------------------------------------------------------------------------
def _serve(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    if cfg.server.enabled and not port_free(cfg.server.host, cfg.server.port):
        who = listener(cfg.server.port)
        raise UserError(f"port {cfg.server.port} on {cfg.server.host} is in use"
                        + (f" by {who.describe()}" if who else "") + " (use --port)")
    return asyncio.run(_serve_async(cfg, secrets))


async def _serve_async(cfg: Config, secrets: Secrets) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    hub, team = engine(cfg, secrets)
    server = None
    try:
        await hub.start()
        # start-up objects (catalogue, models, modules) never die: keep them out of the
        # collector's full scans, which otherwise grow with every connection held
        gc.freeze()
        if cfg.server.enabled:
            client_limit = team.client_limit(cfg.server.rate_limit_per_minute) if team else None
            server = await start_server(LocalApi(hub), cfg.server, secrets,
                                        trusted_proxies=cfg.cluster.trusted_proxies,
                                        client_limit=client_limit)
            print(f"serving on http://{_hostport(cfg.server.host, server.port)} "
                  f"(database {display_url(cfg.database_url)})", flush=True)
        else:
            print(f"collecting without server (database {display_url(cfg.database_url)})",
                  flush=True)
        await stop.wait()
    finally:
        if server is not None:
            await server.close()
        await hub.stop()
        await asyncio.sleep(0)
    print("stopped", flush=True)
    return 0


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- collect ------------------------------------------------------------------------------
def _collect(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    ids = args.provider or None
    known = {p.id for p in PROVIDERS}
    for pid in ids or []:
        if pid not in known:
            raise UserError(f"unknown provider id '{pid}' (see `cryptohub-desktop providers`)")
    return asyncio.run(_collect_async(cfg, secrets, ids))


async def _collect_async(cfg: Config, secrets: Secrets, ids: list[str] | None) -> int:
    hub = make_hub(cfg, secrets)
    await hub.start(schedule=False)
    try:
        if ids is None:
            ids = [p for p in hub.providers if hub.catalogue.is_active(p)]
        assert hub.runner is not None
        async with CollectProgress(ids) as progress:  # stderr, as each provider finishes
            results = await hub.runner.collect_once(ids, on_done=progress.done)
        await hub.settle()
    finally:
        await hub.stop()
    rows = [(r.provider_id, r.status if r.status != "needs_key" else "needs key",
             str(r.records), f"{r.ms:.0f}", (r.error or "")[:70]) for r in results]
    _table(("provider", "status", "records", "ms", "error"), rows)
    ok = sum(r.status == "success" for r in results)
    idle = sum(r.status == "idle" for r in results)  # no input: nothing failed
    print(f"\n{ok}/{len(results)} providers succeeded"
          + (f", {idle} had no input (idle)" if idle else ""))
    return 0 if ok + idle == len(results) else 1


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


# --- backfill -----------------------------------------------------------------------------
def _backfill(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    if args.days <= 0:
        raise UserError("--days must be a positive number of days")
    for i in args.interval or ():
        if i not in STEP:
            raise UserError(f"--interval {i}: use one of {', '.join(STEP)}")
    specs = {p.id: p for p in PROVIDERS}
    for pid in args.provider or ():
        if pid not in specs:
            raise UserError(f"unknown provider id '{pid}'")
        if specs[pid].history is None:
            raise UserError(f"{pid} offers no history (use binance, kraken, coingecko, "
                            "cryptocompare ...)")
    return asyncio.run(_backfill_async(cfg, secrets, args))


async def _backfill_async(cfg: Config, secrets: Secrets, args: argparse.Namespace) -> int:
    hub = make_hub(cfg, secrets)
    await hub.start(schedule=False)
    progress = BackfillProgress()  # stderr: a bar on a terminal, one line per series
    try:
        assert hub.store is not None
        report = await backfill(hub.store, hub.catalogue.with_history(args.provider),
                                hub.upstream, hub.symbol_map,
                                symbols=args.symbol or cfg.watchlist, days=args.days,
                                intervals=args.interval, progress=progress)
    finally:
        progress.close()
        await hub.stop()
    why = report.explain()
    print(f"{report.inserted} candles inserted, {report.gaps} gaps, {report.requests} requests"
          + (f" ({why})" if why else ""))
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    return 0 if not report.errors else 1


# --- providers ----------------------------------------------------------------------------
def _providers(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    rows = []
    for p in PROVIDERS:
        s = p.spec
        if s.auth.key_names:
            present = any(secrets.get(n) for n in s.auth.key_names)
            key = ("present" if present else "optional") if s.auth.optional else (
                "present" if present else "needed")
        else:
            key = "-"
        explicit = cfg.provider(s.id).enabled
        enabled = "yes" if explicit is not False else "no"
        if key == "needed":
            enabled += " (needs key)"
        rows.append((s.id, s.name, s.category, key, enabled))
    _table(("id", "name", "category", "key", "enabled"), rows)
    keyless = sum(1 for p in PROVIDERS if not p.spec.auth.requires_key)
    print(f"\n{len(rows)} providers, {keyless} without a key")
    return 0


# --- keys ---------------------------------------------------------------------------------
def _entry(ident: str, cfg: Config) -> str:
    specs = {p.id: p.spec for p in PROVIDERS}
    if ident in specs:
        names = specs[ident].auth.key_names
        if not names:
            raise UserError(f"{ident} needs no key")
        return names[0]
    known = key_names(specs.values())
    if ident.upper() in known or ident.upper() in ("HUGGINGFACE_TOKEN", HUB_TOKEN):
        return ident.upper()
    if ident in PLACEHOLDER.findall(cfg.database_url):  # the database password's entry
        return ident
    raise UserError(f"'{ident}' is neither a provider id nor a key entry name "
                    f"({', '.join(known)})")


def _keys(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    sub = args.keys_command
    try:
        if sub == "set":
            name = _entry(args.id, cfg)
            value = args.value or ask_secret(name)
            if not value:
                raise UserError("no key given")
            secrets.set(name, value)
            print(f"{name} saved in the keychain ({mask(value)})")
        elif sub == "delete":
            name = _entry(args.id, cfg)
            print(f"{name} deleted" if secrets.delete(name) else f"{name} was not set")
        elif sub == "import":
            try:
                entries = parse_env_file(args.file.read_text(encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"cannot read {args.file}: {exc}") from exc
            known = set(key_names(p.spec for p in PROVIDERS)) | {"HUGGINGFACE_TOKEN"}
            n = 0
            for name, value in entries.items():
                if name in known:
                    secrets.set(name, value)
                    print(f"{name} saved ({mask(value)})")
                    n += 1
            print(f"{n} keys imported, {len(entries) - n} lines ignored")
        else:
            ok, why = secrets.available()
            print(why)
            rows = []
            for name in [*key_names(p.spec for p in PROVIDERS), "HUGGINGFACE_TOKEN", HUB_TOKEN]:
                value = secrets.get(name)
                rows.append((name, mask(value) if value else "-", secrets.source(name) or "-"))
            _table(("entry", "value", "from"), rows)
    except KeychainUnavailable as exc:
        raise UserError(f"{exc}. Set the key as an environment variable instead "
                        f"(e.g. ETHERSCAN_KEY_1=...)") from exc
    return 0


# --- backup / restore ---------------------------------------------------------------------
def _backup(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    store = Store.open(cfg.database_url, secrets.get)
    try:
        folder = cfg.data_dir / "backups"
        out = store.backup_to(args.to or store.backup_path(folder))
        if not args.to:
            rotate_backups(folder, cfg.backup_keep, store.backup_pattern)
        verified = store.backend.backup_verified()
    finally:
        store.close()
    print(f"backup written to {out} ({verified})")
    return 0


def _restore(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    if not args.file.exists():
        raise UserError(f"{args.file}: no such backup")
    before = restore_backup(args.file, cfg.database_url, secrets.get)  # run() holds the lock
    print(f"restored {display_url(cfg.database_url)} from {args.file} ({before})")
    return 0


# --- db migrate ---------------------------------------------------------------------------
def _db(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    """``db migrate --from URL --to URL``: copy every table (storage.transfer), with a
    progress bar, then a row count per table."""
    if args.batch < 1:
        raise UserError("--batch must be at least 1")
    results = transfer(args.source, args.target, secret=secrets.get, batch=args.batch,
                       progress=RowsProgress())
    _table(("table", "source", "target before", "copied", "target after"),
           [(r.table, str(r.source), str(r.before), str(r.copied), str(r.after))
            for r in results])
    copied = sum(r.copied for r in results)
    print(f"\n{copied} rows copied from {display_url(args.source)} to "
          f"{display_url(args.target)}")
    return 0


# --- notify -------------------------------------------------------------------------------
def _notify(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    """``notify test [NAME]``: a real test message per channel, one line of result each.
    The database is not touched: the result is printed, not recorded."""
    channels = cfg.notify_channels
    if not channels:
        raise UserError(f"no alert channels configured (add a [notify.channels.NAME] table "
                        f"with an apprise url to {cfg.path})")
    if args.name is not None and args.name not in channels:
        raise UserError(f"no alert channel named '{args.name}' in {cfg.path} "
                        f"(channels: {', '.join(channels)})")
    results = asyncio.run(_notify_async(cfg, secrets, args.name))
    _table(("channel", "url", "result", "detail"),
           [(r.channel, r.url, r.status, r.reason or "-")
            for r in results])
    ok = sum(r.delivered for r in results)
    print(f"\n{ok}/{len(results)} channels delivered")
    return 0 if ok == len(results) else 1


async def _notify_async(cfg: Config, secrets: Secrets, name: str | None) -> list[DeliveryResult]:
    dispatcher = AlertDispatcher(cfg.notify_channels.values(), secrets,
                                 policy=DeliveryPolicy(close_timeout=1.0))
    await dispatcher.start()
    try:
        return await dispatcher.send_test(name)
    finally:
        await dispatcher.close()


# --- check --------------------------------------------------------------------------------
def _check(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    results: list[tuple[str, bool | None, str]] = [("config", True, f"{cfg.path}"
                                             + ("" if cfg.path.exists() else " (defaults)"))]
    try:
        store = Store.open(cfg.database_url, secrets.get)
        try:  # connected; migrations applied (Store.open upgrades) and current; integrity
            version = store.schema_version()
            verdict = store.integrity_check()
            results.append(("database", verdict == "ok",
                            f"{store.backend.display_url} schema v{version}, "
                            f"{store.integrity_scope()} {verdict}"))
        finally:
            store.close()
    except UserError as exc:
        results.append(("database", False, str(exc)))
    ok, why = secrets.available()
    results.append(("keychain", True, why if ok else f"{why} (not fatal)"))
    who = holder(cfg.data_dir)
    results.append(("lock", True, f"data folder in use by {who.describe()}" if who
                    else "data folder free"))
    if cfg.server.enabled:
        results.append(_port_check(cfg.server.host, cfg.server.port, who.pid if who else None))
    try:
        providers = PROVIDERS
        keyless = sum(1 for p in providers if not p.spec.auth.requires_key)
        results.append(("providers", len(providers) >= 40,
                        f"{len(providers)} loaded, {keyless} keyless"))
    except Exception as exc:  # noqa: BLE001
        results.append(("providers", False, f"failed to load: {exc}"))
    results.append(("resources", *_resources_ok()))
    for name, good, detail in results:
        print(f"[{_MARK[good]}] {name}: {detail}")
    passed = all(good is not False for _, good, _ in results)
    print("check passed" if passed else "check FAILED")
    return 0 if passed else 1


_MARK = {True: "ok", False: "FAIL", None: "warn"}


def _port_check(host: str, port: int, our_pid: int | None) -> tuple[str, bool | None, str]:
    """The port line of ``check``: free, used by this data folder's own app (ok), or by
    another program (a warning naming it: the app needs another --port, but nothing is
    broken)."""
    where = f"{host}:{port}"
    if port_free(host, port):
        return "port", True, f"{where} free"
    who = listener(port)
    if who is not None and who.pid == our_pid:
        return "port", True, f"{where} served by this data folder's app, {who.describe()}"
    by = who.describe() if who else "another program"
    return "port", None, (f"{where} in use by {by}; serve and the window need another "
                          "--port while it runs")


def _resources_ok() -> tuple[bool, str]:
    files = resources.files("cryptohub_desktop.resources")
    missing = [n for n in ("symbols.json",) if not files.joinpath(n).is_file()]
    return (not missing, "bundled resources present" if not missing else f"missing {missing}")


# --- helpers ------------------------------------------------------------------------------
def ask_secret(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"{name}: ").strip()
    return sys.stdin.readline().strip()


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
