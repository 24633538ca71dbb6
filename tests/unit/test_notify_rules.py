"""The pure rules of alert delivery: kinds, filters, dedupe keys, text, placeholders."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.config import NOTIFY_KINDS, NotifyChannelConfig
from cryptohub_desktop.engine.notify_rules import (
    KIND_OF,
    AlertEvent,
    accepts,
    dedupe_key,
    display_url,
    in_quiet_hours,
    render,
    resolve_url,
)

NIGHT = (22 * 60, 7 * 60)


def event(alert_type: str = "staleness", severity: str = "warning", message: str = "x",
          **kw: object) -> AlertEvent:
    return AlertEvent(alert_type, severity, message, **kw)  # type: ignore[arg-type]


def test_every_alert_type_maps_onto_a_spec_kind():
    """Each engine alert type the mapping knows lands on one of the six SPEC kinds;
    storage_error goes nowhere."""
    assert set(KIND_OF.values()) == set(NOTIFY_KINDS)
    assert event("price_threshold").kind == "price_rule"
    assert event("rate_limit_warning").kind == "quota"
    assert event("price_deviation").kind == "divergence"
    assert event("provider_recovered").kind == "provider_down"
    assert event("storage_error").kind is None


@pytest.mark.parametrize(("window", "hh", "mm", "quiet"), [
    (NIGHT, 22, 0, True), (NIGHT, 23, 59, True), (NIGHT, 0, 0, True), (NIGHT, 6, 59, True),
    (NIGHT, 7, 0, False), (NIGHT, 21, 59, False), (NIGHT, 12, 0, False),
    ((13 * 60, 14 * 60), 13, 30, True), ((13 * 60, 14 * 60), 14, 0, False), (None, 23, 0, False),
])
def test_quiet_hours_include_start_exclude_end_and_wrap_midnight(window, hh, mm, quiet):
    """22:00-07:00 covers 22:00 to 06:59 across midnight; a same-day window works too."""
    assert in_quiet_hours(window, datetime(2025, 1, 1, hh, mm)) is quiet


def test_channel_filter_says_why_an_alert_is_not_for_it():
    """Kind, min_severity and quiet hours each reject with a reason; critical passes
    quiet hours."""
    ch = NotifyChannelConfig("c", "json://h", kinds=("provider_down", "staleness"),
                             min_severity="warning", quiet_hours=NIGHT)
    day, night = datetime(2025, 1, 1, 12), datetime(2025, 1, 1, 23)
    assert accepts(ch, event("staleness"), day) is None
    assert "kind quota" in accepts(ch, event("rate_limit_warning"), day)
    assert "below min_severity" in accepts(ch, event("provider_recovered", "info"), day)
    assert "quiet hours 22:00-07:00" in accepts(ch, event("staleness"), night)
    assert accepts(ch, event("provider_down", "critical"), night) is None
    assert "no channel" in accepts(ch, event("storage_error", "critical"), day)


def test_dedupe_key_ignores_changing_numbers_but_keeps_price_rules_apart():
    """Quota alerts differing only in counts are one alert; two price rules are two."""
    a = event("rate_limit_warning", provider_id="binance", message="used 81/100 calls (81%)")
    b = event("rate_limit_warning", provider_id="binance", message="used 85/100 calls (85%)")
    assert dedupe_key(a) == dedupe_key(b)
    r1 = event("price_threshold", message="BTC above 70,000: consensus price is now 70,100")
    r2 = event("price_threshold", message="BTC above 70,000: consensus price is now 70,900")
    r3 = event("price_threshold", message="BTC above 80,000: consensus price is now 80,100")
    assert dedupe_key(r1) == dedupe_key(r2) != dedupe_key(r3)
    assert dedupe_key(event(dedupe="down:kraken")) == "down:kraken"


def test_price_alert_text_names_symbol_price_rule_and_time():
    """The rendered message carries the rule, symbol, price and UTC time."""
    ev = AlertEvent.from_row({"id": 3, "timestamp": "2025-06-01T08:00:05Z",
                              "alert_type": "price_threshold", "severity": "warning",
                              "message": "ETH below 2,500: consensus price is now 2,480",
                              "symbol": "ETH", "price": 2480.0, "rule": "ETH below 2,500"})
    title, body = render(ev, "hub-a")
    assert title == "[WARNING] Crypto Hub: price rule"
    assert body.splitlines()[0] == "ETH below 2,500: consensus price is now 2,480"
    for line in ("symbol: ETH", "price: 2480.0", "rule: ETH below 2,500",
                 "time: 2025-06-01 08:00:05 UTC", "alert: #3 (price_threshold)", "from: hub-a"):
        assert line in body.splitlines()
    title, body = render(ev, "hub-a", repeats=12, window_seconds=300)
    assert title.endswith("(12 more like this)")
    assert body.startswith("12 more like this in the last 5 min")


def test_alert_row_with_naive_timestamp_and_odd_severity():
    """A stored row's naive UTC timestamp is read as UTC; an unknown severity is warning."""
    ev = AlertEvent.from_row({"timestamp": datetime(2025, 1, 2, 3, 4, 5), "severity": "loud",
                              "alert_type": "staleness", "message": "m"})
    assert ev.timestamp == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert ev.severity == "warning" and ev.alert_id is None


def test_placeholders_resolve_through_lookup_and_report_missing():
    """{NAME} takes the looked-up value; names without one are listed, left unresolved."""
    values = {"TG_TOKEN": "123456:ABCdef-ghijkl"}
    r = resolve_url("tgram://{TG_TOKEN}/{TG_CHAT}/{TG_TOKEN}", values.get)
    assert r.url == "tgram://123456:ABCdef-ghijkl/{TG_CHAT}/123456:ABCdef-ghijkl"
    assert r.secrets == ("123456:ABCdef-ghijkl",) and r.missing == ("TG_CHAT",)


@pytest.mark.parametrize(("template", "shown"), [
    ("tgram://{TG_TOKEN}/12345", "tgram://{TG_TOKEN}/12345"),
    ("mailto://alice:{SMTP_PASSWORD}@smtp.example.org:587?from=a@example.org",
     "mailto://alice:{SMTP_PASSWORD}@smtp.example.org:587?from=a@example.org"),
    ("mailto://alice:hunter2hunter@smtp.example.org", "mailto://alice:hunt…nter@smtp.example.org"),
    ("ntfys://ntfy.sh/alerts?token=tk_abcdef123456", "ntfys://ntfy.sh/alerts?token=tk_a…3456"),
    ("mailto://127.0.0.1:25?from=hub@example.org", "mailto://127.0.0.1:25?from=hub@example.org"),
    ("mailtos://smtp.x.org?user=a@x.org&pass=hunter2hunter&to=b@x.org",
     "mailtos://smtp.x.org?user=a@x.org&pass=hunt…nter&to=b@x.org"),
    ("mailtos://smtp.x.org?user=a@x.org&pass={SMTP_PASSWORD}",
     "mailtos://smtp.x.org?user=a@x.org&pass={SMTP_PASSWORD}"),
])
def test_display_url_keeps_placeholders_and_masks_literal_secrets(template, shown):
    """The shown URL keeps {NAME} placeholders, masks written-in passwords and tokens."""
    assert display_url(template) == shown


def test_display_url_masks_known_values():
    """A known secret value written literally into the URL is masked."""
    assert display_url("json://h/hook/s3cr3t-value-99", ["s3cr3t-value-99"]) == \
        "json://h/hook/s3cr…e-99"
