"""The application around the window: restart state, tray, theme, the real command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QPalette

from cryptohub_desktop.ui import theme as theme_mod
from cryptohub_desktop.ui.app import EXIT_AFTER_PAINT, build
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.tray import Tray
from tests.conftest import SLOW
from tests.ui.conftest import by_id, next_signal


async def test_state_survives_a_restart(open_ui, qapp):
    """Window geometry, the selected page and the chart range come back after a restart."""
    ui = await open_ui(by_id("coingecko"))
    ui.window.show_view("whales")
    panel = ui.window.views["dashboard"].chart_panel
    thirty = next(b for b in panel.ranges.buttons() if b.text() == "30d")
    thirty.click()
    ui.window.setGeometry(20, 30, 1000, 640)
    size = ui.window.size()
    ui.window.save_state()
    assert UiState(ui.state_path).geometry == ui.window.saveGeometry()
    window2, ctx2 = build(ui.hub.config, ui.ctx.api, ui.hub.secrets, qapp, UiState(ui.state_path))
    try:
        assert window2.current_view().key == "whales"
        assert window2.views["dashboard"].chart_panel.chart.range_key == "30d"
        # the offscreen screen is 800 px wide, so only the height comes back unclamped
        assert window2.size().height() == size.height()
    finally:
        window2.quitting = True
        ctx2.bridge.close()
        for view in window2.views.values():
            await view.coalescer.aclose()
        window2.close()
        import shiboken6
        shiboken6.delete(window2)


async def test_close_goes_to_the_tray_and_collection_goes_on(open_ui, monkeypatch):
    """With a system tray, closing the window hides it (once telling the user so) instead
    of quitting; without one, closing quits."""
    ui = await open_ui(by_id("coingecko"))
    ui.ctx.state.close_to_tray = True
    monkeypatch.setattr(Tray, "available", staticmethod(lambda: True))
    quits: list[bool] = []
    ui.window.quit_requested.connect(lambda: quits.append(True))
    ui.window.close()
    assert not ui.window.isVisible() and quits == []
    assert ui.ctx.extra["tray"].history[-1][0] == "Still collecting"
    assert (await ui.hub.runner.run_provider("coingecko")).status == "success"
    monkeypatch.setattr(Tray, "available", staticmethod(lambda: False))
    ui.window.show()
    ui.window.close()
    assert quits == [True]


async def test_theme_follows_the_os_and_can_be_forced(open_ui, monkeypatch):
    """The "system" theme follows the OS colour scheme; Settings can force light or dark."""
    ui = await open_ui(by_id("coingecko"))
    theme = ui.ctx.theme
    monkeypatch.setattr(theme_mod, "os_prefers_dark", lambda: True)
    theme.set_mode("system")
    assert theme.dark
    await asyncio.sleep(0.05)  # widgets take the new application palette from an event
    assert ui.window.palette().color(QPalette.ColorRole.Window).lightness() < 80
    changed = next_signal(theme.changed)
    theme.set_mode("light")
    assert await changed == (False,)
    await asyncio.sleep(0.05)
    assert ui.window.palette().color(QPalette.ColorRole.Window).lightness() > 200
    monkeypatch.setattr(theme_mod, "os_prefers_dark", lambda: False)
    theme.set_mode("system")
    assert not theme.dark


@pytest.mark.timeout(120)
def test_first_run_without_config_or_keys_paints_the_window(tmp_path):
    """`cryptohub-desktop gui` with no config file, no keys and no keychain opens and
    paints the window (then quits, for the test), and creates the database."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CRYPTOHUB_DATA_DIR=str(tmp_path / "d"),
               CRYPTOHUB_CONFIG=str(tmp_path / "none.toml"), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **{EXIT_AFTER_PAINT: "1"})
    for name in list(env):
        if name.endswith(("_KEY", "_KEY_1", "_KEY_2", "_TOKEN")):
            env.pop(name)
    out = subprocess.run([sys.executable, "-m", "cryptohub_desktop", "gui", "--no-server"],
                         env=env, capture_output=True, text=True, timeout=60 * SLOW)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("first-paint ")
    assert (tmp_path / "d" / "api_monitor.db").exists()
