"""Render every view offscreen with recorded real provider answers into PNGs.

``python scripts/screenshots.py [--out docs/screenshots]`` from a source checkout: it
replays ``tests/fixtures/providers`` through ``tests.replay``. A temporary data folder
and an in-memory keychain are used; nothing of the user's is touched. Some keys are
left out on purpose (so "needs key" shows) and one provider is made to fail three times
(so an offline provider and its alert show).

Everything shown comes from recorded real answers, nothing is generated. They are
single snapshots taken on different dates, so freshness shows them stale and the
consensus flags sources recorded years apart; the chart shows the one real history
they hold: CryptoCompare's 31 daily BTC candles of May-June 2022 (range "max": all
stored history).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.replay, tests.memkeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402, I001
from PySide6.QtWidgets import QApplication  # noqa: E402

MISSING_KEYS = {"NEWSAPI_KEY", "THEGRAPH_KEY", "HUGGINGFACE_TOKEN"}
FAILING = "kucoin"
SIZE = (1440, 900)


async def _prepare(tmp: Path, replay: object) -> tuple[object, object]:
    from cryptohub_desktop.collectors import PROVIDERS
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.engine.backfill import backfill
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.providers.spec import key_names
    from cryptohub_desktop.secrets import Secrets
    from tests.memkeyring import MemoryKeyring
    from tests.replay import Fault, providers_with_fixtures

    lines = ["[watchlist]", 'symbols = ["BTC", "ETH", "BNB", "SOL", "XRP"]', "[consensus]",
             "max_age_seconds = 2000000000", "[server]", "port = 7861", ""]
    for pid in providers_with_fixtures():
        base = replay.mount(pid)  # type: ignore[attr-defined]
        lines += [f"[providers.{pid}]", f'base_url = "{base}"', ""]
    path = tmp / "config.toml"
    path.write_text("\n".join(lines))
    cfg = load_config(path, data_dir=tmp / "data")
    secrets = Secrets(env={}, backend=MemoryKeyring())
    for name in key_names(p.spec for p in PROVIDERS):
        if name not in MISSING_KEYS:
            secrets.set(name, "test-key")
    hub = Hub(cfg, PROVIDERS, secrets)
    hub.request_timeout = 5.0
    await hub.start(schedule=True)  # scheduled runs fill the Schedule page
    await hub.runner.collect_once()
    await asyncio.sleep(17)  # every provider's first scheduled run (spread over 15 s)
    replay.fault(f"/{FAILING}", Fault(status=500, body=b'{"msg":"upstream error"}'))  # type: ignore[attr-defined]
    for _ in range(3):
        await hub.runner.run_provider(FAILING)
    await backfill(hub.store, hub.catalogue.with_history(["cryptocompare"]), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=3650, intervals=["1d"])
    await hub.settle()
    return cfg, hub


async def _shoot(out: Path, dark: bool) -> list[Path]:
    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.commands import serving
    from cryptohub_desktop.ui.app import build
    from cryptohub_desktop.ui.state import UiState
    from tests.replay import ReplayServer

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    written = []
    with tempfile.TemporaryDirectory() as d, ReplayServer() as replay:
        tmp = Path(d)
        cfg, hub = await _prepare(tmp, replay)
        state = UiState(tmp / "ui.ini")
        state.chart_range = "max"
        state.chart_mode = "candles"
        state.close_to_tray = False
        api = LocalApi(hub)  # type: ignore[arg-type]
        window, ctx = build(cfg, api, hub.secrets, app, state, serving(api, hub.secrets))  # type: ignore[arg-type,attr-defined]
        if dark:
            ctx.theme.set_mode("dark")
        ctx.rules.add_price("BTC", "above", 60000)
        if ctx.server is not None:
            await ctx.server.start()
        window.resize(*SIZE)
        window.show()
        for key, view in window.views.items():
            window.show_view(key)
            await view.refresh()
            if key == "dashboard":
                await view.chart_panel.load()  # type: ignore[attr-defined]
                view.chart_panel.chart.apply_pending()  # type: ignore[attr-defined]
            if key == "providers":
                view.focus_item(FAILING)  # type: ignore[attr-defined]
                await view.refresh()
            if key == "sentiment_models":
                await view.score("Bitcoin ETF approval sends BTC to a new all-time high")  # type: ignore[attr-defined]
            window.status.refresh()
            await asyncio.sleep(0.3)  # let the loop paint and run coalesced refreshes
            name = f"{key}{'-dark' if dark else ''}.png"
            window.grab().save(str(out / name), "PNG")
            written.append(out / name)
            if dark and key == "providers":
                break
        window.quitting = True
        ctx.bridge.close()
        if ctx.server is not None:
            await ctx.server.stop()
        await hub.stop()  # type: ignore[attr-defined]
        window.close()
        ctx.theme.set_mode("light")
        await asyncio.sleep(0)
    return written


async def _main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [*await _shoot(out, dark=False), *await _shoot(out, dark=True)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = ap.parse_args(argv)
    try:
        import tests.replay  # noqa: F401
    except ImportError:
        print("run this from a source checkout (it replays tests/fixtures)", file=sys.stderr)
        return 2
    from cryptohub_desktop.ui.app import make_app
    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        written = loop.run_until_complete(_main(args.out))
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
