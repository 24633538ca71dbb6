"""Bybit spot stream: topics in groups of 10, {"op":"ping"} and the pure frame parser."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import bybit
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from tests.ws_replay import frame

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PAIRS = {"BTCUSDT": "BTC"}


def parse(text: str):
    return bybit.parse_stream_frame(text, RECEIVED, PAIRS)


def test_topics_are_sent_at_most_ten_per_request_with_op_ping():
    """Six pairs make 12 topics: two subscribe requests of 10 and 2; ping is {"op":"ping"}."""
    symbols = ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA"]
    (plan,) = bybit.STREAM.plans(symbols, SymbolMap.bundled())
    assert plan.url == "wss://stream.bybit.com/v5/public/spot"
    first, second = (json.loads(m) for m in plan.subscribe)
    assert first["op"] == second["op"] == "subscribe"
    assert first["args"][:2] == ["tickers.BTCUSDT", "kline.1.BTCUSDT"]
    assert (len(first["args"]), second["args"]) == (10, ["tickers.ADAUSDT", "kline.1.ADAUSDT"])
    assert json.loads(plan.ping.message) == {"op": "ping"}


def test_documented_spot_ticker_is_a_usdt_price():
    """lastPrice, turnover24h (quote volume), price24hPcnt as a fraction -> percent."""
    (p,) = parse(frame("bybit", "ticker_spot.json")).records
    assert (p.symbol, p.quote, p.timestamp) == ("BTC", "USDT", RECEIVED)
    assert p.price_usd == 21109.77
    assert p.volume_24h == pytest.approx(141946527.22907118)
    assert p.price_change_24h == pytest.approx(1.96)


def test_numbers_given_as_numbers_and_a_list_of_data_read_the_same():
    """JSON numbers instead of strings, and data as a list, give the same price."""
    msg = json.loads(frame("bybit", "ticker_spot.json"))
    msg["data"].update(lastPrice=21109.77, price24hPcnt=0.0196, turnover24h=141946527.22907118)
    msg["data"] = [msg["data"]]
    (p,) = parse(json.dumps(msg)).records
    assert (p.price_usd, p.price_change_24h) == pytest.approx((21109.77, 1.96))


def test_delta_without_last_price_yields_no_price():
    """A delta that leaves lastPrice out (unchanged) is data with no record, not a guess."""
    msg = {"topic": "tickers.BTCUSDT", "type": "delta", "ts": 1,
           "data": {"symbol": "BTCUSDT", "bid1Price": "1"}}
    out = parse(json.dumps(msg))
    assert (out.kind, out.records) == ("data", ())


def test_documented_kline_is_an_open_candle_opened_at_start():
    """kline.5 example: opened at start (ms), base volume, interval 5m, still open."""
    (c,) = parse(frame("bybit", "kline.json")).records
    assert (c.symbol, c.interval, c.open_time) == (
        "BTC", "5m", datetime.fromtimestamp(1672324800, UTC))
    assert (c.open, c.high, c.low, c.close, c.volume) == (16649.5, 16677, 16608, 16677, 2.081)


def test_kline_1_is_a_1m_candle():
    """The 1-minute topic this stream subscribes to gives interval 1m."""
    msg = json.loads(frame("bybit", "kline.json"))
    msg["topic"] = "kline.1.BTCUSDT"
    msg["data"][0]["interval"] = "1"
    (c,) = parse(json.dumps(msg)).records
    assert c.interval == "1m"


def test_ack_pong_and_refusals_are_recognised():
    """success true is an ack, ret_msg pong a pong, success false a rejection (with its text)."""
    assert parse(frame("bybit", "subscribe_ack.json")).kind == "ack"
    assert parse(frame("bybit", "pong.json")).kind == "pong"
    assert parse('{"op": "pong", "args": ["1672916271846"]}').kind == "pong"
    bare = parse(frame("bybit", "subscribe_failure.json"))
    assert (bare.kind, bare.message) == ("rejected",
                                         "Bybit: subscription refused (req_id 10001)")
    named = parse(frame("bybit", "subscribe_failure_topic.json"))
    assert "Invalid topic: invalid.topic.BTCUSDT" in named.message
    assert (bare.subject, named.subject) == ("", "")  # neither names one of our topics


def test_a_refusal_naming_our_topic_names_its_pair():
    """"handler not found,topic:tickers.NOPEUSDT" names the pair NOPEUSDT."""
    msg = json.loads(frame("bybit", "subscribe_failure.json"))
    msg["ret_msg"] = "error:handler not found,topic:tickers.NOPEUSDT"
    assert parse(json.dumps(msg)).subject == "NOPEUSDT"


@pytest.mark.parametrize("text", [
    "\x00\x01",
    '{"ts": 1}',
    '{"topic": "tickers.BTCUSDT", "type": "snapshot"}',
    '{"topic": "tickers.BTCUSDT", "type": "snapshot", "data": {"lastPrice": "x"}}',
    '{"topic": "kline.1.BTCUSDT", "type": "snapshot", "data": [{"interval": "1"}]}',
])
def test_bad_frames_are_parse_errors(text):
    """Not JSON, no topic, no data, a bad price, a candle without its fields."""
    with pytest.raises(UpstreamParseError):
        parse(text)
