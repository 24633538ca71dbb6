"""Command line (SPEC section 3): options, the config, and the one-line errors.

``cryptohub-desktop`` with no command opens the GUI; ``commands.py`` composes
each command (the GUI's Qt is imported only for it, so headless commands never
load Qt). A user mistake (bad option, bad config, port
in use, database unusable) prints one line and exits non-zero; tracebacks are
for bugs and go to ``error.log``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from cryptohub_desktop import __version__, commands
from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.config import Config, load_config
from cryptohub_desktop.core.errors import UserError

PROG = "cryptohub-desktop"
log = logging.getLogger("cryptohub.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _common(p: argparse.ArgumentParser, top: bool = False) -> None:
    d = None if top else argparse.SUPPRESS
    p.add_argument("--data-dir", type=Path, default=d, help="data folder (database, logs)")
    p.add_argument("--config", type=Path, default=d, help="config file (TOML)")
    p.add_argument("--host", default=d, help="server bind address")
    p.add_argument("--port", type=int, default=d, help="server port")
    p.add_argument("--no-server", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="do not start the local REST/WebSocket server")
    p.add_argument("--log-level", default=d, help="DEBUG, INFO, WARNING, ERROR")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Crypto Hub Desktop: crypto market monitor")
    _common(p, top=True)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--self-test", action="store_true", help="run `check` and exit (bundle)")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def cmd(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        _common(sp)
        return sp

    g = cmd("gui", "open the main window (default)")
    g.add_argument("--hub", metavar="URL", help="attach to a team hub (http(s)://host[:port]) "
                   "instead of collecting here; token: CRYPTOHUB_HUB_TOKEN")
    cmd("serve", "headless: collectors + server, no window; stops on SIGINT/SIGTERM")
    c = cmd("collect", "run collectors")
    c.add_argument("--once", action="store_true", required=True, help="one collection pass")
    c.add_argument("--provider", action="append", metavar="ID", help="only this provider")
    b = cmd("backfill", "fetch OHLCV history into the ohlcv table (missing ranges only)")
    b.add_argument("--symbol", action="append", metavar="S")
    b.add_argument("--days", type=int, default=30)
    b.add_argument("--provider", action="append", metavar="ID")
    b.add_argument("--interval", action="append", metavar="I", help="1m, 1h or 1d (default 1h, 1d)")
    cmd("providers", "list the provider catalogue")
    k = cmd("keys", "manage API keys in the OS keychain")
    ksub = k.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    ks = ksub.add_parser("set", help="store a key (asks for it)")
    ks.add_argument("id", help="provider id or entry name (ETHERSCAN_KEY_1)")
    ks.add_argument("--value", help="the key (default: ask without echo, or read stdin)")
    kl = ksub.add_parser("list", help="show entries, masked")
    kd = ksub.add_parser("delete", help="remove a key")
    kd.add_argument("id")
    ki = ksub.add_parser("import", help="import NAME=value lines of a .env file")
    ki.add_argument("file", type=Path)
    for sp in (ks, kl, kd, ki):
        _common(sp)
    bk = cmd("backup", "online backup of the database")
    bk.add_argument("--to", type=Path, help="backup file (default: backups/ in the data folder)")
    rs = cmd("restore", "replace the database with a backup (stop the app first)")
    rs.add_argument("file", type=Path)
    cmd("check", "self-test: database, keychain, port, providers")
    nt = cmd("notify", "alert channels ([notify.channels.NAME] in the config)")
    nsub = nt.add_subparsers(dest="notify_command", required=True, parser_class=_Parser)
    ntest = nsub.add_parser("test", help="send a real test message to every channel (or NAME)",
                            description="send a real test message to every alert channel (or "
                            "the one named); exit 0 only if every one was delivered")
    ntest.add_argument("name", nargs="?", help="only this channel")
    _common(ntest)
    db = cmd("db", "database tools")
    dsub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    mig = dsub.add_parser(
        "migrate", help="copy every table from one database to another",
        description="copy every table from one database to another (SQLite and PostgreSQL, "
        "either way); rows already in the target are kept, so a second run adds nothing. "
        "Refuses while a running hub uses the target.")
    mig.add_argument("--from", dest="source", required=True, metavar="URL",
                     help="sqlite:///path or postgresql://user@host/db ({ENTRY} = a secret)")
    mig.add_argument("--to", dest="target", required=True, metavar="URL",
                     help="the database to copy into (created or upgraded as needed)")
    mig.add_argument("--batch", type=int, default=5000, help="rows per transaction")
    _common(mig)
    return p


def _config(args: argparse.Namespace) -> Config:
    overrides = {"server.host": getattr(args, "host", None),
                 "server.port": getattr(args, "port", None),
                 "logging.level": getattr(args, "log_level", None),
                 "hub.url": getattr(args, "hub", None)}
    if getattr(args, "no_server", False):
        overrides["server.enabled"] = False
    return load_config(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None),
                       overrides=overrides, known_providers={p.id for p in PROVIDERS})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = "check" if args.self_test else (args.command or "gui")
    try:
        cfg = _config(args)
        return commands.run(command, cfg, args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cryptohub-desktop providers | head`
        sys.stderr.close()
        return 0
