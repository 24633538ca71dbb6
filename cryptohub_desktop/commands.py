"""The headless commands: serve, collect, backfill, providers, keys, backup, check, notify."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

from cryptohub_desktop.collectors import all_providers
from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import StoreError, UserError
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.engine.notify import AlertDispatcher, DeliveryPolicy, DeliveryResult
from cryptohub_desktop.logs import setup_logging
from cryptohub_desktop.paths import ensure_layout
from cryptohub_desktop.secrets import KeychainUnavailable, Secrets, key_names, parse_env_file

log = logging.getLogger("cryptohub.cli")


def run(command: str, cfg: Config, args: argparse.Namespace) -> int:
    secrets = Secrets()
    if command in ("serve", "collect", "backfill", "backup", "check", "notify"):
        try:
            ensure_layout(cfg.data_dir)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {cfg.data_dir}: {exc}") from exc
        # notify prints its own table; apprise's warnings go to the log files only
        setup_logging(cfg.data_dir, cfg.log_level, lambda: secrets.seen,
                      console=command != "notify")
    handler = {"serve": _serve, "collect": _collect, "backfill": _backfill,
               "providers": _providers, "keys": _keys, "backup": _backup, "restore": _restore,
               "check": _check, "notify": _notify}[command]
    return handler(cfg, args, secrets)


def make_hub(cfg: Config, secrets: Secrets) -> Hub:
    return Hub(cfg, all_providers(), secrets)


# --- serve ------------------------------------------------------------------------------
def _serve(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    from cryptohub_desktop.cli import port_free
    if cfg.server.enabled and not port_free(cfg.server.host, cfg.server.port):
        raise UserError(f"port {cfg.server.port} on {cfg.server.host} is in use "
                        "(another Crypto Hub running? use --port)")
    return asyncio.run(_serve_async(cfg, secrets))


async def _serve_async(cfg: Config, secrets: Secrets) -> int:
    from cryptohub_desktop.cli import install_signal_handlers
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
            from cryptohub_desktop.server import start_server
            server = await start_server(hub, cfg.server)
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
    known = {p.id for p in all_providers()}
    for pid in ids or []:
        if pid not in known:
            raise UserError(f"unknown provider id '{pid}' (see `cryptohub-desktop providers`)")
    return asyncio.run(_collect_async(cfg, secrets, ids))


async def _collect_async(cfg: Config, secrets: Secrets, ids: list[str] | None) -> int:
    hub = make_hub(cfg, secrets)
    await hub.start(schedule=False)
    try:
        if ids is None:
            ids = [p for p in hub.providers if hub.is_active(p)]
        results = await hub.collect_once(ids)
        await hub.settle()
    finally:
        await hub.stop()
    rows = [(r.provider_id, r.status if r.status != "needs_key" else "needs key",
             str(r.records), f"{r.ms:.0f}", (r.error or "")[:70]) for r in results]
    _table(("provider", "status", "records", "ms", "error"), rows)
    ok = sum(r.status == "success" for r in results)
    print(f"\n{ok}/{len(results)} providers succeeded")
    return 0 if ok == len(results) else 1


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


# --- backfill -----------------------------------------------------------------------------
def _backfill(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    from cryptohub_desktop.engine.backfill import run_backfill
    if args.days <= 0:
        raise UserError("--days must be a positive number of days")
    return asyncio.run(run_backfill(make_hub(cfg, secrets), symbols=args.symbol,
                                    days=args.days, provider_ids=args.provider,
                                    intervals=args.interval))


# --- providers ----------------------------------------------------------------------------
def _providers(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    rows = []
    for p in all_providers():
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
    keyless = sum(1 for p in all_providers() if not p.spec.auth.requires_key)
    print(f"\n{len(rows)} providers, {keyless} without a key")
    return 0


# --- keys ---------------------------------------------------------------------------------
def _entry(ident: str) -> str:
    specs = {p.id: p.spec for p in all_providers()}
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
    from cryptohub_desktop.cli import ask_secret
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
            known = set(key_names(p.spec for p in all_providers())) | {"HUGGINGFACE_TOKEN"}
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
            for name in [*key_names(p.spec for p in all_providers()), "HUGGINGFACE_TOKEN"]:
                value = secrets.get(name)
                rows.append((name, mask(value) if value else "-", secrets.source(name) or "-"))
            _table(("entry", "value", "from"), rows)
    except KeychainUnavailable as exc:
        raise UserError(f"{exc}. Set the key as an environment variable instead "
                        f"(e.g. ETHERSCAN_KEY_1=...)") from exc
    return 0


# --- backup / restore ---------------------------------------------------------------------
def _backup(cfg: Config, args: argparse.Namespace, secrets: Secrets) -> int:
    from cryptohub_desktop.core.time import utcnow
    from cryptohub_desktop.storage.store import Store, rotate_backups
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
    from cryptohub_desktop.cli import port_free
    from cryptohub_desktop.storage.store import restore_backup
    if not args.file.exists():
        raise UserError(f"{args.file}: no such backup")
    if not port_free(cfg.server.host, cfg.server.port):
        print("warning: something listens on the server port; stop the app before restoring",
              file=sys.stderr)
    restore_backup(args.file, cfg.db_path)
    print(f"restored {cfg.db_path} from {args.file} "
          f"(previous database kept as {cfg.db_path.name}.before-restore)")
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
    from cryptohub_desktop.cli import port_free
    from cryptohub_desktop.storage.store import Store
    results: list[tuple[str, bool, str]] = [("config", True, f"{cfg.path}"
                                             + ("" if cfg.path.exists() else " (defaults)"))]
    try:
        store = Store.open(cfg.database_url)
        try:
            verdict = store.integrity_check()
            from cryptohub_desktop.storage.models import ProviderRow
            results.append(("database", verdict == "ok",
                            f"{cfg.database_url} integrity_check {verdict}"))
            del ProviderRow
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
        providers = all_providers()
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
    from importlib import resources
    files = resources.files("cryptohub_desktop.resources")
    missing = [n for n in ("symbols.json",) if not files.joinpath(n).is_file()]
    return (not missing, "bundled resources present" if not missing else f"missing {missing}")

