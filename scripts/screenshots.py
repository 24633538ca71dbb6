"""Render every view offscreen into PNGs: light and dark theme, 1440x900 and 1024x700,
with recorded real provider answers and then with the machine offline.

``python scripts/screenshots.py [--out docs/screenshots]`` from a source checkout: it
replays ``tests/fixtures/providers`` through ``tests.replay``. A temporary data folder
and an in-memory keychain are used; nothing of the user's is touched, and nothing
reaches the internet: providers without recorded answers point at a closed loopback
port from the start. Some keys are left out on purpose (so "needs key" shows) and one
provider is made to fail three times (so an offline provider and its alert show).
Binance is also followed live: a ``tests.ws_replay`` server plays its recorded stream frames
(``tests/fixtures/streams/binance``) once a second, so the Stream column and the
Dashboard's live mark show; the other exchanges' REST is moved to the replay server and
their ``ws_url`` is not, so their streams are off (docs/STREAMS.md, moved endpoints).

Two scenes, each shot in both themes at both sizes (``<scene>/<theme>-<size>/<view>.png``):

- ``recorded``: every provider answered with its recorded real answer. Those answers are
  single snapshots taken on different dates, so the app shows most of them as old (with
  their age and a stale mark), which is the truth; sources stamped at collection time
  are current. The chart shows BTC's one real history, CryptoCompare's daily candles of
  May-June 2022, on the "max" range that ends now.
- ``offline``: the same hub a moment later with no host reachable (every base URL on a
  closed port): the banner and status bar say the computer is offline once, providers
  show offline, values show their last known age; Binance's stream server is gone too, so
  its stream is stale / reconnecting and falls back to (unreachable) REST.

Everything shown comes from recorded answers, nothing is generated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.replay, tests.memkeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import qasync  # noqa: E402, I001
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

MISSING_KEYS = {"NEWSAPI_KEY", "THEGRAPH_KEY", "HUGGINGFACE_TOKEN"}
FAILING = "kucoin"
STREAMED = "binance"  # followed live: its recorded stream frames, replayed once a second
SIZES = ((1440, 900), (1024, 700))
THEMES = ("light", "dark")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _prepare(tmp: Path, replay: Any, dead: str, stream_url: str) -> tuple[Any, Any]:
    from cryptohub_desktop.collectors import PROVIDERS
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.engine.backfill import backfill
    from cryptohub_desktop.engine.hub import Hub
    from cryptohub_desktop.providers.spec import key_names
    from cryptohub_desktop.secrets import Secrets
    from tests.memkeyring import MemoryKeyring
    from tests.replay import Fault, providers_with_fixtures

    recorded = set(providers_with_fixtures())
    lines = ["[watchlist]", 'symbols = ["BTC", "ETH", "BNB", "SOL", "XRP"]', "[server]",
             "port = 7861", "[streams]", "stale_after_seconds = 3",
             "rest_fallback_after_seconds = 6",
             "[retention]", "days = 0", ""]  # keep the recorded (old) data for both scenes
    for p in PROVIDERS:
        if p.spec.base_url:
            base = replay.mount(p.id) if p.id in recorded else f"{dead}/{p.id}"
            lines += [f"[providers.{p.id}]", f'base_url = "{base}"']
            if p.id == STREAMED:
                lines.append(f'ws_url = "{stream_url}"')
            lines.append("")
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
    replay.fault(f"/{FAILING}", Fault(status=500, body=b'{"msg":"upstream error"}'))
    for _ in range(3):
        await hub.runner.run_provider(FAILING)
    await backfill(hub.store, hub.catalogue.with_history(["cryptocompare"]), hub.upstream,
                   hub.symbol_map, symbols=["BTC"], days=3650, intervals=["1d"])
    await hub.settle()
    return cfg, hub


def quantize(img: QImage, common: int = 160) -> QImage:
    """An 8-bit copy of ``img`` without dithering: its ``common`` most used colours, then
    the colours farthest from those so far (weighted by use), so a rare but distinct hue
    (amber text, a status dot) keeps its own entry; every other colour maps to the
    nearest entry. A UI screenshot is mostly flat colours: it looks the same at a third
    of the size (Qt's own conversion uses a fixed colour cube and shifts hues)."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    stride = img.bytesPerLine() // 4
    arr = np.frombuffer(img.constBits(), dtype=np.uint32, count=stride * h)
    flat = arr.reshape(h, stride)[:, :w].ravel() & 0xFFFFFF
    colors, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    every = np.stack([(colors >> 16) & 255, (colors >> 8) & 255, colors & 255],
                     axis=1).astype(np.int64)
    chosen = list(np.argsort(-counts, kind="stable")[:common])
    nearest_d = np.full(len(colors), np.iinfo(np.int64).max)
    for i in chosen:
        nearest_d = np.minimum(nearest_d, ((every - every[i]) ** 2).sum(axis=1))
    weight = np.log1p(counts)
    while len(chosen) < min(256, len(colors)):
        i = int(np.argmax(nearest_d * weight))
        if nearest_d[i] == 0:
            break
        chosen.append(i)
        nearest_d = np.minimum(nearest_d, ((every - every[i]) ** 2).sum(axis=1))
    palette = every[chosen]
    nearest = np.empty(len(colors), dtype=np.uint8)
    for i in range(0, len(colors), 4096):
        d = ((every[i:i + 4096, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
        nearest[i:i + 4096] = d.argmin(axis=1)
    out = QImage(w, h, QImage.Format.Format_Indexed8)
    out.setColorTable([0xFF000000 | int(colors[i]) for i in chosen])
    rows = np.zeros((h, out.bytesPerLine()), dtype=np.uint8)
    rows[:, :w] = nearest[inverse].reshape(h, w)
    memoryview(out.bits()).cast("B")[:] = rows.tobytes()
    return out


def _save(widget: Any, path: Path) -> Path:
    """A compact PNG of ``widget`` (see :func:`quantize`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not quantize(widget.grab().toImage()).save(str(path), "PNG", 0):
        raise OSError(f"could not write {path}")
    return path


async def _shoot_scene(window: Any, ctx: Any, out: Path, scene: str, *,
                       themes: tuple[str, ...] = THEMES,
                       sizes: tuple[tuple[int, int], ...] = SIZES,
                       read: bool = True) -> list[Path]:
    """Every view in ``themes`` at ``sizes``; ``read``: each view reads afresh first
    (False: what it shows already, e.g. with the hub gone)."""
    written = []
    for theme in themes:
        ctx.theme.set_mode(theme)
        for w, h in sizes:
            window.resize(w, h)
            dash = window.views["dashboard"]
            dash.show_welcome(scene == "recorded" and theme == "light" and w == 1440)
            for key, view in window.views.items():
                window.show_view(key)
                if not read:
                    pass
                elif key == "dashboard":
                    await view.refresh()
                    await view.chart_panel.load()  # type: ignore[attr-defined]
                    view.chart_panel.chart.apply_pending()  # type: ignore[attr-defined]
                elif key == "providers":
                    await view.refresh()
                    view.focus_item(FAILING)  # type: ignore[attr-defined]
                    await view.refresh()
                else:
                    await view.refresh()
                if key == "sentiment_models" and read:
                    await view.score(  # type: ignore[attr-defined]
                        "Bitcoin ETF approval sends BTC to a new all-time high")
                window.status.refresh()
                window.show_network()
                await asyncio.sleep(1.2)  # paint, coalesced refreshes, column sizing
                written.append(_save(window, out / scene / f"{theme}-{w}x{h}" / f"{key}.png"))
    return written


async def _shoot(out: Path) -> list[Path]:
    from cryptohub_desktop.api.local import LocalApi
    from cryptohub_desktop.commands import serving
    from cryptohub_desktop.ui.app import build
    from cryptohub_desktop.ui.state import UiState
    from tests.replay import ReplayServer
    from tests.ws_replay import ReplayWS, Session, frame

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    dead = f"http://127.0.0.1:{_dead_port()}"
    stream = ReplayWS([Session(acks=[frame(STREAMED, "subscribe_ack.json")],
                               frames=[frame(STREAMED, "ticker_ethusdt.json"),
                                       frame(STREAMED, "kline_btcusdt.json")], interval=1.0)])
    await stream.__aenter__()
    with tempfile.TemporaryDirectory() as d, ReplayServer() as replay:
        tmp = Path(d)
        cfg, hub = await _prepare(tmp, replay, dead, stream.url)
        state = UiState(tmp / "ui.ini")
        state.chart_range = "max"
        state.chart_mode = "candles"
        state.close_to_tray = False
        api = LocalApi(hub)
        window, ctx = build(cfg, api, hub.secrets, app, state, serving(api, hub.secrets))
        ctx.rules.add_price("BTC", "above", 60000)
        if ctx.server is not None:
            await ctx.server.start()
        window.show()
        written = await _shoot_scene(window, ctx, out, "recorded")
        # the network goes away: every provider's host is now a closed port, and the
        # stream's server is gone (its state: stale, reconnecting, then the REST fallback)
        await stream.__aexit__()
        for pid, pc in cfg.providers.items():
            if pc.base_url:
                pc.base_url = f"{dead}/{pid}"
        await hub.runner.collect_once()
        await asyncio.sleep(7)
        await hub.settle()
        written += await _shoot_scene(window, ctx, out, "offline")
        window.quitting = True
        ctx.bridge.close()
        for view in window.views.values():
            await view.coalescer.aclose()
        if ctx.server is not None:
            await ctx.server.stop()
        await hub.stop()
        window.close()
        ctx.theme.set_mode("light")
        await asyncio.sleep(0)
    return written


async def _shoot_remote(out: Path) -> list[Path]:
    """The window attached to a real ``serve`` hub (``gui --hub``): every view, then the
    hub cut away (the connection drops, values turn last known, the banner says so)."""
    from cryptohub_desktop.api.remote import RemoteApi
    from cryptohub_desktop.collectors import PROVIDERS
    from cryptohub_desktop.config import load_config
    from cryptohub_desktop.providers.spec import key_names
    from cryptohub_desktop.secrets import HUB_TOKEN, Secrets
    from cryptohub_desktop.ui.app import build
    from cryptohub_desktop.ui.state import UiState
    from tests.memkeyring import MemoryKeyring
    from tests.replay import ReplayServer, providers_with_fixtures
    from tests.tcpproxy import TcpProxy
    from tests.ui.serve_hub import ADMIN_TOKEN, ServeHub

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    keys = {n: "test-key" for n in key_names(p.spec for p in PROVIDERS)
            if n not in MISSING_KEYS}
    with tempfile.TemporaryDirectory() as d, ReplayServer() as replay:
        tmp = Path(d)
        hub = ServeHub(tmp, replay, sorted(providers_with_fixtures()), env=keys,
                       watchlist=("BTC", "ETH", "BNB", "SOL", "XRP"),
                       extra="[retention]\ndays = 0\n")
        hub.start()
        try:
            await asyncio.sleep(20)  # every provider's first run (spread over 15 s)
            await hub.act("backfill", symbols=["BTC"], days=3650)
            with TcpProxy(("127.0.0.1", hub.port)) as proxy:
                url = f"http://127.0.0.1:{proxy.port}"
                (tmp / "desktop.toml").write_text(f'[hub]\nurl = "{url}"\n')
                cfg = load_config(tmp / "desktop.toml", data_dir=tmp / "desktop")
                secrets = Secrets(env={}, backend=MemoryKeyring())
                secrets.set(HUB_TOKEN, ADMIN_TOKEN)
                state = UiState(tmp / "ui.ini")
                state.chart_range = "max"
                state.chart_mode = "candles"
                state.close_to_tray = False
                api = RemoteApi(url, secrets.get(HUB_TOKEN))
                window, ctx = build(cfg, api, secrets, app, state, None)
                window.show()
                await api.start()
                written = await _shoot_scene(window, ctx, out, "remote")
                proxy.cut()
                while not api.state.startswith("reconnecting"):
                    await asyncio.sleep(0.1)
                written += await _shoot_scene(window, ctx, out, "remote/dropped",
                                              themes=("light",), sizes=SIZES[:1], read=False)
                window.quitting = True
                ctx.bridge.close()
                for view in window.views.values():
                    await view.coalescer.aclose()
                await api.stop()
                window.close()
                ctx.theme.set_mode("light")
                await asyncio.sleep(0)
        finally:
            hub.stop()
    return written


async def _main(out: Path, only: str) -> list[Path]:
    scenes = {"local": ("recorded", "offline"), "remote": ("remote",)}
    for name, folders in scenes.items():
        if only in (name, "all"):
            for scene in folders:
                shutil.rmtree(out / scene, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    written = await _shoot(out) if only in ("local", "all") else []
    if only in ("remote", "all"):
        written += await _shoot_remote(out)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--only", choices=("local", "remote", "all"), default="all",
                    help="the local scenes, the ones attached to a hub, or both")
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
        written = loop.run_until_complete(_main(args.out, args.only))
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
