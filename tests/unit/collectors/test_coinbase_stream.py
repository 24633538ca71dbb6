"""Coinbase Exchange stream: subscribe message and the pure frame parser on recorded frames."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import coinbase
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from tests.ws_replay import frame

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PAIRS = {"BTC-USD": "BTC", "ETH-USD": "ETH"}


def parse(text: str):
    return coinbase.parse_stream_frame(text, RECEIVED, PAIRS)


def test_plan_subscribes_ticker_and_heartbeat_of_listed_products():
    """One subscribe for ticker + heartbeat; BNB, which Coinbase does not list, is left out."""
    (plan,) = coinbase.STREAM.plans(["BTC", "ETH", "BNB"], SymbolMap.bundled())
    assert plan.url == "wss://ws-feed.exchange.coinbase.com"
    assert [json.loads(m) for m in plan.subscribe] == [{
        "type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
        "channels": ["ticker", "heartbeat"]}]


def test_documented_ticker_is_a_usd_price_with_quote_volume_and_change():
    """Price is the last trade; volume is base volume times price; change vs open_24h."""
    (p,) = parse(frame("coinbase", "ticker.json")).records
    assert (p.symbol, p.quote, p.timestamp) == ("ETH", "USD", RECEIVED)
    assert p.price_usd == pytest.approx(1285.22)
    assert p.volume_24h == pytest.approx(245532.79269678 * 1285.22)
    assert p.price_change_24h == pytest.approx((1285.22 - 1310.79) / 1310.79 * 100)


def test_numbers_given_as_numbers_read_the_same():
    """A ticker whose numeric strings are JSON numbers gives the same price."""
    msg = json.loads(frame("coinbase", "ticker.json"))
    msg.update(price=1285.22, open_24h=1310.79, volume_24h=245532.79269678)
    (p,) = parse(json.dumps(msg)).records
    assert (p.price_usd, p.price_change_24h) == pytest.approx(
        (1285.22, (1285.22 - 1310.79) / 1310.79 * 100))


def test_heartbeat_ack_and_refusal_are_recognised():
    """heartbeat is not data, subscriptions is the ack, a failed subscribe a rejection."""
    assert parse(frame("coinbase", "heartbeat.json")).kind == "heartbeat"
    assert parse(frame("coinbase", "subscriptions.json")).kind == "ack"
    out = parse(frame("coinbase", "subscribe_error.json"))
    assert out.kind == "rejected"
    assert "GIBBERISH-USD is not a valid product" in out.message
    assert out.subject == "GIBBERISH-USD"


def test_other_errors_do_not_end_the_stream():
    """An error that is not about a subscription is reported, not a rejection."""
    out = parse('{"type": "error", "message": "ErrSlowConsume"}')
    assert (out.kind, out.message) == ("error", "Coinbase: ErrSlowConsume")


def test_no_candle_channel_is_documented_on_the_adapter():
    """Coinbase Exchange has no candle channel: the adapter says candles stay REST."""
    assert "no candle channel" in coinbase.STREAM.gives


@pytest.mark.parametrize("text", [
    "<html>502</html>",
    '{"product_id": "BTC-USD"}',
    '{"type": "ticker", "product_id": "BTC-USD", "price": ""}',
    '{"type": "ticker", "price": "1"}',
])
def test_bad_frames_are_parse_errors(text):
    """Not JSON, no type, a ticker without a price or product: parse errors."""
    with pytest.raises(UpstreamParseError):
        parse(text)
