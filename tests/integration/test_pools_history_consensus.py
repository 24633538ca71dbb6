"""Failover between pool members, OHLCV backfill of gaps, and the consensus price."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import binance, coingecko, cryptocompare, kraken
from cryptohub_desktop.core.records import Price
from cryptohub_desktop.core.time import to_db, utcnow
from cryptohub_desktop.engine.backfill import backfill
from cryptohub_desktop.storage.models import OHLCV, Alert, MarketPrice, RotationHistory
from tests.replay import Fault

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL


async def test_failover_rotates_and_probes_the_first_member_again(make_hub, replay):
    """CoinGecko fails: the pool moves to Binance (reason logged), prices keep coming from
    Binance, and CoinGecko is probed again once its back-off is over."""
    now = [0.0]
    hub = await make_hub([coingecko.PROVIDER, binance.PROVIDER], clock=lambda: now[0])
    await hub.runner.collect_once()
    pool = hub.pools["market_data"]
    assert pool.current == "coingecko"
    replay.fault("/coingecko/simple/price", Fault(status=500))
    for _ in range(3):
        assert (await hub.runner.run_provider("coingecko")).error_type == "http_5xx"
    assert pool.current == "binance"
    assert (await hub.runner.run_provider("binance")).status == "success"
    assert (await hub.runner.run_provider("coingecko")).error_type == "circuit_open"
    sources = await hub.store.read(lambda: [r.source for r in MarketPrice.select()])
    assert sources.count("binance") == 2
    replay.clear_faults()
    before = replay.count("/coingecko/simple/price")
    now[0] += 31  # back-off over
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    assert replay.count("/coingecko/simple/price") == before + 1
    assert pool.current == "coingecko"
    await hub.settle()
    history = await hub.store.read(lambda: [(r.from_provider, r.to_provider, r.reason)
                                            for r in RotationHistory.select()])
    assert ("coingecko", "binance", "http_5xx") in history
    assert history[-1] == ("binance", "coingecko", "recovered")


async def test_backfill_fills_only_what_is_missing(make_hub, replay):
    """An empty database gets 30 daily candles; a later run fetches only a deleted gap and
    inserts no duplicates; a run with nothing missing sends no request."""
    hub = await make_hub([cryptocompare.PROVIDER])
    now = datetime(2022, 6, 10, 0, 30, tzinfo=UTC)
    path = "/cryptocompare/data/v2/histoday"
    first = await backfill(hub.store, hub.catalogue.with_history(), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=30, intervals=["1d"], now=now)
    assert first.inserted == 30 and first.errors == []
    count = await hub.store.read(lambda: OHLCV.select().where(OHLCV.source == "cryptocompare")
                                 .count())
    assert count == 30
    sent = replay.count(path)
    again = await backfill(hub.store, hub.catalogue.with_history(), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=30, intervals=["1d"], now=now)
    assert (again.inserted, again.gaps, replay.count(path)) == (0, 0, sent)

    def punch_gap() -> int:
        return OHLCV.delete().where(OHLCV.open_time >= to_db(datetime(2022, 5, 20, tzinfo=UTC)),
                                    OHLCV.open_time < to_db(datetime(2022, 5, 25, tzinfo=UTC))
                                    ).execute()
    assert await hub.store.write(punch_gap) == 5
    refill = await backfill(hub.store, hub.catalogue.with_history(), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=30, intervals=["1d"], now=now)
    assert (refill.gaps, refill.inserted) == (1, 5)
    seen = [s for s in replay.seen if s.path == path][-1]
    assert int(seen.query["toTs"][0]) >= int(datetime(2022, 5, 24, tzinfo=UTC).timestamp())
    closes = await hub.store.read(lambda: {r.open_time.day: r.close for r in OHLCV.select()
                                           .where(OHLCV.open_time.month == 5)})
    assert len(closes) == 21


async def test_backfill_from_several_providers(make_hub, replay):
    """Binance and Kraken candles land side by side, each stamped with its source."""
    hub = await make_hub([binance.PROVIDER, kraken.PROVIDER])
    await backfill(hub.store, hub.catalogue.with_history(["binance"]), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=1, intervals=["1h"],
                   now=datetime(2024, 1, 30, 19, 5, tzinfo=UTC))
    await backfill(hub.store, hub.catalogue.with_history(["kraken"]), hub.upstream, hub.symbol_map,
                   symbols=["BTC"], days=1, intervals=["1m"],
                   now=datetime(2023, 7, 6, 19, 40, tzinfo=UTC))
    rows = await hub.store.read(lambda: list(OHLCV.select(OHLCV.source, OHLCV.interval)
                                             .distinct().tuples()))
    assert sorted(rows) == [("binance", "1h"), ("kraken", "1m")]


async def test_consensus_flags_the_source_that_is_off(make_hub, replay):
    """Three sources agree within 0.5 %, a fourth is 10 % off: it is flagged and alerted."""
    hub = await make_hub([coingecko.PROVIDER], extra="[consensus]\ndeviation_pct = 2.0\n")
    t = utcnow()
    for source, price in (("kraken", 67000.0), ("binance", 67100.0), ("coinbase", 67200.0)):
        await hub.store.write(hub.store.insert_records, source, [Price("BTC", price, t)])
    replay.fault("/coingecko/simple/price", Fault(
        body=b'{"bitcoin": {"usd": 73900.0, "last_updated_at": %d}}' % int(t.timestamp())))
    assert (await hub.runner.run_provider("coingecko")).status == "success"
    await hub.settle()
    row = await hub.store.read(lambda: MarketPrice.get(MarketPrice.source == "coingecko"))
    assert row.outlier and 9.0 < row.deviation_pct < 11.0
    alerts = await hub.store.read(lambda: [a.alert_type for a in Alert.select()])
    assert alerts == ["price_deviation"]
    assert hub.prices["BTC"] == 67150.0  # the median of the four

