"""Kraken WebSocket v2: subscriptions, BTC/USD naming and the pure parser on recorded frames."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import kraken
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import Candle
from cryptohub_desktop.core.symbols import SymbolMap
from tests.ws_replay import frame

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PAIRS = {"BTC/USD": "BTC", "ALGO/USD": "ALGO"}


def parse(text: str):
    return kraken.parse_stream_frame(text, RECEIVED, PAIRS)


def test_v2_pairs_use_btc_not_xbt():
    """The symbol map's XBTUSD / XDGUSD become BTC/USD and DOGE/USD on v2."""
    pairs = kraken.stream_pairs(["BTC", "DOGE", "ETH"], SymbolMap.bundled())
    assert pairs == {"BTC/USD": "BTC", "DOGE/USD": "DOGE", "ETH/USD": "ETH"}


def test_plan_subscribes_ticker_and_ohlc_interval_1_with_app_ping():
    """Two subscribe requests (ticker, ohlc interval 1) and the {"method": "ping"} rule."""
    (plan,) = kraken.STREAM.plans(["BTC", "ETH"], SymbolMap.bundled())
    assert plan.url == "wss://ws.kraken.com/v2"
    assert [json.loads(m) for m in plan.subscribe] == [
        {"method": "subscribe", "params": {"channel": "ticker", "symbol": ["BTC/USD", "ETH/USD"]},
         "req_id": 1},
        {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["BTC/USD", "ETH/USD"],
                                           "interval": 1}, "req_id": 2}]
    assert json.loads(plan.ping.message) == {"method": "ping"}


def test_documented_ticker_snapshot_is_a_price():
    """The ALGO/USD snapshot: last, 24h base volume times vwap, change_pct."""
    (p,) = parse(frame("kraken", "ticker_snapshot_doc.json")).records
    assert (p.symbol, p.quote, p.timestamp) == ("ALGO", "USD", RECEIVED)
    assert p.price_usd == pytest.approx(0.10035)
    assert p.volume_24h == pytest.approx(997038.98383185 * 0.10148)
    assert p.price_change_24h == pytest.approx(-0.17)


def test_btc_ticker_snapshot_and_string_numbers_read_the_same():
    """The BTC/USD snapshot, and the same entry with numbers as strings, give one price."""
    text = frame("kraken", "ticker_snapshot_btc.json")
    msg = json.loads(text)
    msg["type"] = "update"
    msg["data"][0] = {k: str(v) if isinstance(v, float) else v for k, v in msg["data"][0].items()}
    (a,) = parse(text).records
    (b,) = parse(json.dumps(msg)).records
    assert a == b
    assert (a.symbol, a.price_usd, a.price_change_24h) == ("BTC", 105899.4, 0.24)


def test_documented_ohlc_snapshot_gives_candles_opened_at_interval_begin():
    """Both candles of the snapshot, opened at interval_begin (nanoseconds cut), 5m."""
    candles = parse(frame("kraken", "ohlc_snapshot_doc.json")).records
    assert [c.open_time for c in candles] == [
        datetime(2023, 10, 4, 15, 25, tzinfo=UTC), datetime(2023, 10, 4, 15, 30, tzinfo=UTC)]
    assert candles[1] == Candle(symbol="ALGO", interval="5m", open_time=candles[1].open_time,
                                open=0.09875, high=0.0988, low=0.09875, close=0.09875,
                                volume=16255.46368, quote="USD")


def test_ohlc_update_is_a_1m_candle():
    """An update message of the 1-minute running candle."""
    (c,) = parse(frame("kraken", "ohlc_update_btc.json")).records
    assert (c.symbol, c.interval, c.open_time, c.close, c.volume) == (
        "BTC", "1m", datetime(2023, 10, 4, 16, 25, tzinfo=UTC), 106040.1, 30927.68066226)


def test_candle_without_interval_begin_falls_back_to_the_deprecated_timestamp():
    """Only the deprecated timestamp (the interval's end in the docs' example): one interval back."""
    msg = json.loads(frame("kraken", "ohlc_snapshot_doc.json"))
    del msg["data"][0]["interval_begin"]
    c = parse(json.dumps(msg)).records[0]
    assert c.open_time == datetime(2023, 10, 4, 15, 25, tzinfo=UTC)


def test_ack_pong_heartbeat_and_rejection_are_recognised():
    """Per-symbol ack, pong, heartbeat; an XBT/USD subscription is refused by name."""
    assert parse(frame("kraken", "subscribe_ack.json")).kind == "ack"
    assert parse(frame("kraken", "pong.json")).kind == "pong"
    assert parse(frame("kraken", "heartbeat.json")).kind == "heartbeat"
    out = parse(frame("kraken", "subscribe_rejected.json"))
    assert (out.kind, out.message, out.subject) == (
        "rejected", "Kraken: Currency pair not supported XBT/USD", "XBT/USD")


@pytest.mark.parametrize("text", [
    "{",
    '{"type": "update"}',
    '{"channel": "ticker", "type": "update", "data": {"symbol": "BTC/USD"}}',
    '{"channel": "ticker", "type": "update", "data": [{"symbol": "BTC/USD", "bid": 1}]}',
    '{"channel": "ohlc", "type": "update", "data": [{"symbol": "BTC/USD", "interval": 1}]}',
    '{"channel": "ticker", "type": "other", "data": []}',
])
def test_bad_frames_are_parse_errors(text):
    """Not JSON, no channel, data not a list, missing price or candle fields: parse errors."""
    with pytest.raises(UpstreamParseError):
        parse(text)
