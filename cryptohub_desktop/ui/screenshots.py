"""Render every view offscreen with recorded real provider answers into PNGs.

``python -m cryptohub_desktop.ui.screenshots [--out docs/screenshots]`` (from a source
checkout: it replays ``tests/fixtures/providers`` through ``tests.replay``). A temporary
data folder and an in-memory keychain are used; nothing of the user's is touched.
Some keys are left out on purpose (so "needs key" shows) and one provider is made to
fail three times (so an offline provider and its alert show).

The recorded answers are single snapshots taken on different dates, so they hold no
price history worth a chart: the chart and the sparklines show a generated random walk
stored under the sources ``demo-1`` and ``demo-2`` (never a real provider's id).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402, I001
from PySide6.QtWidgets import QApplication  # noqa: E402

MISSING_KEYS = {"NEWSAPI_KEY", "THEGRAPH_KEY", "HUGGINGFACE_TOKEN"}
FAILING = "kucoin"
SIZE = (1440, 900)


async def _prepare(tmp: Path, replay: object) -> tuple[object, object]:
    from cryptohub_desktop.backfill import backfill
    from cryptohub_desktop.collectors import all_providers
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.hub import Hub
    from cryptohub_desktop.secrets import Secrets, key_names
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
    for name in key_names(p.spec for p in all_providers()):
        if name not in MISSING_KEYS:
            secrets.set(name, "test-key")
    hub = Hub(cfg, all_providers(), secrets)
    hub.request_timeout = 5.0
    await hub.start(schedule=True)  # scheduled runs fill the Schedule page
    await hub.collect_once()
    await asyncio.sleep(17)  # every provider's first scheduled run (spread over 15 s)
    replay.fault(f"/{FAILING}", Fault(status=500, body=b'{"msg":"upstream error"}'))  # type: ignore[attr-defined]
    for _ in range(3):
        await hub.run_provider(FAILING)
    await backfill(hub, symbols=["BTC"], days=1200, intervals=["1h", "1d"])
    await hub.store.write(hub.store.insert_ohlcv_rows, _demo_candles(hub))
    await hub.settle()
    return cfg, hub


def _demo_candles(hub: object, days: int = 30) -> list[tuple[object, ...]]:
    """Hourly random-walk candles ending now for each watched symbol (see module doc)."""
    import random
    from datetime import UTC, datetime, timedelta
    rng = random.Random(7)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    start_prices = {"BTC": 91000.0, "ETH": 3050.0, "BNB": 880.0, "SOL": 140.0, "XRP": 2.2}
    rows: list[tuple[object, ...]] = []
    for symbol in hub.config.watchlist:  # type: ignore[attr-defined]
        price = start_prices.get(symbol, 100.0)
        first = len(rows)
        for h in range(days * 24, 0, -1):
            t = end - timedelta(hours=h)
            o = price
            price *= 1 + rng.gauss(0.0002, 0.006)
            hi, lo = max(o, price) * (1 + abs(rng.gauss(0, 0.002))), min(o, price) * (
                1 - abs(rng.gauss(0, 0.002)))
            vol = abs(rng.gauss(500, 150))
            rows.append(("demo-1", symbol, "1h", t, o, hi, lo, price, vol))
            off = 1 + rng.gauss(0.0008, 0.0004)
            rows.append(("demo-2", symbol, "1h", t, o * off, hi * off, lo * off, price * off,
                         vol))
        # end the walk at the consensus of the recorded answers, so chart and table agree
        target = hub.prices.get(symbol)  # type: ignore[attr-defined]
        if target:
            k = target / price
            rows[first:] = [(*r[:4], *(v * k for v in r[4:8]), r[8]) for r in rows[first:]]
    return rows


async def _shoot(out: Path, dark: bool) -> list[Path]:
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
        state.chart_range = "7d"
        state.chart_mode = "candles"
        state.close_to_tray = False
        window, ctx = build(cfg, hub, app, state)  # type: ignore[arg-type]
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
