"""Settings: keys go to the keychain only; the rest goes to the TOML config file."""

from __future__ import annotations

import tomllib

from cryptohub_desktop.secrets import SERVICE
from tests.replay import Fault
from tests.ui.conftest import by_id, next_signal

KEY = "sk-live-9f8e7d6c5b4a39281706"


async def test_key_saved_in_settings_reaches_the_keychain_only(open_ui, secrets, replay):
    """A key typed in Settings lands in the keychain, is shown masked, makes the provider
    usable, and appears neither in the config file nor in the database."""
    ui = await open_ui(by_id("coingecko", "etherscan"))
    assert ui.hub.catalogue.key_state("etherscan") == "missing"
    view = ui.window.show_view("settings")
    await view.refresh()
    row = view.keys.rows["ETHERSCAN_KEY_1"]
    row.edit.setText(KEY)
    row.save.click()
    assert await next_signal(view.keys.saved) == ("ETHERSCAN_KEY_1",)
    assert secrets._backend.entries[(SERVICE, "ETHERSCAN_KEY_1")] == KEY
    assert row.current.text() == "sk-l…1706 (keychain)"
    assert row.edit.text() == ""
    assert ui.hub.catalogue.key_state("etherscan") == "present"
    assert await view.keys.test_key("ETHERSCAN_KEY_1") == "success"
    assert any(s.query.get("apikey") == [KEY] for s in replay.seen)
    assert await view.save()
    text = ui.hub.config.path.read_text()
    assert KEY not in text and "sk-l" not in text
    await ui.hub.settle()
    db = ui.hub.config.db_path
    blobs = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert KEY.encode() not in blobs


async def test_settings_are_written_to_the_config_file(open_ui):
    """Intervals, retention, watchlist and server settings are validated, written to the
    TOML file and applied to the running hub."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    view.intervals["news"].setCurrentText("every 5 min")
    view.retention.setValue(30)
    view.watchlist.setText("btc, eth sol")
    view.port.setValue(7999)
    view.theme_combo.setCurrentIndex(view.theme_combo.findData("dark"))
    assert await view.save(), view.message.text()
    raw = tomllib.loads(ui.hub.config.path.read_text())
    assert raw["schedule"]["news"] == "every_5_min"
    assert raw["retention"]["days"] == 30
    assert raw["watchlist"]["symbols"] == ["BTC", "ETH", "SOL"]
    assert raw["server"]["port"] == 7999
    assert "coingecko" in raw["providers"]  # what was there before is kept
    assert ui.hub.config.watchlist == ["BTC", "ETH", "SOL"]
    assert ui.hub.config.retention_days == 30
    assert ui.ctx.theme.dark


async def test_bad_settings_leave_the_file_alone(open_ui):
    """An invalid interval is refused with a message and the file is not touched."""
    ui = await open_ui(by_id("coingecko"))
    before = ui.hub.config.path.read_text()
    view = ui.window.show_view("settings")
    view.intervals["news"].setEditText("sometimes")
    assert not await view.save()
    assert "Not saved" in view.message.text() and "sometimes" in view.message.text()
    assert ui.hub.config.path.read_text() == before


async def test_server_token_is_masked_and_copyable(open_ui, qapp):
    """The access token is hidden until "Show" and "Copy" puts it on the clipboard."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    await view.refresh()
    token = view.token.text()
    assert len(token) > 20
    assert view.token.echoMode() == view.token.EchoMode.Password
    view.show_token.click()
    assert view.token.echoMode() == view.token.EchoMode.Normal
    view.copy_token.click()
    assert qapp.clipboard().text() == token


async def test_intervals_read_as_words(open_ui):
    """The interval drop-downs say "every 1 min", not the file's "every_1_min"."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    combo = view.intervals["market_data"]
    assert combo.currentText() == "every 1 min"
    assert [combo.itemText(i) for i in range(combo.count())][:3] == [
        "every 30 s", "every 1 min", "every 2 min"]
    assert all("_" not in combo.itemText(i) for i in range(combo.count()))


async def test_theme_applies_at_once(open_ui):
    """Picking the dark theme repaints at once, before Save, and is remembered."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    assert not ui.ctx.theme.dark
    view.theme_combo.setCurrentIndex(view.theme_combo.findData("dark"))
    assert ui.ctx.theme.dark
    assert ui.ctx.state.theme == "dark"


async def test_saving_keeps_the_users_comments(open_ui):
    """Save rewrites only the changed values: the user's comments and layout stay."""
    ui = await open_ui(by_id("coingecko"))
    path = ui.hub.config.path
    path.write_text("# my own notes about this hub\n" + path.read_text()
                    + "\n[retention]\ndays = 90  # three months is enough\n")
    view = ui.window.show_view("settings")
    view.retention.setValue(30)
    assert await view.save(), view.message.text()
    text = path.read_text()
    assert text.startswith("# my own notes about this hub\n")
    assert "days = 30  # three months is enough" in text
    assert tomllib.loads(text)["retention"]["days"] == 30


async def test_keychain_wording_follows_the_keychain(open_ui):
    """"Kept in the keychain" is only said when there is a keychain."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    await view.refresh()
    assert "Kept in the keychain" in view.token_note.text()
    ui.ctx.secrets._backend.priority = 0  # what keyring's "fail" backend reports
    await view.refresh()
    assert "Kept in the keychain" not in view.token_note.text()
    assert "No keychain" in view.token_note.text()


async def test_test_key_errors_are_plain_words(open_ui, replay):
    """A key test whose connection breaks says so in words, not "[Errno 104]"."""
    ui = await open_ui(by_id("etherscan"), keys={"ETHERSCAN_KEY_1": "k" * 20})
    replay.fault("/etherscan", Fault(reset=True))
    view = ui.window.show_view("settings")
    await view.refresh()
    assert await view.keys.test_key("ETHERSCAN_KEY_1") == "failure"
    text = view.keys.rows["ETHERSCAN_KEY_1"].result.text()
    assert "could not connect" in text and "Errno" not in text


async def test_hub_section_writes_the_url_and_keeps_the_token_in_the_keychain(open_ui, secrets):
    """Collecting locally, Settings → Hub writes [hub] url for the next start and puts the
    token in the keychain entry CRYPTOHUB_HUB_TOKEN, never in the file; a URL that is not
    http(s) is refused in one line and nothing is written."""
    ui = await open_ui(by_id("coingecko"))
    view = ui.window.show_view("settings")
    await view.refresh()
    assert "next start" in view.hub.note.text()
    view.hub.url.setText("ftp://hub.example.org")
    assert not await view.save()
    assert "http(s)://host[:port]" in view.message.text()
    assert "hub" not in tomllib.loads(ui.hub.config.path.read_text())
    view.hub.url.setText("https://hub.example.org")
    view.hub.token.setText("hub-token-1234567")
    assert await view.save(), view.message.text()
    text = ui.hub.config.path.read_text()
    assert tomllib.loads(text)["hub"]["url"] == "https://hub.example.org"
    assert "hub-token-1234567" not in text
    assert secrets._backend.entries[(SERVICE, "CRYPTOHUB_HUB_TOKEN")] == "hub-token-1234567"
    assert view.hub.token.text() == ""
