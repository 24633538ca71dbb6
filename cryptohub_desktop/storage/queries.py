"""Read-side queries over the store (run them with ``await store.read(fn, ...)``).

Pure functions of the database: no hub state, no Qt. They return plain data
(dicts, dataclasses) for the server's answers and the UI's models.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import Field, Model, fn

from cryptohub_desktop.core.consensus import Consensus, SourcePrice, consensus
from cryptohub_desktop.core.time import from_db, iso, to_db, utcnow
from cryptohub_desktop.storage.models import (
    OHLCV,
    Alert,
    BlockchainStat,
    ConnectionAttempt,
    FailureLog,
    GasPriceRow,
    HubInstance,
    MarketPrice,
    NewsArticleRow,
    NotifyDelivery,
    OnchainMetricRow,
    ProviderLease,
    ProviderRow,
    RotationHistory,
    RpcNodeStatus,
    ScheduleConfig,
    SentimentMetricRow,
    WhaleTransaction,
)


def latest_source_prices(symbol: str, since: datetime) -> list[MarketPrice]:
    """Each source's newest price of ``symbol`` stamped ``since`` or later, newest first."""
    latest = (MarketPrice.select(fn.MAX(MarketPrice.id))
              .where(MarketPrice.symbol == symbol, MarketPrice.timestamp >= to_db(since))
              .group_by(MarketPrice.source))
    return list(MarketPrice.select().where(MarketPrice.id.in_(latest))
                .order_by(MarketPrice.timestamp.desc()))


def newest_price(symbol: str) -> MarketPrice | None:
    """The newest stored price of ``symbol`` from any source, however old (uses the
    (symbol, timestamp) index)."""
    return (MarketPrice.select().where(MarketPrice.symbol == symbol)
            .order_by(MarketPrice.timestamp.desc()).first())


def consensus_of(symbol: str, rows: list[MarketPrice], now: datetime, max_age_seconds: float,
                 threshold_pct: float) -> Consensus:
    """The consensus of stored price rows (each source's newest)."""
    return consensus(symbol, [SourcePrice(r.source, r.price_usd, from_db(r.timestamp), r.quote)
                              for r in rows], now, max_age_seconds=max_age_seconds,
                     threshold_pct=threshold_pct)


def latest_consensus(symbols: list[str], max_age_seconds: float,
                     threshold_pct: float) -> list[Consensus]:
    """For each symbol: the consensus of each source's latest fresh price."""
    now = utcnow()
    since = now - timedelta(seconds=max_age_seconds)
    return [consensus_of(s.upper(), latest_source_prices(s.upper(), since), now,
                         max_age_seconds, threshold_pct) for s in symbols]


# --- reads for the local server and the UI (snapshot.py) ------------------------------
# Each returns plain dicts with timezone-aware UTC datetimes; snapshot.py formats them.

def _aware(row: dict[str, Any]) -> dict[str, Any]:
    return {k: from_db(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _distinct(model: type[Model], column: Field, **where: Any) -> list[Any]:
    """Distinct values of an indexed ``column`` by a loose index scan (one index
    probe per value, not a table scan), optionally within ``column2 == value``."""
    db = model._meta.database
    table = model._meta.table_name
    name = column.column_name
    cond = "".join(f' AND "{k}" = {db.param}' for k in where)
    sql = (f'WITH RECURSIVE k(v) AS (SELECT MIN("{name}") FROM "{table}" WHERE 1=1{cond} '
           f'UNION ALL SELECT (SELECT MIN("{name}") FROM "{table}" WHERE "{name}" > k.v{cond}) '
           f'FROM k WHERE k.v IS NOT NULL) SELECT v FROM k WHERE v IS NOT NULL')
    params = [*where.values(), *where.values()]
    return [r[0] for r in db.execute_sql(sql, params).fetchall()]


def database_ok() -> bool:
    """A trivial read succeeds (the database is reachable and readable)."""
    ProviderRow.select(ProviderRow.id).limit(1).execute()
    return True


def provider_rows() -> dict[str, dict[str, Any]]:
    """The stored ``providers`` rows by id (state persisted across restarts)."""
    return {r["id"]: _aware(r) for r in ProviderRow.select().dicts()}


def schedule_rows() -> dict[str, dict[str, Any]]:
    """The ``schedule_config`` rows by provider id."""
    return {r["provider_id"]: _aware(r) for r in ScheduleConfig.select().dicts()}


def recent_failures(limit: int, since: datetime) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The newest ``limit`` failures, and the failure count per error type since ``since``."""
    rows = [_aware(r) for r in FailureLog.select().order_by(FailureLog.id.desc())
            .limit(limit).dicts()]
    counts = (FailureLog.select(FailureLog.error_type, fn.COUNT(FailureLog.id).alias("n"))
              .where(FailureLog.timestamp >= to_db(since)).group_by(FailureLog.error_type)
              .order_by(fn.COUNT(FailureLog.id).desc()).tuples())
    return rows, {t: n for t, n in counts}


def latest_market(symbols: list[str], max_age_seconds: float, threshold_pct: float,
                  stale: dict[tuple[str, str], datetime] | None = None) -> list[dict[str, Any]]:
    """Per symbol: the consensus of fresh sources plus the newest 24 h change, market
    cap and volume any fresh source reported.

    ``stale``: (source, symbol) -> the timestamp of a stored price known to be stale now
    (its live stream went silent); a source whose newest row is that one is left out of
    the consensus and returned under ``"stale"`` as its last known value.
    """
    now = utcnow()
    since = now - timedelta(seconds=max_age_seconds)
    out = []
    for symbol in symbols:
        rows = latest_source_prices(symbol, since)
        gone = [r for r in rows
                if stale and stale.get((r.source, symbol)) == from_db(r.timestamp)]
        rows = [r for r in rows if r not in gone]
        c = consensus_of(symbol, rows, now, max_age_seconds, threshold_pct)
        last_known = []
        for r in gone:
            ts = from_db(r.timestamp) or now
            last_known.append(SourcePrice(r.source, r.price_usd, ts, r.quote,
                                          max(0.0, (now - ts).total_seconds())))
        extra = {name: next((getattr(r, name) for r in rows if getattr(r, name) is not None),
                            None) for name in ("price_change_24h", "market_cap", "volume_24h")}
        out.append({"symbol": symbol, "consensus": c, "stale": last_known, **extra})
    return out


def candle_times(source: str, symbol: str, interval: str, start: datetime,
              end: datetime) -> list[datetime]:
    """Open times of the stored candles of one series in [start, end)."""
    q = (OHLCV.select(OHLCV.open_time)
         .where(OHLCV.source == source, OHLCV.symbol == symbol, OHLCV.interval == interval,
                OHLCV.open_time >= to_db(start), OHLCV.open_time < to_db(end)).tuples())
    return [from_db(t) for (t,) in q]


def ohlcv_rows(symbol: str, interval: str, start: datetime | None, end: datetime | None,
               source: str | None, limit: int) -> list[dict[str, Any]]:
    """Candles of ``symbol``/``interval`` in [start, end], oldest first; without a start,
    the newest ``limit`` candles."""
    q = OHLCV.select(OHLCV.source, OHLCV.open_time, OHLCV.open, OHLCV.high, OHLCV.low,
                     OHLCV.close, OHLCV.volume).where(OHLCV.symbol == symbol,
                                                      OHLCV.interval == interval)
    if source:
        q = q.where(OHLCV.source == source)
    if start:
        q = q.where(OHLCV.open_time >= to_db(start))
    if end:
        q = q.where(OHLCV.open_time <= to_db(end))
    if start:
        rows = list(q.order_by(OHLCV.open_time, OHLCV.source).limit(limit).dicts())
    else:
        rows = list(q.order_by(OHLCV.open_time.desc(), OHLCV.source.desc()).limit(limit).dicts())
        rows.reverse()
    return [_aware(r) for r in rows]


def latest_news(limit: int, q: str | None = None) -> list[dict[str, Any]]:
    """The newest articles, optionally those whose title or text contains ``q``."""
    query = NewsArticleRow.select()
    if q:
        query = query.where(NewsArticleRow.title.contains(q) | NewsArticleRow.content.contains(q))
    return [_aware(r) for r in query.order_by(NewsArticleRow.published_at.desc(),
                                              NewsArticleRow.id.desc()).limit(limit).dicts()]


def news_sentiment_counts(since: datetime) -> dict[str, Any]:
    """Labels and mean score of the headlines published since ``since``."""
    rows = (NewsArticleRow.select(NewsArticleRow.sentiment, fn.COUNT(NewsArticleRow.id),
                                  fn.AVG(NewsArticleRow.sentiment_score))
            .where(NewsArticleRow.published_at >= to_db(since))
            .group_by(NewsArticleRow.sentiment).tuples())
    counts = {"positive": 0, "negative": 0, "neutral": 0}
    total, weighted = 0, 0.0
    for label, n, avg in rows:
        if label in counts:
            counts[label] += n
        if avg is not None:
            total += n
            weighted += avg * n
    return {**counts, "count": sum(counts.values()),
            "average_score": round(weighted / total, 4) if total else None}


def recent_headlines(since: datetime) -> list[dict[str, Any]]:
    """Titles, labels and scores of the headlines published since ``since``."""
    return list(NewsArticleRow.select(
        NewsArticleRow.title, NewsArticleRow.sentiment, NewsArticleRow.sentiment_score,
        NewsArticleRow.published_at).where(NewsArticleRow.published_at >= to_db(since)).dicts())


def latest_sentiment_metrics() -> list[dict[str, Any]]:
    """The newest row of each ``sentiment_metrics`` metric."""
    out = []
    for name in _distinct(SentimentMetricRow, SentimentMetricRow.metric_name):
        row = (SentimentMetricRow.select().where(SentimentMetricRow.metric_name == name)
               .order_by(SentimentMetricRow.timestamp.desc(), SentimentMetricRow.id.desc())
               .limit(1).dicts().first())
        if row:
            out.append(_aware(row))
    return out


def whale_rows(min_usd: float | None, chain: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest whale transactions, at least ``min_usd`` and on ``chain`` if given."""
    q = WhaleTransaction.select()
    if min_usd is not None:
        q = q.where(WhaleTransaction.amount_usd >= min_usd)
    if chain:
        q = q.where(fn.LOWER(WhaleTransaction.blockchain) == chain.lower())
    return [_aware(r) for r in q.order_by(WhaleTransaction.timestamp.desc(),
                                          WhaleTransaction.id.desc()).limit(limit).dicts()]


def _newest_per(model: type[Model], column: Field, ts: Field) -> list[dict[str, Any]]:
    out = []
    for value in _distinct(model, column):
        row = (model.select().where(column == value).order_by(ts.desc(), model.id.desc())
               .limit(1).dicts().first())
        if row:
            out.append(_aware(row))
    return out


def latest_gas() -> list[dict[str, Any]]:
    """The newest gas row of each chain."""
    return _newest_per(GasPriceRow, GasPriceRow.blockchain, GasPriceRow.timestamp)


def latest_chain_stats() -> list[dict[str, Any]]:
    """The newest ``blockchain_stats`` row of each chain."""
    return _newest_per(BlockchainStat, BlockchainStat.blockchain, BlockchainStat.timestamp)


def latest_node_heights(window_minutes: float = 15.0) -> dict[str, list[dict[str, Any]]]:
    """Per chain: each RPC node's newest height within ``window_minutes`` of the chain's
    newest reading."""
    out: dict[str, list[dict[str, Any]]] = {}
    for chain in _distinct(RpcNodeStatus, RpcNodeStatus.chain):
        newest = (RpcNodeStatus.select(fn.MAX(RpcNodeStatus.timestamp))
                  .where(RpcNodeStatus.chain == chain).scalar())
        if newest is None:
            continue
        rows = (RpcNodeStatus.select().where(
            RpcNodeStatus.chain == chain,
            RpcNodeStatus.timestamp >= newest - timedelta(minutes=window_minutes))
            .order_by(RpcNodeStatus.timestamp.desc(), RpcNodeStatus.id.desc()).dicts())
        per: dict[str, dict[str, Any]] = {}
        for r in rows:
            per.setdefault(r["provider"], _aware(r))
        out[chain] = sorted(per.values(), key=lambda r: r["provider"])
    return out


def latest_onchain() -> list[dict[str, Any]]:
    """The newest value of each (metric, chain, source)."""
    out = []
    for metric in _distinct(OnchainMetricRow, OnchainMetricRow.metric):
        for chain in _distinct(OnchainMetricRow, OnchainMetricRow.chain, metric=metric):
            rows = (OnchainMetricRow.select().where(OnchainMetricRow.metric == metric,
                                                    OnchainMetricRow.chain == chain)
                    .order_by(OnchainMetricRow.timestamp.desc(), OnchainMetricRow.id.desc())
                    .limit(50).dicts())
            seen: set[str] = set()
            for r in rows:
                if r["source"] not in seen:
                    seen.add(r["source"])
                    out.append(_aware(r))
    return out


def recent_alerts(limit: int, unacknowledged_only: bool = False) -> list[dict[str, Any]]:
    """The newest alerts."""
    q = Alert.select()
    if unacknowledged_only:
        q = q.where(Alert.acknowledged == False)  # noqa: E712 - peewee expression
    return [_aware(r) for r in q.order_by(Alert.id.desc()).limit(limit).dicts()]


def notify_deliveries(alert_ids: Sequence[int] | None = None, channel: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
    """Recorded alert deliveries, newest first: of the given alerts, of one channel, or all."""
    q = NotifyDelivery.select()
    if alert_ids is not None:
        q = q.where(NotifyDelivery.alert_id.in_(list(alert_ids)))
    if channel is not None:
        q = q.where(NotifyDelivery.channel == channel)
    return [_aware(r) for r in q.order_by(NotifyDelivery.id.desc()).limit(limit).dicts()]


def cluster_state() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A team hub's instances (newest heartbeat first) and its leases (by provider)."""
    instances = [_aware(r) for r in HubInstance.select()
                 .order_by(HubInstance.heartbeat_at.desc()).dicts()]
    leases = [_aware(r) for r in ProviderLease.select().order_by(ProviderLease.provider_id)
              .dicts()]
    return instances, leases


def rotation_rows(pools: list[str], limit: int) -> dict[str, list[dict[str, Any]]]:
    """The newest ``limit`` rotations of each pool, newest first."""
    return {name: [_aware(r) for r in RotationHistory.select()
                   .where(RotationHistory.pool_name == name)
                   .order_by(RotationHistory.id.desc()).limit(limit).dicts()]
            for name in pools}


# --- reads for the desktop's charts and details ----------------------------------------
def _epoch(t: datetime) -> float:
    aware = from_db(t)
    assert aware is not None
    return aware.timestamp()


def chart_series(symbol: str, seconds: int, prefs: tuple[str, ...],
                 with_ticks: bool, end: datetime | None = None) -> dict[str, Any]:
    """Series of ``symbol`` over the ``seconds`` up to ``end`` (default: now, so old data
    looks old): per source the candles of the best interval in ``prefs`` (else its most
    complete one, with volumes), and with ``with_ticks`` the price ticks of sources
    without candles. Times are Unix seconds; ``latest`` is the newest data point stored
    at all (to say "no data in this range, latest: ...")."""
    last_candle = OHLCV.select(fn.MAX(OHLCV.open_time)).where(OHLCV.symbol == symbol).scalar()
    last_tick = (MarketPrice.select(fn.MAX(MarketPrice.timestamp))
                 .where(MarketPrice.symbol == symbol).scalar())
    ends = [t for t in (last_candle, last_tick) if t]
    latest = max(ends) if ends else None
    end = (end or utcnow()).astimezone(UTC).replace(tzinfo=None)  # naive UTC, as stored
    start = end - timedelta(seconds=seconds)
    if latest is None or latest < start:
        return {"end": iso(end), "start": iso(start), "latest": iso(latest), "series": []}
    counts: dict[str, dict[str, int]] = {}
    for src, iv, n in (OHLCV.select(OHLCV.source, OHLCV.interval, fn.COUNT(OHLCV.id))
                       .where(OHLCV.symbol == symbol, OHLCV.open_time >= start,
                              OHLCV.open_time <= end)
                       .group_by(OHLCV.source, OHLCV.interval).tuples()):
        counts.setdefault(src, {})[iv] = n
    series = []
    for src, ivs in sorted(counts.items()):
        iv = next((i for i in prefs if ivs.get(i, 0) >= 2), None) or max(ivs, key=ivs.__getitem__)
        rows = (OHLCV.select(OHLCV.open_time, OHLCV.open, OHLCV.high, OHLCV.low, OHLCV.close,
                             OHLCV.volume)
                .where(OHLCV.symbol == symbol, OHLCV.source == src, OHLCV.interval == iv,
                       OHLCV.open_time >= start, OHLCV.open_time <= end)
                .order_by(OHLCV.open_time).tuples())
        cols = list(zip(*rows, strict=True)) or [(), (), (), (), (), ()]
        series.append({"source": src, "interval": iv, "t": [_epoch(t) for t in cols[0]],
                       "open": list(cols[1]), "high": list(cols[2]), "low": list(cols[3]),
                       "close": list(cols[4]), "volume": list(cols[5])})
    if with_ticks:
        ticks: dict[str, tuple[list[float], list[float]]] = {}
        for src, ts, price in (MarketPrice.select(MarketPrice.source, MarketPrice.timestamp,
                                                  MarketPrice.price_usd)
                               .where(MarketPrice.symbol == symbol, MarketPrice.timestamp >= start,
                                      MarketPrice.timestamp <= end)
                               .order_by(MarketPrice.timestamp).tuples()):
            if src in counts:
                continue
            t, p = ticks.setdefault(src, ([], []))
            t.append(_epoch(ts))
            p.append(price)
        series += [{"source": src, "interval": "tick", "t": t, "close": p}
                   for src, (t, p) in sorted(ticks.items())]
    return {"end": iso(end), "start": iso(start), "latest": iso(latest), "series": series}


def price_buckets(symbols: list[str], since: datetime,
                  bucket_seconds: int) -> dict[str, list[tuple[float, float]]]:
    """Average price per symbol (ticks and short candles of every source) in slots of
    ``bucket_seconds`` since ``since``: ``{symbol: [(unix, price), ...]}``."""
    sums: dict[str, dict[int, list[float]]] = {s: {} for s in symbols}
    ticks = (MarketPrice.select(MarketPrice.symbol, MarketPrice.timestamp, MarketPrice.price_usd)
             .where(MarketPrice.symbol.in_(symbols), MarketPrice.timestamp >= to_db(since))
             .tuples())
    candles = (OHLCV.select(OHLCV.symbol, OHLCV.open_time, OHLCV.close)
               .where(OHLCV.symbol.in_(symbols), OHLCV.interval.in_(["1m", "5m", "15m", "1h"]),
                      OHLCV.open_time >= to_db(since)).tuples())
    for sym, ts, price in itertools.chain(ticks, candles):
        b = int(_epoch(ts) // bucket_seconds)
        acc = sums[sym].setdefault(b, [0.0, 0])
        acc[0] += price
        acc[1] += 1
    return {s: [(b * bucket_seconds, a[0] / a[1]) for b, a in sorted(buckets.items())]
            for s, buckets in sums.items()}


def provider_activity(provider_id: str, limit: int) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """A provider's newest ``limit`` requests (oldest first) and its 20 newest failures."""
    attempts = list(ConnectionAttempt.select(
        ConnectionAttempt.timestamp, ConnectionAttempt.status, ConnectionAttempt.response_time_ms,
        ConnectionAttempt.http_status_code, ConnectionAttempt.error_type)
        .where(ConnectionAttempt.provider_id == provider_id)
        .order_by(ConnectionAttempt.timestamp.desc()).limit(limit).dicts())
    fails = list(FailureLog.select(
        FailureLog.timestamp, FailureLog.error_type, FailureLog.error_message,
        FailureLog.http_status_code, FailureLog.endpoint)
        .where(FailureLog.provider_id == provider_id)
        .order_by(FailureLog.timestamp.desc()).limit(20).dicts())
    attempts.reverse()
    return attempts, fails
