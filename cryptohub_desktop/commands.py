"""The composition roots of every command: gui, serve, collect, backfill, providers,
keys, backup, restore, check, notify.

Each builds what its command needs (the engine, the local server, the window)
from the configuration and runs it. Qt is imported only by :func:`_gui`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.config import Config, ServerConfig
from cryptohub_desktop.core.errors import StoreError, UserError
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.backfill import STEP, backfill, text_progress
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.engine.notify import AlertDispatcher, DeliveryPolicy, DeliveryResult
from cryptohub_desktop.logs import setup_logging
from cryptohub_desktop.paths import ensure_layout
from cryptohub_desktop.providers.spec import key_names
from cryptohub_desktop.secrets import KeychainUnavailable, Secrets, parse_env_file
from cryptohub_desktop.server import ServerHandle, start_server
from cryptohub_desktop.storage.store import Store, restore_backup, rotate_backups

log = logging.getLogger("cryptohub.cli")


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
               "check": _check, "notify": _notify}[command]
    return handler(cfg, args, secrets)


def make_hub(cfg: Config, secrets: Secrets) -> Hub:
    return Hub(cfg, PROVIDERS, secrets)


# --- gui --------------------------------------------------------------------------------
def _gui(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    from cryptohub_desktop.ui.app import run_gui  # Qt: only for the window

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
        raise UserError(f"port {cfg.server.port} on {cfg.server.host} is in use "
                        "(another Crypto Hub running? use --port)")
    return asyncio.run(_serve_async(cfg, secrets))


async def _serve_async(cfg: Config, secrets: Secrets) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    hub = make_hub(cfg, secrets)
    server = None
    try:
        await hub.start()
        # start-up objects (catalogue, models, modules) never die: keep them out of the
        # collector's full scans, which otherwise grow with every connection held
        gc.freeze()
        if cfg.server.enabled:
            server = await start_server(LocalApi(hub), cfg.server, secrets)
            print(f"serving on http://{_hostport(cfg.server.host, server.port)} "
                  f"(database {cfg.database_url})", flush=True)
        else:
            print(f"collecting without server (database {cfg.database_url})", flush=True)
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
        results = await hub.runner.collect_once(ids)
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
    try:
        assert hub.store is not None
        report = await backfill(hub.store, hub.catalogue.with_history(args.provider),
                                hub.upstream, hub.symbol_map,
                                symbols=args.symbol or cfg.watchlist, days=args.days,
                                intervals=args.interval, progress=text_progress())
    finally:
        await hub.stop()
    print(f"{report.inserted} candles inserted, {report.gaps} gaps, {report.requests} requests")
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
def _entry(ident: str) -> str:
    specs = {p.id: p.spec for p in PROVIDERS}
    if ident in specs:
        names = specs[ident].auth.key_names
        if not names:
            raise UserError(f"{ident} needs no key")
        return names[0]
    known = key_names(specs.values())
    if ident.upper() in known or ident.upper() == "HUGGINGFACE_TOKEN":
        return ident.upper()
    raise UserError(f"'{ident}' is neither a provider id nor a key entry name "
                    f"({', '.join(known)})")


def _keys(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    sub = args.keys_command
    try:
        if sub == "set":
            name = _entry(args.id)
            value = args.value or ask_secret(name)
            if not value:
                raise UserError("no key given")
            secrets.set(name, value)
            print(f"{name} saved in the keychain ({mask(value)})")
        elif sub == "delete":
            name = _entry(args.id)
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
            for name in [*key_names(p.spec for p in PROVIDERS), "HUGGINGFACE_TOKEN"]:
                value = secrets.get(name)
                rows.append((name, mask(value) if value else "-", secrets.source(name) or "-"))
            _table(("entry", "value", "from"), rows)
    except KeychainUnavailable as exc:
        raise UserError(f"{exc}. Set the key as an environment variable instead "
                        f"(e.g. ETHERSCAN_KEY_1=...)") from exc
    return 0


# --- backup / restore ---------------------------------------------------------------------
def _backup(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    store = Store.open(cfg.database_url)
    try:
        folder = cfg.data_dir / "backups"
        target = args.to or folder / f"api_monitor-{utcnow():%Y%m%d-%H%M%S}.db"
        out = store.backup_to(target)
        if not args.to:
            rotate_backups(folder, cfg.backup_keep)
    finally:
        store.close()
    print(f"backup written to {out} (integrity_check ok)")
    return 0


def _restore(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    if not args.file.exists():
        raise UserError(f"{args.file}: no such backup")
    if not port_free(cfg.server.host, cfg.server.port):
        print("warning: something listens on the server port; stop the app before restoring",
              file=sys.stderr)
    before = restore_backup(args.file, cfg.database_url)
    print(f"restored {cfg.db_path} from {args.file} ({before})")
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
    results: list[tuple[str, bool, str]] = [("config", True, f"{cfg.path}"
                                             + ("" if cfg.path.exists() else " (defaults)"))]
    try:
        store = Store.open(cfg.database_url)
        try:
            verdict = store.integrity_check()
            results.append(("database", verdict == "ok",
                            f"{cfg.database_url} integrity_check {verdict}"))
        finally:
            store.close()
    except UserError as exc:
        results.append(("database", False, str(exc)))
    ok, why = secrets.available()
    results.append(("keychain", True, why if ok else f"{why} (not fatal)"))
    if cfg.server.enabled:
        free = port_free(cfg.server.host, cfg.server.port)
        results.append(("port", free, f"{cfg.server.host}:{cfg.server.port} "
                        + ("free" if free else "in use")))
    try:
        providers = PROVIDERS
        keyless = sum(1 for p in providers if not p.spec.auth.requires_key)
        results.append(("providers", len(providers) >= 40,
                        f"{len(providers)} loaded, {keyless} keyless"))
    except Exception as exc:  # noqa: BLE001
        results.append(("providers", False, f"failed to load: {exc}"))
    results.append(("resources", *_resources_ok()))
    for name, good, detail in results:
        print(f"[{'ok' if good else 'FAIL'}] {name}: {detail}")
    passed = all(good for _, good, _ in results)
    print("check passed" if passed else "check FAILED")
    return 0 if passed else 1


def _resources_ok() -> tuple[bool, str]:
    files = resources.files("cryptohub_desktop.resources")
    missing = [n for n in ("symbols.json",) if not files.joinpath(n).is_file()]
    return (not missing, "bundled resources present" if not missing else f"missing {missing}")


# --- helpers ------------------------------------------------------------------------------
def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


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
