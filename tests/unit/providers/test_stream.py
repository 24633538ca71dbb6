"""The pure parts of providers/stream: settings, states, plans, frame helpers, registration."""

import pytest

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.stream import (
    StreamClient,
    StreamSettings,
    StreamState,
    load_json,
)


def test_settings_defaults_are_spec_section_4():
    """The frozen settings carry the SPEC defaults (15/20/10/1/60/20/20)."""
    s = StreamSettings()
    assert (s.stale_after_seconds, s.ping_interval_seconds, s.pong_timeout_seconds,
            s.reconnect_initial_seconds, s.reconnect_max_seconds, s.max_connects_per_5min,
            s.rest_fallback_after_seconds) == (15, 20, 10, 1, 60, 20, 20)
    with pytest.raises(AttributeError):
        s.stale_after_seconds = 1  # type: ignore[misc]


def test_states_read_as_the_ui_shows_them():
    """reconnecting carries its attempt number; the others read as their name."""
    assert str(StreamState("reconnecting", 3)) == "reconnecting (3)"
    assert [str(StreamState(n)) for n in ("connecting", "live", "stale", "rejected", "stopped")] \
        == ["connecting", "live", "stale", "rejected", "stopped"]


def test_load_json_quotes_the_start_of_a_bad_frame():
    """A frame that is not JSON is a parse error quoting its first characters."""
    with pytest.raises(UpstreamParseError, match="not JSON: '<html>"):
        load_json("<html>" + "x" * 500)


def test_the_five_exchanges_are_registered_with_streams():
    """Binance, Coinbase, Kraken, OKX and Bybit carry a stream adapter on their Provider."""
    streaming = {p.id: p.stream for p in PROVIDERS if p.stream is not None}
    assert set(streaming) == {"binance", "coinbase", "kraken", "okx", "bybit"}
    assert streaming["okx"].business_url == "wss://ws.okx.com:8443/ws/v5/business"
    assert all(a.url.startswith("wss://") for a in streaming.values())


def test_no_listed_symbol_means_no_connection():
    """A watchlist the exchange lists none of opens nothing (BNB is not on Coinbase)."""
    coinbase = next(p for p in PROVIDERS if p.id == "coinbase")
    assert coinbase.stream.plans(["BNB"], SymbolMap.bundled()) == []


def test_a_client_not_started_is_stopped():
    """Before start() the state is stopped; stop() on it is harmless."""
    coinbase = next(p for p in PROVIDERS if p.id == "coinbase")
    (plan,) = coinbase.stream.plans(["BTC"], SymbolMap.bundled())
    client = StreamClient(plan, on_records=lambda r, t: None, on_state=lambda s: None,
                          on_error=lambda k, m: None)
    assert client.state == StreamState("stopped")
    assert client.silent_for() is None
