"""GUI composition root: QApplication, the qasync loop, hub, server, window, tray.

Order matters for a fast first paint: the window is built and shown first, the
hub (database, keys, text model) and the server start right after on the same
loop, and the pages fill in as data arrives. Shutdown stops the server, then
the hub (which finishes queued writes), then yields once so late callbacks find
a running loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from importlib import resources

import qasync  # noqa: I001 - PySide6 must be imported before qasync
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import UserError
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.bridge import HubBridge
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.mainwindow import MainWindow
from cryptohub_desktop.ui.server_ctl import ServerControl
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import Theme
from cryptohub_desktop.ui.tray import Tray
from cryptohub_desktop.ui.views.settings_io import read_theme

log = logging.getLogger("cryptohub.ui")
#: benchmarks: print "first-paint <unix time>" and quit once the window painted
EXIT_AFTER_PAINT = "CRYPTOHUB_UI_EXIT_AFTER_PAINT"


def app_icon() -> QIcon:
    files = resources.files("cryptohub_desktop.resources")
    icon = QIcon()
    for name in ("icon.svg", "icon.png"):
        f = files.joinpath(name)
        if f.is_file():
            icon.addFile(str(f))
    return icon


def settle_memory() -> None:
    """Once started: collect, then freeze what exists (Qt wrappers, the catalogue, pyqtgraph)
    out of the garbage collector's reach, so full collections stay short and do not
    stall the UI (a full collection over the unfrozen heap took ~50 ms here)."""
    gc.collect()
    gc.freeze()


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("cryptohub-desktop")
    app.setApplicationDisplayName("Crypto Hub Desktop")
    app.setOrganizationName("cryptohub-desktop")
    app.setDesktopFileName("cryptohub-desktop")
    app.setQuitOnLastWindowClosed(False)
    return app


def build(cfg: Config, hub: Hub, app: QApplication, state: UiState,
          server: bool = True) -> tuple[MainWindow, UiContext]:
    """The window and its services around ``hub`` (tests and screenshots use this too)."""
    theme = Theme(app, read_theme(cfg, state))
    bridge = HubBridge(hub.bus)
    rules = AlertRules(state)
    ctl = ServerControl(hub, cfg.server) if server else None
    ctx = UiContext(hub=hub, bridge=bridge, theme=theme, state=state, rules=rules, server=ctl,
                    extra={"config": cfg})
    icon = app_icon()
    app.setWindowIcon(icon)
    tray = Tray(icon, rules)
    bridge.alert.connect(tray.on_bridge_alert)
    window = MainWindow(ctx, tray, icon)
    # the window owns the services: they are deleted with it, on the GUI thread
    for obj in (bridge, tray, ctl, theme):
        if obj is not None:
            obj.setParent(window)
    ctx.extra["tray"] = tray
    ctx.extra["window"] = window
    return window, ctx


async def run_window(cfg: Config, secrets: Secrets, app: QApplication,
                     state: UiState | None = None) -> int:
    """Show the window, start hub and server, run until the user quits."""
    from cryptohub_desktop.collectors import all_providers
    stop = asyncio.Event()
    hub = Hub(cfg, all_providers(), secrets)
    window, ctx = build(cfg, hub, app, state or UiState())
    tray: Tray = ctx.extra["tray"]  # type: ignore[assignment]
    window.quit_requested.connect(stop.set)
    tray.quit_requested.connect(lambda: (setattr(window, "quitting", True), stop.set()))
    tray.show_requested.connect(window.bring_to_front)
    tray.collect_requested.connect(lambda: asyncio.ensure_future(hub.collect_once()))
    if os.environ.get(EXIT_AFTER_PAINT):
        def painted() -> None:
            print(f"first-paint {time.time():.4f}", flush=True)
            window.quitting = True
            stop.set()
        window.first_painted.connect(painted)
    window.show()
    code = 0
    try:
        await asyncio.sleep(0)
        try:
            await hub.start()
        except UserError as exc:
            await _error_box(window, "Crypto Hub cannot start", str(exc))
            return 1
        for view in window.views.values():
            view.poke()
        if ctx.server is not None:
            await ctx.server.start()
        settle_memory()
        await stop.wait()
    finally:
        window.quitting = True
        window.save_state()
        ctx.bridge.close()
        tray.hide()
        for view in window.views.values():
            await view.coalescer.aclose()
        if ctx.server is not None:
            await ctx.server.stop()
        await hub.stop()
        window.close()
        await asyncio.sleep(0)
    return code


async def _error_box(parent: MainWindow, title: str, text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    done = asyncio.get_running_loop().create_future()
    box.finished.connect(lambda *_: done.done() or done.set_result(None))
    box.open()
    await done


def run_gui(cfg: Config) -> int:
    """``cryptohub-desktop gui``: returns the process exit code."""
    from cryptohub_desktop.logs import setup_logging
    from cryptohub_desktop.paths import ensure_layout
    secrets = Secrets()
    try:
        ensure_layout(cfg.data_dir)
    except OSError as exc:
        raise UserError(f"cannot create the data folder {cfg.data_dir}: {exc}") from exc
    setup_logging(cfg.data_dir, cfg.log_level, lambda: secrets.seen, console=False)
    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_window(cfg, secrets, app))
    finally:
        loop.close()
