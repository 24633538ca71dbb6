"""Truth on screen: an offline machine said once, empty answers and idle providers named
as such, old values marked stale with their age, counts that agree, times with their
zone, a window that works at 1024 x 700, and the first hour's help (menus, shortcuts,
the getting-started panel, backfill with progress, watchlist editing)."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import timedelta

from PySide6.QtWidgets import QCheckBox, QLineEdit, QScrollArea

from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.coalesce import Coalescer
from cryptohub_desktop.ui.mainwindow import MainWindow
from cryptohub_desktop.ui.models.table import Column, RowsModel
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.widgets import table as table_mod
from cryptohub_desktop.ui.widgets.table import DataTable
from tests.conftest import SLOW
from tests.replay import Fault
from tests.ui.conftest import TEST_KEYS, by_id, cell, replayed, row_of

NETWORKED = ("coingecko", "binance", "kraken")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>|&nbsp;|●", " ", html).split()


async def test_offline_machine_is_said_once(open_ui):
    """No host reachable: one banner and the status bar say the computer is offline;
    providers show offline (not amber), derived ones idle."""
    port = _dead_port()
    ui = await open_ui(by_id(*NETWORKED, "news_sentiment"), mount=False,
                       options={p: f'base_url = "http://127.0.0.1:{port}/{p}"'
                                for p in NETWORKED})
    w = ui.window
    assert w.banner.isHidden()
    await ui.hub.runner.collect_once()
    await ui.hub.settle()
    w.status.refresh()
    assert w.banner.isVisible()
    assert "This computer is offline" in w.banner.label.text()
    assert "Offline" in w.status.network.text()
    view = w.show_view("providers")
    await view.refresh()
    for pid in NETWORKED:
        assert row_of(view.model, pid)["status"] == "offline"
        assert "this machine is offline" in cell(view.model, view.model.find(pid),
                                                 "status_reason")
    assert cell(view.model, view.model.find("news_sentiment"), "status") == "idle (no input)"
    assert "This computer is offline" in view.summary.text()


async def test_empty_answer_shows_as_empty_with_its_reason(open_ui, replay):
    """An answer with no usable record is "empty answer" in Providers, never online 100 %."""
    ui = await open_ui(by_id("coinmarketcap"), keys=TEST_KEYS)
    replay.fault("/coinmarketcap/v2/cryptocurrency/quotes/latest",
                 Fault(body=b'{"status": {"error_code": 0}, "data": {}}'))
    assert (await ui.hub.runner.run_provider("coinmarketcap")).status == "empty"
    view = ui.window.show_view("providers")
    await view.refresh()
    m, i = view.model, view.model.find("coinmarketcap")
    assert cell(m, i, "status") == "empty answer"
    assert cell(m, i, "success_rate") == "0.0%"
    assert "no usable records" in cell(m, i, "status_reason")


async def test_counts_agree_between_status_bar_and_providers(open_ui, replay):
    """The status bar and the Providers summary give the same numbers."""
    ui = await open_ui(by_id("coingecko", "binance", "kraken", "coinmarketcap"), keys=TEST_KEYS)
    replay.fault("/binance", Fault(status=503))
    replay.fault("/coinmarketcap/v2/cryptocurrency/quotes/latest",
                 Fault(body=b'{"status": {"error_code": 0}, "data": {}}'))
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("providers")
    await view.refresh()
    ui.window.status.refresh()
    bar = " ".join(_plain(ui.window.status.counts.text()))
    assert bar == "2 online 1 degraded 0 offline 1 empty"
    assert "2 online, 1 degraded, 0 offline, 1 empty" in view.summary.text()


async def test_old_values_show_their_age_and_a_stale_mark(open_ui):
    """A price older than the consensus limit shows as the last known one with its age;
    a Fear & Greed reading from 2019 is marked stale, never shown as current."""
    ui = await open_ui(by_id("alternative_me"), extra="[consensus]\nmax_age_seconds = 600\n")
    old = utcnow() - timedelta(hours=3)
    await ui.hub.store.write(ui.hub.store.insert_records, "binance", [
        Price(symbol="BTC", quote="USDT", price_usd=73210.55, timestamp=old)])
    await ui.hub.runner.collect_once()
    view = ui.window.show_view("dashboard")
    await view.refresh()
    m, i = view.watchlist, view.watchlist.find("BTC")
    assert cell(m, i, "price") == "$73,210.55 (last)"
    assert cell(m, i, "as_of") == "stale: 3 h ago"
    assert cell(m, view.watchlist.find("ETH"), "price") == "no price yet"
    assert view.gauge.stale and view.gauge.value == 40
    assert view.gauge_note.text().startswith("alternative_me · stale: ")
    assert "years old" in view.gauge_note.text()


async def test_chart_range_ends_at_now_and_says_when_the_data_is_from(open_ui):
    """The 24 h range of data from 2022 is empty and says when the latest point was."""
    ui = await open_ui(by_id("cryptocompare"), keys=TEST_KEYS)
    view = ui.window.show_view("dashboard")
    res = await ui.hub.runner.collect_once()
    assert res[0].status == "success"
    dialog = ui.window.open_backfill(["BTC"])
    dialog.days.setValue(3650)
    await dialog.run()  # fills May-June 2022 daily candles
    panel = view.chart_panel
    panel.chart.set_range("24h")
    await panel.load()
    panel.chart.apply_pending()
    text = panel.chart.empty.toPlainText()
    assert "No data for BTC in the last 24 h" in text and "2022" in text.split("Latest:")[1]
    x0, x1 = panel.chart.vb.viewRange()[0]
    assert abs(x1 - utcnow().timestamp()) < 3600


async def test_times_say_their_zone(open_ui):
    """Times carry their zone, follow the Settings choice, and carry the year only when it
    is not this year."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    view.zone_combo.setCurrentIndex(view.zone_combo.findData("utc"))
    try:
        assert ui.ctx.state.times == "utc"
        assert fmt.local("2026-05-17T14:02:00Z") == "2026-05-17 14:02 UTC"
        assert fmt.short("2019-02-26T05:00:00Z") == "26 Feb 2019"
        this_year = utcnow().replace(month=1, day=2, hour=9, minute=5)
        assert fmt.short(this_year, now=this_year + timedelta(days=1)) == "2 Jan 09:05 UTC"
    finally:
        fmt.set_zone("local")


async def test_window_works_at_1024_by_700(open_ui):
    """At 1024 x 700 every page fits: no page needs more width than there is, Providers'
    names stay readable, Settings never scrolls sideways, Alerts' messages are on screen."""
    ui = await open_ui(replayed(), keys=TEST_KEYS)
    await ui.hub.runner.collect_once()
    await ui.hub.alerts.fire("staleness", "warning", "Kraken has sent no new data for 3 h",
                             "kraken")
    w = ui.window
    w.resize(1024, 700)
    await asyncio.sleep(0.05)
    assert (w.width(), w.height()) == (1024, 700)
    assert w.minimumSizeHint().width() < 1024 and w.minimumWidth() < 1070
    for key, view in w.views.items():
        w.show_view(key)
        await view.refresh()
        await asyncio.sleep(0.05)
        assert view.minimumSizeHint().width() <= w.stack.width(), key
    providers = w.views["providers"]
    await asyncio.sleep(1.2 * SLOW)  # columns follow their content within a second
    name_col = providers.model.column_of("name")
    assert providers.table.view.columnWidth(name_col) >= \
        min(190, providers.table.view.sizeHintForColumn(name_col)) - 2
    dash = w.show_view("dashboard")
    await asyncio.sleep(0.05)
    price = dash.watchlist.column_of("price")
    assert not dash.watch_table.view.isColumnHidden(price)
    w.resize(1440, 900)
    await asyncio.sleep(0.05)
    assert not dash.watch_table.view.isColumnHidden(dash.watchlist.column_of("market_cap"))
    w.resize(1024, 700)
    await asyncio.sleep(0.05)
    settings = w.show_view("settings")
    await asyncio.sleep(0.05)
    area = settings.findChild(QScrollArea)
    assert not area.horizontalScrollBar().isVisible()
    assert area.widget().minimumSizeHint().width() <= area.viewport().width()
    alerts = w.show_view("alerts")
    await alerts.refresh()
    await asyncio.sleep(1.2 * SLOW)
    tv = alerts.table.view
    col = alerts.model.column_of("message")
    left = tv.columnViewportPosition(col)
    assert 0 <= left and left + 150 <= tv.viewport().width()


async def test_dark_theme_keeps_field_and_check_box_borders(open_ui):
    """In the dark theme a text field's frame and an unchecked check box stand out from
    their background."""
    ui = await open_ui(by_id("coingecko"))
    ui.ctx.theme.set_mode("dark")
    box = QCheckBox("shown")
    edit = QLineEdit()
    for widget in (box, edit):
        widget.setParent(ui.window.views["settings"])
        widget.resize(160, 28)
        widget.show()
    img = box.grab().toImage()
    bg = img.pixelColor(img.width() - 2, img.height() // 2)  # beside the text
    ys = range(4, img.height() - 4)
    indicator = [img.pixelColor(x, y) for x in range(2, 18) for y in ys]
    assert max(abs(c.lightness() - bg.lightness()) for c in indicator) >= 25
    frame = edit.grab().toImage()
    inside = frame.pixelColor(frame.width() // 2, frame.height() // 2)
    border = frame.pixelColor(frame.width() // 2, 0)
    assert abs(border.lightness() - inside.lightness()) >= 20


async def test_menus_and_shortcuts(open_ui):
    """The menu bar has File, View and Help; Ctrl+2 shows Providers, Ctrl+F focuses its
    filter, F1 shows the getting-started panel, and About opens."""
    ui = await open_ui(by_id("coingecko"))
    w: MainWindow = ui.window
    assert [a.text() for a in w.menuBar().actions()] == ["&File", "&View", "&Help"]
    assert w.actions["view:providers"].shortcut().toString() == "Ctrl+2"
    assert w.actions["view:settings"].shortcut().toString() == "Ctrl+0"
    assert w.actions["refresh"].shortcut().toString() == "F5"
    w.actions["view:providers"].trigger()
    assert w.current_view().key == "providers"
    box = w.find()
    assert box is w.views["providers"].table.filter
    w.actions["view:dashboard"].trigger()
    w.views["dashboard"].show_welcome(False)
    w.actions["getting_started"].trigger()
    assert w.views["dashboard"].welcome.isVisible()
    about = w.show_about()
    assert "Crypto Hub Desktop" in about.text()
    about.close()


async def test_first_run_panel_shows_once_until_dismissed(open_ui):
    """The getting-started panel is there on the first launch, says where keys go and how
    to backfill, and stays away once dismissed."""
    ui = await open_ui(by_id("coingecko"))
    dash = ui.window.views["dashboard"]
    assert dash.welcome.isVisible()
    text = dash.welcome.text.text()
    assert "first minute" in text and "Settings → API keys" in text and "Backfill" in text
    dash.welcome.dismissed.emit()
    assert not dash.welcome.isVisible()
    assert ui.ctx.state.welcome_done


async def test_backfill_from_the_window_with_progress(open_ui):
    """File → Backfill fetches past candles with a progress bar and reports what it
    stored."""
    ui = await open_ui(by_id("cryptocompare"), keys=TEST_KEYS)
    dialog = ui.window.open_backfill()
    dialog.symbols.setText("btc")
    dialog.days.setValue(3650)
    steps: list[tuple[int, int]] = []
    dialog.bar.valueChanged.connect(lambda v: steps.append((v, dialog.bar.maximum())))
    res = await dialog.run()
    assert res.ok and res.data["inserted"] == 31
    assert steps[-1][0] == steps[-1][1] >= 1
    assert "31 candles stored for BTC" in dialog.result.text()


async def test_backfill_can_be_cancelled(open_ui, replay):
    """Cancel stops a slow backfill and says that what was fetched is kept."""
    ui = await open_ui(by_id("cryptocompare"), keys=TEST_KEYS)
    replay.fault("/cryptocompare/data/v2/histoday", Fault(delay=5.0))
    dialog = ui.window.open_backfill(["BTC"])
    dialog.days.setValue(3650)
    dialog.on_start_clicked()
    await asyncio.sleep(0.3)
    assert dialog.cancel.isEnabled()
    dialog.cancel.click()
    res = await dialog.task
    assert res.data.get("cancelled") and "cancelled" in dialog.result.text()
    assert dialog.start.isEnabled()


async def test_watchlist_edited_from_the_dashboard(open_ui):
    """The dashboard's Edit… searches the symbol map, adds a symbol, saves it to the config
    file and the running hub."""
    ui = await open_ui(by_id("coingecko"))
    dash = ui.window.show_view("dashboard")
    dialog = dash.open_watchlist_editor()
    labels = dialog.search.completer().model().stringList()
    assert any(label.startswith("DOGE — Dogecoin") for label in labels)
    assert dialog.add_symbol("DOGE — Dogecoin (12 providers)")
    assert not dialog.add_symbol("btc")  # already there
    assert await dialog.save()
    assert ui.hub.config.watchlist[-1] == "DOGE"
    assert '"DOGE"' in ui.hub.config.path.read_text()
    for _ in range(int(50 * SLOW)):  # the dashboard refreshes itself after the save
        if dash.watchlist.find("DOGE") >= 0:
            break
        await asyncio.sleep(0.1)
    assert dash.watchlist.find("DOGE") >= 0, [r["symbol"] for r in dash.watchlist.rows]


async def test_columns_follow_late_values_and_only_hand_widths_are_kept(qtbot, tmp_path):
    """A column first filled with short text grows when wider values arrive; automatic
    widths are not remembered, a width the user dragged is."""
    state = UiState(tmp_path / "ui.ini")
    table_mod.remember_widths_in(state)
    try:
        model = RowsModel([Column("symbol", "Symbol"), Column("price", "Price"),
                           Column("note", "Note")], key=lambda r: r["symbol"])
        t = DataTable(model, "watch", stretch="note")
        qtbot.addWidget(t)
        t.resize(600, 200)
        t.show()
        model.set_rows([{"symbol": "BTC", "price": "", "note": ""}])
        await asyncio.sleep(0.1)
        narrow = t.view.columnWidth(1)
        model.set_rows([{"symbol": "BTC", "price": "$73,210.55 (last)", "note": ""}])
        await asyncio.sleep(1.3 * SLOW)
        assert t.view.columnWidth(1) > narrow
        assert t.view.columnWidth(1) >= t.view.sizeHintForColumn(1) - 2
        assert state.column_widths("watch") == {}
    finally:
        table_mod.remember_widths_in(None)


async def test_readable_numbers_and_names(open_ui):
    """Hashrates carry their unit, metric names read as words, Schedule names providers by
    name, and an empty response-time chart has a sane axis and says why it is empty."""
    ui = await open_ui(by_id("blockchair", "defillama", "kraken"), keys=TEST_KEYS)
    await ui.hub.runner.collect_once()
    net = ui.window.show_view("network")
    await net.refresh()
    hashrates = [cell(net.explorers, i, "network_hashrate")
                 for i in range(net.explorers.rowCount())]
    assert any(h.endswith("H/s") for h in hashrates), hashrates
    metrics = [cell(net.onchain, i, "metric") for i in range(net.onchain.rowCount())]
    assert "TVL (USD)" in metrics and not any("_" in m for m in metrics)
    sched = ui.window.show_view("schedule")
    await sched.refresh()
    assert cell(sched.model, sched.model.find("blockchair"), "provider") == "Blockchair"
    prov = ui.window.show_view("providers")
    await prov.refresh()
    details = prov.details
    details.show_row(row_of(prov.model, "kraken"))
    details.pid = "nobody"  # a provider with no request yet
    await details.load()
    lo, hi = details.plot.getPlotItem().getViewBox().viewRange()[1]
    assert (lo, hi) == (0.0, 1000.0)
    assert details.no_data.isVisible()
    left = details.plot.getPlotItem().getAxis("left")
    assert left.tickStrings([0.0, 250.0], 1.0, 250.0) == ["0", "250"]


async def test_a_poke_during_a_refresh_refreshes_once_more(qtbot):
    """Data that changes while a page refreshes is shown: the refresh runs once more."""
    seen: list[int] = []
    gate = asyncio.Event()

    async def refresh() -> None:
        seen.append(len(seen))
        if len(seen) == 1:
            await gate.wait()

    c = Coalescer(refresh, interval_ms=20)
    c.poke()
    await asyncio.sleep(0.1)
    c.poke()  # while the first refresh still runs
    gate.set()
    for _ in range(50):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.02)
    assert seen == [0, 1]
    await c.aclose()
