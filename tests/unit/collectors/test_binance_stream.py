"""Binance stream: subscribe message and the pure frame parser on recorded frames."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import binance
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import Candle, Price
from cryptohub_desktop.core.symbols import SymbolMap
from tests.ws_replay import frame

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PAIRS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH", "BNBBTC": "BNB"}


def parse(text: str):
    return binance.parse_stream_frame(text, RECEIVED, PAIRS)


def test_plan_subscribes_ticker_and_1m_kline_of_every_watched_pair():
    """One SUBSCRIBE names <pair>@ticker and <pair>@kline_1m in lower case, on /stream."""
    (plan,) = binance.STREAM.plans(["BTC", "ETH"], SymbolMap.bundled())
    assert plan.url == "wss://stream.binance.com:9443/stream"
    assert [json.loads(m) for m in plan.subscribe] == [{
        "method": "SUBSCRIBE", "id": 1,
        "params": ["btcusdt@ticker", "btcusdt@kline_1m", "ethusdt@ticker", "ethusdt@kline_1m"]}]
    assert plan.ping.message is None  # protocol pings


def test_ws_url_override_is_used():
    """A configured ws_url (a replay server) replaces the documented endpoint."""
    (plan,) = binance.STREAM.plans(["BTC"], SymbolMap.bundled(), url="ws://127.0.0.1:9/ws")
    assert plan.url == "ws://127.0.0.1:9/ws"


def test_recorded_ethusdt_ticker_is_a_usdt_price_stamped_with_receive_time():
    """The live-recorded 24hrTicker: last price, 24h quote volume and change, receive time."""
    out = parse(frame("binance", "ticker_ethusdt.json"))
    assert out.kind == "data"
    (p,) = out.records
    assert p == Price(symbol="ETH", quote="USDT", price_usd=pytest.approx(1792.84),
                      volume_24h=pytest.approx(840180761.513581),
                      price_change_24h=pytest.approx(1.6), timestamp=RECEIVED)


def test_documented_ticker_of_a_btc_quoted_pair_keeps_its_quote():
    """The documented BNBBTC example is a BNB price quoted in BTC."""
    (p,) = parse(frame("binance", "ticker_doc.json")).records
    assert (p.symbol, p.quote, p.price_usd, p.volume_24h, p.price_change_24h) == (
        "BNB", "BTC", 0.0025, 18.0, 250.0)


def test_recorded_kline_is_an_open_1m_candle_with_its_open_time():
    """The live-recorded kline_1m frame gives a 1m candle opened at k.t, base volume."""
    (c,) = parse(frame("binance", "kline_btcusdt.json")).records
    assert c == Candle(symbol="BTC", interval="1m",
                       open_time=datetime.fromtimestamp(1653818760, UTC),
                       open=29038.46, high=29038.47, low=29038.46, close=29038.47,
                       volume=pytest.approx(0.20926), quote="USDT")


def test_candle_re_sent_while_open_keeps_its_open_time_with_new_values():
    """The same candle sent again (and at its close) carries the same open time."""
    first = json.loads(frame("binance", "kline_doc.json"))
    later = json.loads(frame("binance", "kline_doc.json"))
    later["data"]["k"].update({"c": "0.0022", "h": "0.0026", "x": True})
    (a,) = parse(json.dumps(first)).records
    (b,) = parse(json.dumps(later)).records
    assert a.open_time == b.open_time == datetime.fromtimestamp(1672515780, UTC)
    assert (a.close, b.close, b.high) == (0.002, 0.0022, 0.0026)


def test_numbers_given_as_numbers_read_the_same():
    """A frame whose numeric strings are JSON numbers gives the same values."""
    msg = json.loads(frame("binance", "ticker_ethusdt.json"))
    for key in ("c", "q", "P"):
        msg["data"][key] = float(msg["data"][key])
    (p,) = parse(json.dumps(msg)).records
    assert (p.price_usd, p.volume_24h, p.price_change_24h) == pytest.approx(
        (1792.84, 840180761.513581, 1.6))


def test_raw_stream_payload_without_envelope_is_read():
    """A /ws (raw stream) URL sends the bare payload; it parses the same."""
    msg = json.loads(frame("binance", "ticker_ethusdt.json"))["data"]
    (p,) = parse(json.dumps(msg)).records
    assert p.price_usd == pytest.approx(1792.84)


def test_ack_error_and_shutdown_are_recognised():
    """SUBSCRIBE's null result is an ack, a code/msg answer a rejection, serverShutdown a reconnect."""
    assert parse(frame("binance", "subscribe_ack.json")).kind == "ack"
    rejected = parse(frame("binance", "subscribe_error.json"))
    assert rejected.kind == "rejected"
    assert "too many parameters" in rejected.message
    assert parse(frame("binance", "server_shutdown.json")).kind == "reconnect"


def test_pair_not_watched_is_data_without_records():
    """A ticker of a pair not in the watchlist counts as data but yields nothing."""
    out = binance.parse_stream_frame(frame("binance", "ticker_ethusdt.json"), RECEIVED,
                                     {"BTCUSDT": "BTC"})
    assert (out.kind, out.records) == ("data", ())


@pytest.mark.parametrize("text", [
    "not json at all",
    "[1, 2]",
    '{"stream": "btcusdt@ticker", "data": {"s": "BTCUSDT"}}',
    '{"stream": "btcusdt@ticker", "data": {"e": "24hrTicker", "s": "BTCUSDT", "q": "1"}}',
    '{"stream": "btcusdt@kline_1m", "data": {"e": "kline", "s": "BTCUSDT", "k": []}}',
    '{"stream": "btcusdt@ticker", "data": {"e": "24hrTicker", "s": "BTCUSDT", "c": "abc"}}',
])
def test_bad_frames_are_parse_errors(text):
    """Not JSON, no event type, a ticker without its price, a wrong shape: parse errors."""
    with pytest.raises(UpstreamParseError):
        parse(text)
