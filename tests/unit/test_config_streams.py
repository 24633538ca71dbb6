"""Configuration of live streams: [streams] and [providers.<id>] ws_url / ws_business_url / ws_enabled."""

from dataclasses import fields

import pytest

from cryptohub_desktop.config import load_config
from cryptohub_desktop.core.errors import ConfigError
from cryptohub_desktop.providers.stream import StreamSettings


def load(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(path, data_dir=tmp_path, known_providers={"binance", "okx"})


def timings(settings: StreamSettings) -> StreamSettings:
    """The door's timings of ``settings`` (a StreamsConfig is one, plus ``enabled``)."""
    return StreamSettings(**{f.name: getattr(settings, f.name) for f in fields(StreamSettings)})


def test_defaults_are_the_spec_values(tmp_path):
    """With no [streams] table every key has its SPEC section 4 default, same as the door's."""
    cfg = load(tmp_path, "")
    assert cfg.streams.enabled is True
    assert timings(cfg.streams) == StreamSettings()
    assert StreamSettings() == StreamSettings(15, 20, 10, 1, 60, 20, 20)
    assert (cfg.provider("binance").ws_url, cfg.provider("binance").ws_enabled) == (None, True)


def test_spec_example_streams_table_is_read(tmp_path):
    """The [streams] and [providers.binance] tables exactly as SPEC section 4 writes them."""
    cfg = load(tmp_path, """
[providers.binance]
rate_limit = "10/10s"
ws_url = "wss://stream.binance.com:9443/ws"
ws_enabled = true

[streams]
enabled = true
stale_after_seconds = 15
ping_interval_seconds = 20
pong_timeout_seconds = 10
reconnect_initial_seconds = 1
reconnect_max_seconds = 60
max_connects_per_5min = 20
rest_fallback_after_seconds = 20
""")
    assert cfg.provider("binance").ws_url == "wss://stream.binance.com:9443/ws"
    assert timings(cfg.streams) == StreamSettings()


def test_short_test_settings_and_local_urls_are_accepted(tmp_path):
    """Fractions of a second, a ws://127.0.0.1 URL and a business URL, and ws_enabled false."""
    cfg = load(tmp_path, """
[streams]
enabled = false
stale_after_seconds = 0.5
reconnect_initial_seconds = 0.1
reconnect_max_seconds = 0.4
max_connects_per_5min = 3

[providers.okx]
ws_url = "ws://127.0.0.1:8765/okx/public"
ws_business_url = "ws://127.0.0.1:8765/okx/business"
ws_enabled = false
""")
    s = cfg.streams
    assert isinstance(s, StreamSettings)  # the door takes the config as it is
    assert (cfg.streams.enabled, s.stale_after_seconds, s.reconnect_max_seconds,
            s.max_connects_per_5min) == (False, 0.5, 0.4, 3)
    okx = cfg.provider("okx")
    assert (okx.ws_url, okx.ws_business_url, okx.ws_enabled) == (
        "ws://127.0.0.1:8765/okx/public", "ws://127.0.0.1:8765/okx/business", False)
    assert okx.options == {}


@pytest.mark.parametrize(("text", "needle"), [
    ("[streams]\nenabeld = true", "[streams]: unknown key 'enabeld'"),
    ("[streams]\nenabled = 1", "[streams] enabled"),
    ("[streams]\nstale_after_seconds = 0", "[streams] stale_after_seconds"),
    ("[streams]\nping_interval_seconds = -5", "[streams] ping_interval_seconds"),
    ('[streams]\npong_timeout_seconds = "10"', "[streams] pong_timeout_seconds"),
    ("[streams]\nrest_fallback_after_seconds = true", "[streams] rest_fallback_after_seconds"),
    ("[streams]\nmax_connects_per_5min = 0", "[streams] max_connects_per_5min"),
    ("[streams]\nmax_connects_per_5min = 2.5", "[streams] max_connects_per_5min"),
    ("[streams]\nreconnect_initial_seconds = 10\nreconnect_max_seconds = 5",
     "[streams] reconnect_max_seconds"),
    ("streams = 3", "[streams]"),
    ('[providers.binance]\nws_url = "https://stream.binance.com"', "[providers.binance] ws_url"),
    ('[providers.okx]\nws_business_url = "okx"', "[providers.okx] ws_business_url"),
    ("[providers.binance]\nws_url = 9443", "[providers.binance] ws_url"),
    ('[providers.binance]\nws_enabled = "yes"', "[providers.binance] ws_enabled"),
])
def test_bad_values_give_one_line_errors_naming_the_key(tmp_path, text, needle):
    """Each wrong [streams] or ws_* value is a one-line ConfigError naming the key."""
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)
