"""The GUI around a HubApi: QApplication, the qasync loop, window, tray, server control.

The composition root (``commands.py``) hands in the hub as a HubApi (the engine in
this process, or a remote hub) and how to start the local server. Order matters
for a fast first paint: the window is built and shown first, the hub (database,
keys, text model) and the server start right after on the same loop, and the
pages fill in as data arrives. Shutdown stops the server, then the hub (which
finishes queued writes), then yields once so late callbacks find a running loop.
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

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import UserError
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.bridge import HubBridge
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.mainwindow import MainWindow
from cryptohub_desktop.ui.server_ctl import ServeFn, ServerControl
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import Theme
from cryptohub_desktop.ui.tray import Tray
from cryptohub_desktop.ui.views.settings_io import read_theme
from cryptohub_desktop.ui.widgets.table import remember_widths_in

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


def build(cfg: Config, api: HubApi, secrets: Secrets, app: QApplication, state: UiState,
          serve: ServeFn | None = None) -> tuple[MainWindow, UiContext]:
    """The window and its services around ``api`` (tests and screenshots use this too).

    Args:
        serve: starts the local server for a server config (None: no server in this run).
    """
    theme = Theme(app, read_theme(cfg, state))
    fmt.set_zone(state.times if state.times in fmt.ZONES else "local")
    remember_widths_in(state)
    bridge = HubBridge(api.subscribe, api.watch_state)
    rules = AlertRules(state)
    ctl = ServerControl(api, cfg.server, serve) if serve is not None else None
    ctx = UiContext(api=api, secrets=secrets, bridge=bridge, theme=theme, state=state,
                    rules=rules, server=ctl, extra={"config": cfg})
    icon = app_icon()
    app.setWindowIcon(icon)
    tray = Tray(icon, rules, api)
    bridge.alert.connect(tray.on_bridge_alert)
    bridge.status_changed.connect(tray.on_bridge_status_changed)
    window = MainWindow(ctx, tray, icon)
    # the window owns the services: they are deleted with it, on the GUI thread
    for obj in (bridge, tray, ctl, theme):
        if obj is not None:
            obj.setParent(window)
    ctx.extra["tray"] = tray
    ctx.extra["window"] = window
    return window, ctx


async def run_window(cfg: Config, api: HubApi, secrets: Secrets, app: QApplication,
                     serve: ServeFn | None, state: UiState | None = None) -> int:
    """Show the window, start the hub and the server, run until the user quits."""
    stop = asyncio.Event()
    window, ctx = build(cfg, api, secrets, app, state or UiState(), serve)
    tray: Tray = ctx.extra["tray"]  # type: ignore[assignment]
    window.quit_requested.connect(stop.set)
    tray.quit_requested.connect(lambda: (setattr(window, "quitting", True), stop.set()))
    tray.show_requested.connect(window.bring_to_front)
    tray.collect_requested.connect(lambda: asyncio.ensure_future(api.collect_all()))
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
            await api.start()
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
        await api.stop()
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


def run_gui(cfg: Config, api: HubApi, secrets: Secrets, serve: ServeFn | None) -> int:
    """``cryptohub-desktop gui``: the window on the qasync loop; returns the exit code."""
    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_window(cfg, api, secrets, app, serve))
    finally:
        loop.close()
