"""Alert delivery through apprise to real receivers on 127.0.0.1 (engine.notify)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from datetime import datetime
from typing import Any

import pytest

from cryptohub_desktop.config import NotifyChannelConfig
from cryptohub_desktop.engine.notify import AlertDispatcher, DeliveryPolicy, DeliveryResult
from cryptohub_desktop.logs import setup_logging
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage.queries import notify_deliveries as deliveries
from cryptohub_desktop.storage.store import Store
from tests.conftest import SLOW
from tests.integration.receivers import SmtpReceiver, WebhookReceiver
from tests.memkeyring import MemoryKeyring

FAST = DeliveryPolicy(dedupe_window=60.0, retry_delays=(0.05, 0.05, 0.05), close_timeout=5.0)
PRICE_ROW = {"id": 7, "timestamp": "2025-06-01T12:34:56Z", "alert_type": "price_threshold",
             "severity": "warning", "provider_id": None,
             "message": "BTC above 70,000: consensus price is now 70,123.5",
             "symbol": "BTC", "price": "70123.5", "rule": "BTC above 70,000"}


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
async def dispatch() -> AsyncIterator[Callable[..., Any]]:
    """``await dispatch(channels, policy=..., env=..., store=...)`` -> a started dispatcher
    and the list its results go to; every one is closed after the test."""
    made: list[AlertDispatcher] = []

    async def factory(channels: list[NotifyChannelConfig], policy: DeliveryPolicy = FAST,
                      env: dict[str, str] | None = None, store: Store | None = None,
                      secrets: Secrets | None = None
                      ) -> tuple[AlertDispatcher, list[DeliveryResult]]:
        results: list[DeliveryResult] = []
        secrets = secrets or Secrets(env=env or {}, backend=MemoryKeyring())
        d = AlertDispatcher(channels, secrets, store=store, on_result=results.append,
                            policy=policy)
        await d.start()
        made.append(d)
        return d, results

    yield factory
    for d in made:
        await d.close()


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout * SLOW
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_json_webhook_carries_the_price_alert(hook, dispatch):
    """A price-rule alert reaches a json:// webhook with symbol, price, rule and time."""
    d, results = await dispatch([NotifyChannelConfig("ops", hook.url("/ops"))])
    assert d.submit(PRICE_ROW) == ["ops"]
    [hit] = await hook.wait("/ops", 1)
    assert hit.body["type"] == "warning"
    assert hit.body["title"] == "[WARNING] Crypto Hub: price rule"
    text = hit.body["message"]
    for needle in ("BTC above 70,000", "70,123.5", "symbol: BTC", "price: 70123.5",
                   "rule: BTC above 70,000", "time: 2025-06-01 12:34:56 UTC", "alert: #7"):
        assert needle in text
    await until(lambda: len(results) == 1)
    r = results[0]
    assert (r.channel, r.status, r.attempts, r.alert_id, r.kind) == ("ops", "delivered", 1, 7,
                                                                     "price_rule")
    h = d.channel_health("ops")
    assert h.status == "ok" and h.delivered == 1 and h.last_delivery_at is not None


async def test_email_reaches_a_local_smtp_server(dispatch):
    """mailto:// to a plain local SMTP server delivers the alert as an e-mail."""
    async with SmtpReceiver() as smtp:
        url = (f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=hub@example.org"
               "&to=ops@example.org")
        d, results = await dispatch([NotifyChannelConfig("mail", url)])
        d.submit({"alert_type": "provider_down", "severity": "critical",
                  "provider_id": "coingecko", "message": "CoinGecko is offline (timeout)"})
        [(envelope, msg)] = await smtp.wait(1)
    assert envelope.mail_from == "hub@example.org"
    assert envelope.rcpt_tos == ["ops@example.org"]
    assert msg["Subject"] == "[CRITICAL] Crypto Hub: provider down"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "CoinGecko is offline (timeout)" in body and "provider: coingecko" in body
    await until(lambda: len(results) == 1)
    assert results[0].status == "delivered"


async def test_failing_channel_is_retried_then_failed_without_delaying_others(hook, dispatch):
    """A channel answering 500 is tried 1+3 times then marked failed; the healthy
    channel got its message at once, and submit itself returned at once."""
    policy = DeliveryPolicy(retry_delays=(0.3, 0.3, 0.3))
    d, results = await dispatch([NotifyChannelConfig("broken", hook.url("/fail")),
                                 NotifyChannelConfig("ops", hook.url("/ops"))], policy)
    t0 = time.monotonic()
    assert d.submit({"alert_type": "staleness", "severity": "warning", "provider_id": "kraken",
                     "message": "kraken has sent no new data for 45 minutes"}) == \
        ["broken", "ops"]
    assert time.monotonic() - t0 < 0.05
    [ok] = await hook.wait("/ops", 1)
    assert ok.at - t0 < 0.5 * SLOW
    await until(lambda: any(r.channel == "broken" for r in results))
    assert len(hook.at("/fail")) == 4
    assert hook.at("/fail")[-1].at - t0 >= 0.85
    broken = next(r for r in results if r.channel == "broken")
    assert broken.status == "failed" and broken.attempts == 4 and "500" in broken.reason
    h = d.channel_health("broken")
    assert (h.status, h.consecutive_failures, h.failed) == ("failed", 1, 1)
    assert "500" in h.last_error and h.last_delivery_at is None
    assert d.channel_health("ops").status == "ok"


async def test_hundred_identical_alerts_give_one_delivery_and_one_summary(hook, dispatch):
    """100 identical alerts within the dedupe window: one message, then one
    "99 more like this" summary when the window ends."""
    d, results = await dispatch([NotifyChannelConfig("ops", hook.url("/ops"))],
                                DeliveryPolicy(dedupe_window=0.5))
    queued = [d.submit(PRICE_ROW) for _ in range(100)]
    assert queued[0] == ["ops"] and all(q == [] for q in queued[1:])
    first, summary = await hook.wait("/ops", 2)
    assert "more like this" not in first.body["title"]
    assert summary.body["title"].endswith("(99 more like this)")
    assert summary.body["message"].startswith("99 more like this in the last 0.5 s")
    await asyncio.sleep(0.3)
    assert len(hook.at("/ops")) == 2
    assert [r.repeats for r in results] == [0, 99]


async def test_close_sends_the_pending_summary(hook, dispatch):
    """close() flushes an open dedupe window's summary before stopping."""
    d, _ = await dispatch([NotifyChannelConfig("ops", hook.url("/ops"))])
    for _ in range(3):
        d.submit(PRICE_ROW)
    await d.close()
    assert [h.body["title"] for h in hook.at("/ops")] == [
        "[WARNING] Crypto Hub: price rule", "[WARNING] Crypto Hub: price rule (2 more like this)"]


async def test_quiet_hours_let_only_critical_alerts_through(hook, dispatch):
    """At 23:30 local with quiet hours 22:00-07:00 a warning is dropped, a critical sent."""
    policy = DeliveryPolicy(local_now=lambda: datetime(2025, 6, 1, 23, 30))
    d, _ = await dispatch([NotifyChannelConfig("night", hook.url("/night"),
                                               quiet_hours=(22 * 60, 7 * 60))], policy)
    assert d.submit({"alert_type": "rate_limit_warning", "severity": "warning",
                     "provider_id": "binance", "message": "binance used 81/100 calls"}) == []
    assert d.submit({"alert_type": "provider_down", "severity": "critical",
                     "provider_id": "binance", "message": "Binance is offline"}) == ["night"]
    [hit] = await hook.wait("/night", 1)
    assert hit.body["type"] == "failure" and "Binance is offline" in hit.body["message"]


async def test_kinds_and_min_severity_choose_the_channels(hook, dispatch):
    """Each alert goes only to the channels whose kinds and min_severity take it."""
    d, _ = await dispatch([
        NotifyChannelConfig("prices", hook.url("/prices"), kinds=("price_rule",)),
        NotifyChannelConfig("pager", hook.url("/pager"), min_severity="critical"),
        NotifyChannelConfig("all", hook.url("/all"), min_severity="info")])
    assert d.submit(PRICE_ROW) == ["prices", "all"]
    assert d.submit({"alert_type": "provider_down", "severity": "critical",
                     "message": "OKX is offline"}) == ["pager", "all"]
    assert d.submit({"alert_type": "provider_recovered", "severity": "info",
                     "message": "OKX is back (online)"}) == ["all"]
    assert d.submit({"alert_type": "storage_error", "severity": "critical",
                     "message": "could not store data: disk full"}) == []
    await hook.wait("/all", 3)
    assert len(await hook.wait("/prices", 1)) == 1 and len(await hook.wait("/pager", 1)) == 1
    assert hook.at("/all")[-1].body["type"] == "success"


async def test_rate_limit_spaces_messages_on_one_channel(hook, dispatch):
    """With 2 messages per 0.5 s, the 3rd and 4th distinct alerts wait for the window."""
    d, _ = await dispatch([NotifyChannelConfig("ops", hook.url("/ops"))],
                          DeliveryPolicy(rate_limit=2, rate_period=0.5))
    t0 = time.monotonic()
    for sym in ("BTC", "ETH", "SOL", "XRP"):
        d.submit({**PRICE_ROW, "rule": f"{sym} above 1", "message": f"{sym} above 1: now 2"})
    hits = await hook.wait("/ops", 4)
    assert all(h.at - t0 < 0.4 for h in hits[:2])
    assert all(h.at - t0 >= 0.5 for h in hits[2:])


async def test_missing_secret_marks_the_channel_and_fails_its_test(hook, dispatch):
    """A placeholder with no value: status needs_secret, its test fails naming the entry,
    the other channel's test is delivered."""
    d, _ = await dispatch([NotifyChannelConfig("tg", "tgram://{TG_BOT_TOKEN}/12345"),
                           NotifyChannelConfig("ops", hook.url("/ops"))])
    assert d.channel_health("tg").status == "needs_secret"
    tg, ops = await d.send_test()
    assert (tg.status, tg.attempts) == ("failed", 0) and "TG_BOT_TOKEN" in tg.reason
    assert ops.status == "delivered" and ops.kind == "test"
    [hit] = await hook.wait("/ops", 1)
    assert hit.body["title"] == "Crypto Hub: test message"


async def test_channel_secret_never_reaches_logs_or_database(hook, dispatch, tmp_path, caplog):
    """The secret in a channel URL is used (the receiver sees it) but appears in no log
    line, log file, stored row, result or health answer."""
    secret = "hk-9f8e7d6c5b4a39281706"
    store = Store.open(f"sqlite:///{tmp_path}/api_monitor.db")
    secrets = Secrets(env={"HOOK_SECRET": secret}, backend=MemoryKeyring())
    setup_logging(tmp_path, "DEBUG", lambda: secrets.seen, console=False)
    caplog.set_level(logging.DEBUG)
    try:
        d, results = await dispatch([
            NotifyChannelConfig("ops", hook.url("/ops/{HOOK_SECRET}")),
            NotifyChannelConfig("bad", hook.url("/fail/{HOOK_SECRET}?token={HOOK_SECRET}"))],
            secrets=secrets, store=store)
        d.submit(PRICE_ROW)
        tests = await d.send_test()
        await until(lambda: len(results) == 4)
        await d.close()
        rows = await store.read(deliveries)
        for_alert = await store.read(deliveries, [7])
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_cryptohub", False):
                logging.getLogger().removeHandler(h)
                h.close()
        store.close()
    assert hook.at(f"/ops/{secret}") and hook.at(f"/fail/{secret}")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"delivered", "failed"}
    assert {(r["channel"], r["status"], r["kind"]) for r in for_alert} == {
        ("ops", "delivered", "price_rule"), ("bad", "failed", "price_rule")}
    answers = [str(r.as_dict()) for r in results + tests] + [str(h.as_dict())
                                                             for h in d.health()]
    assert "{HOOK_SECRET}" in answers[0]
    logged = caplog.text  # formatted when emitted, before any later handler's mask
    assert "alert channel bad" in logged
    files = "\n".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    with closing(sqlite3.connect(tmp_path / "api_monitor.db")) as db:
        dump = "\n".join(db.iterdump())
    for where in (logged, files, dump, *answers):
        assert secret not in where


async def test_submit_from_another_thread_is_handed_to_the_loop(hook, dispatch):
    """submit() called from a worker thread returns at once and the alert is delivered."""
    d, _ = await dispatch([NotifyChannelConfig("ops", hook.url("/ops"))])
    assert await asyncio.to_thread(d.submit, PRICE_ROW) == []
    [hit] = await hook.wait("/ops", 1)
    assert "BTC above 70,000" in hit.body["message"]
