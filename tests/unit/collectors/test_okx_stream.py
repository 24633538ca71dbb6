"""OKX stream: two endpoints (tickers public, candles business) and the pure frame parser."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import okx
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from tests.ws_replay import frame

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PAIRS = {"BTC-USDT": "BTC"}


def parse(text: str):
    return okx.parse_stream_frame(text, RECEIVED, PAIRS)


def test_tickers_go_to_the_public_endpoint_and_candles_to_the_business_endpoint():
    """Two connections: tickers on /ws/v5/public, candle1m on /ws/v5/business, text ping."""
    public, business = okx.STREAM.plans(["BTC", "ETH"], SymbolMap.bundled())
    assert public.url == "wss://ws.okx.com:8443/ws/v5/public"
    assert business.url == "wss://ws.okx.com:8443/ws/v5/business"
    assert json.loads(public.subscribe[0]) == {"op": "subscribe", "args": [
        {"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "tickers", "instId": "ETH-USDT"}]}
    assert json.loads(business.subscribe[0]) == {"op": "subscribe", "args": [
        {"channel": "candle1m", "instId": "BTC-USDT"}, {"channel": "candle1m", "instId": "ETH-USDT"}]}
    assert public.ping.message == business.ping.message == "ping"


def test_ws_business_url_override_is_used():
    """ws_business_url replaces the business endpoint like ws_url replaces the public one."""
    public, business = okx.STREAM.plans(["BTC"], SymbolMap.bundled(), url="ws://h/p",
                                        business_url="ws://h/b")
    assert (public.url, business.url) == ("ws://h/p", "ws://h/b")


def test_documented_ticker_push_is_a_usdt_price():
    """last, change against open24h, volCcy24h as the 24h quote volume."""
    (p,) = parse(frame("okx", "tickers.json")).records
    assert (p.symbol, p.quote, p.timestamp) == ("BTC", "USDT", RECEIVED)
    assert p.price_usd == 9999.99
    assert p.volume_24h == 2222.0
    assert p.price_change_24h == pytest.approx((9999.99 - 9000) / 9000 * 100)


def test_numbers_given_as_numbers_read_the_same():
    """A tickers row with JSON numbers gives the same price."""
    msg = json.loads(frame("okx", "tickers.json"))
    msg["data"][0].update(last=9999.99, open24h=9000, volCcy24h=2222)
    (p,) = parse(json.dumps(msg)).records
    assert (p.price_usd, p.volume_24h) == (9999.99, 2222.0)


def test_documented_candle_push_gives_a_candle_opened_at_ts():
    """The candle1D example: opened at ts (ms), base volume vol, interval 1d."""
    (c,) = parse(frame("okx", "candle.json")).records
    assert (c.symbol, c.interval, c.open_time) == (
        "BTC", "1d", datetime.fromtimestamp(1597026383.085, UTC))
    assert (c.open, c.high, c.low, c.close, c.volume) == (8533.02, 8553.74, 8527.17, 8548.26, 45247)


def test_candle1m_open_candle_re_sent_keeps_open_time():
    """candle1m rows with confirm 0 then 1 are the same candle (same open time), 1m."""
    msg = json.loads(frame("okx", "candle.json"))
    msg["arg"]["channel"] = "candle1m"
    msg["data"][0][8] = "0"
    (a,) = parse(json.dumps(msg)).records
    msg["data"][0][4], msg["data"][0][8] = "8550", "1"
    (b,) = parse(json.dumps(msg)).records
    assert (a.interval, a.open_time, a.close, b.close) == ("1m", b.open_time, 8548.26, 8550.0)


def test_pong_ack_and_error_are_recognised():
    """The text pong, event subscribe, and event error (a rejection with its code)."""
    assert parse(frame("okx", "pong.txt")).kind == "pong"
    assert parse(frame("okx", "subscribe_ack.json")).kind == "ack"
    out = parse(frame("okx", "subscribe_error.json"))
    assert out.kind == "rejected"
    assert out.message.startswith("OKX code 60012: Invalid request")
    assert out.subject == "BTC-USD-191227"


def test_a_60018_refusal_names_the_instrument():
    """The "doesn't exist" refusal (code 60018) names the refused instId."""
    msg = json.loads(frame("okx", "subscribe_error.json"))
    msg.update(code="60018", msg="Wrong URL or channel:tickers,instId:NOPE-USDT doesn't exist.")
    out = parse(json.dumps(msg))
    assert (out.kind, out.subject) == ("rejected", "NOPE-USDT")


@pytest.mark.parametrize("text", [
    "ping?",
    '{"data": []}',
    '{"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": {}}',
    '{"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [{"instId": "BTC-USDT"}]}',
    '{"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": [["1", "2"]]}',
])
def test_bad_frames_are_parse_errors(text):
    """Not JSON, no arg, data not a list, a ticker without last, a short candle row."""
    with pytest.raises(UpstreamParseError):
        parse(text)
