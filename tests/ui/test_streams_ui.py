"""The window shows live streams: the Providers page's Stream column and the Dashboard's
"live" mark on prices a stream serves, from a hub following a replayed Binance stream."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import Qt

from cryptohub_desktop.ui.theme import AMBER, GREEN
from tests.conftest import SLOW
from tests.ui.conftest import by_id, cell, next_signal
from tests.ws_replay import ReplayWS, Session, frame

TICK = frame("binance", "ticker_ethusdt.json")
ACK = frame("binance", "subscribe_ack.json")
STREAMS = ("[streams]\nstale_after_seconds = 1\nrest_fallback_after_seconds = 30\n"
           "reconnect_initial_seconds = 0.2\nreconnect_max_seconds = 1\n")


async def _refreshed(view, check, timeout: float = 10.0) -> None:
    """Wait for the view's coalesced refreshes until ``check()`` holds."""
    deadline = time.monotonic() + timeout * SLOW
    while not check():
        assert time.monotonic() < deadline, "the view never showed it"
        await next_signal(view.coalescer.done, timeout)


async def test_stream_column_and_live_mark_follow_the_stream(open_ui):
    """While ticks flow, Binance's Stream cell says "live" in green and ETH's price row is
    marked live; when the stream goes silent the cell turns amber (stale / reconnecting)
    and the live mark goes away."""
    async with ReplayWS([Session(acks=[ACK], frames=[TICK], after=40, then="silence"),
                         Session(acks=[ACK])]) as srv:
        ui = await open_ui(by_id("binance", "coingecko"), extra=STREAMS, schedule=True,
                           options={"binance": f'ws_url = "{srv.url}"'})
        providers = ui.window.show_view("providers")
        m = providers.model

        def stream_cell(pid: str) -> str:
            return cell(m, m.find(pid), "stream")

        def stream_color(pid: str) -> str | None:
            brush = m.data(m.index(m.find(pid), m.column_of("stream")),
                           Qt.ItemDataRole.ForegroundRole)
            return brush.name() if brush is not None else None

        await _refreshed(providers, lambda: m.find("binance") >= 0
                         and stream_cell("binance") == "live")
        assert stream_color("binance") == GREEN
        assert stream_cell("coingecko") == "—"  # REST only: no stream

        dash = ui.window.show_view("dashboard")
        w = dash.watchlist
        await _refreshed(dash, lambda: w.find("ETH") >= 0 and cell(w, w.find("ETH"), "live")
                         == "● live")
        assert cell(w, w.find("BTC"), "live") == ""  # no stream price for BTC

        ui.window.show_view("providers")
        await _refreshed(providers, lambda: stream_cell("binance") != "live", timeout=15)
        assert stream_color("binance") == AMBER
        ui.window.show_view("dashboard")
        await _refreshed(dash, lambda: cell(w, w.find("ETH"), "live") == "", timeout=15)
        await asyncio.sleep(0)
