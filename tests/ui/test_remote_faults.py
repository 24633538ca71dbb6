"""The desktop attached to a hub when things go wrong: the hub drops away and comes back,
a read-only token, a wrong token, a hub that refuses the WebSocket handshake, a wrong
URL. Always a clear line in the window, never a crash, never a stale value as current."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import serve

from cryptohub_desktop.core.time import parse_iso
from cryptohub_desktop.server.actions import READ_ONLY
from tests.cluster.harness import free_port
from tests.conftest import SLOW
from tests.tcpproxy import TcpProxy
from tests.ui.conftest import until
from tests.ui.serve_hub import ADMIN_TOKEN, READ_TOKEN, hub_btc, watchlist_btc

MARKET = ["kraken", "bitfinex"]  # both stamp their prices at collection time


def _newest(m: dict[str, Any]) -> Any:
    return max(parse_iso(s["timestamp"]) for s in m["sources"])


async def _collected(hub: Any) -> dict[str, Any]:
    for _ in range(int(200 * SLOW)):
        m = await hub_btc(hub)
        if m.get("consensus_price") and len(m["sources"]) == len(MARKET):
            return m
        await asyncio.sleep(0.1)
    raise AssertionError(f"the hub did not collect: {m}")


async def test_hub_cut_reconnects_shows_nothing_stale_as_current_and_fills_the_gap(
        serve_hub, open_remote):
    """The connection to the hub is cut: the status bar says "reconnecting (n)", a banner
    says why, every price turns "last known"; the hub collects meanwhile; once the hub is
    reachable again the window says "connected" and shows what it missed."""
    hub = serve_hub(MARKET)
    first = await _collected(hub)
    with TcpProxy(("127.0.0.1", hub.port)) as proxy:
        ui = await open_remote(f"http://127.0.0.1:{proxy.port}", ADMIN_TOKEN)
        dash = ui.window.show_view("dashboard")
        await until(lambda: (r := watchlist_btc(dash)) and r["fresh"], what="a current price")
        assert parse_iso(watchlist_btc(dash)["as_of"]) == _newest(first)  # type: ignore[index]

        proxy.cut()
        await until(lambda: ui.api.state.startswith("reconnecting"), what="reconnecting")
        bar = ui.window.status.hub.text()
        assert "reconnecting (" in bar
        assert ui.window.hub_banner.isVisible()
        assert "dropped" in ui.window.hub_banner.label.text()
        row = watchlist_btc(dash)
        assert row is not None and not row["fresh"]  # last known, never current
        assert "last known" in ui.window.status.counts.text()
        assert ui.window.views["providers"].summary.text().startswith("Last known")

        result = await hub.act("collect_now", provider="kraken")  # missed by the desktop
        assert result["ok"], result
        missed = await hub_btc(hub)
        assert _newest(missed) > _newest(first)
        await asyncio.sleep(1.0 * SLOW)
        assert not watchlist_btc(dash)["fresh"]  # type: ignore[index]  # still away: still stale

        proxy.restore()
        await until(lambda: ui.api.state == "connected", timeout=40, what="connected again")
        assert "connected" in ui.window.status.hub.text()
        assert not ui.window.hub_banner.isVisible()
        await until(lambda: (r := watchlist_btc(dash)) and r["fresh"]
                    and parse_iso(r["as_of"]) == _newest(missed), what="the missed update")


async def test_read_only_token_disables_actions_with_the_reason(serve_hub, open_remote):
    """With the hub's read-only token everything shows, and every action the window
    offers is disabled with a tooltip saying why."""
    hub = serve_hub(MARKET)
    await _collected(hub)
    ui = await open_remote(hub.url, READ_TOKEN)
    assert ui.api.state == "connected" and not ui.api.can_act
    w = ui.window
    dash = w.show_view("dashboard")
    await until(lambda: (r := watchlist_btc(dash)) and r["fresh"], what="prices shown")
    providers = w.show_view("providers")
    await until(lambda: providers.model.find("kraken") >= 0, what="providers listed")
    providers.table.select_key("kraken")
    details = providers.details
    await until(lambda: details.pid == "kraken", what="details")
    alerts = w.show_view("alerts")
    pools = w.show_view("pools")
    dialog = w.open_backfill(["BTC"])
    for widget in (details.collect, details.enabled, alerts.ack, alerts.ack_all,
                   pools.strategy, pools.up, pools.down, dialog.start):
        assert not widget.isEnabled(), widget
        assert widget.toolTip() == READ_ONLY, widget
    for action in (w.actions["collect"], w.actions["backfill"], w.tray.collect_action):
        assert not action.isEnabled()
        assert action.toolTip() == READ_ONLY
    assert not dash.edit_watchlist.isEnabled()
    settings = w.show_view("settings")
    assert not settings.keys_card.isVisible() and not settings.sched_card.isVisible()
    assert not settings.server_card.isVisible() and settings.remote_note.isVisible()


async def test_wrong_token_says_auth_failed_and_settings_fix_it(serve_hub, open_remote):
    """A wrong token: "hub: auth failed" and a banner naming the fix; entering the right
    token in Settings → Hub stores it in the keychain (not the config file) and the window
    reconnects at once."""
    hub = serve_hub(MARKET)
    await _collected(hub)
    ui = await open_remote(hub.url, "not-the-token")
    assert ui.api.state == "auth failed"
    assert "auth failed" in ui.window.status.hub.text()
    assert ui.window.hub_banner.isVisible()
    assert "refused" in ui.window.hub_banner.label.text()
    assert not ui.window.actions["collect"].isEnabled()

    settings = ui.window.show_view("settings")
    settings.hub.token.setText(ADMIN_TOKEN)
    assert await settings.save()
    assert ui.ctx.secrets.get("CRYPTOHUB_HUB_TOKEN") == ADMIN_TOKEN
    cfg_text = ui.ctx.extra["config"].path.read_text()  # type: ignore[attr-defined]
    assert ADMIN_TOKEN not in cfg_text
    await until(lambda: ui.api.state == "connected", timeout=30, what="connected")
    assert ui.api.can_act and not ui.window.hub_banner.isVisible()
    assert ui.window.actions["collect"].isEnabled()
    dash = ui.window.show_view("dashboard")
    await until(lambda: (r := watchlist_btc(dash)) and r["fresh"], what="prices shown")


async def test_a_hub_refusing_the_websocket_handshake_is_auth_failed(open_remote):
    """A server answering 401 to the WebSocket handshake (a proxy in front of the hub
    that wants other credentials): "auth failed" with the status code, no crash."""
    async def refuse(connection: Any, request: Any) -> Any:
        return connection.respond(401, "Unauthorized\n")

    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0,
                     process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        ui = await open_remote(f"http://127.0.0.1:{port}", ADMIN_TOKEN, wait=False)
        await until(lambda: ui.api.state == "auth failed", what="auth failed")
        assert "401" in ui.api.detail
        assert "auth failed" in ui.window.status.hub.text()
        assert "refused" in ui.window.hub_banner.label.text()
        await ui.api.stop()


async def test_wrong_url_says_unreachable(open_remote):
    """Nothing listens at the hub URL: "hub: unreachable" and a banner naming the URL."""
    url = f"http://127.0.0.1:{free_port()}"
    ui = await open_remote(url, ADMIN_TOKEN, wait=False)
    await until(lambda: ui.api.state == "unreachable", what="unreachable")
    assert "unreachable" in ui.window.status.hub.text()
    assert url in ui.window.hub_banner.label.text()
    assert ui.window.isVisible()


async def test_a_hub_of_another_major_version_is_incompatible(open_remote):
    """A hub whose hello names another major version: "hub: incompatible version" and a
    banner saying to update one side; the desktop stops trying (no retry storm)."""
    async def hub_of_the_future(ws: Any) -> None:
        async for raw in ws:
            if json.loads(raw).get("action") == "hello":
                await ws.send(json.dumps({"type": "hello", "version": "99.0.0",
                                          "instance_id": "hub-z", "can_act": True}))

    async with serve(hub_of_the_future, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        ui = await open_remote(f"http://127.0.0.1:{port}", ADMIN_TOKEN, wait=False)
        await until(lambda: ui.api.state == "incompatible", what="incompatible")
        assert "99.0.0" in ui.api.detail
        assert "incompatible version" in ui.window.status.hub.text()
        assert "another version" in ui.window.hub_banner.label.text()
        assert not ui.window.actions["collect"].isEnabled()
        await ui.api.stop()
