"""Provider status transitions and the circuit breaker."""

from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.health import BACKOFF_START, HealthMonitor


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_online_degraded_offline_online():
    """Successes -> online, a failure -> degraded, 3 in a row -> offline, recovery -> online."""
    seen = []
    clock = FakeClock()
    hm = HealthMonitor(clock=clock, on_change=lambda pid, old, new: seen.append(new))
    now = utcnow()
    for _ in range(5):
        hm.record("p", ok=True, when=now, response_time_ms=100)
    assert hm.get("p").status == "online"
    hm.record("p", ok=False, when=now, error_type="http_5xx")
    assert hm.get("p").status == "degraded"
    hm.record("p", ok=False, when=now, error_type="timeout")
    hm.record("p", ok=False, when=now, error_type="timeout")
    assert hm.get("p").status == "offline"
    assert hm.allow("p") == (False, "circuit_open")
    clock.now += BACKOFF_START
    assert hm.allow("p") == (True, None)  # the probe
    for _ in range(10):
        hm.record("p", ok=True, when=now, response_time_ms=100)
    assert hm.get("p").status == "online"
    assert seen[:4] == ["online", "degraded", "offline", "degraded"]
    assert seen[-1] == "online"


def test_failed_probe_doubles_the_backoff():
    """A probe that fails re-opens the circuit for twice as long."""
    clock = FakeClock()
    hm = HealthMonitor(clock=clock)
    for _ in range(3):
        hm.record("p", ok=False, when=utcnow(), error_type="http_5xx")
    clock.now += BACKOFF_START
    assert hm.allow("p")[0]
    hm.record("p", ok=False, when=utcnow(), error_type="http_5xx")
    clock.now += BACKOFF_START
    assert hm.allow("p") == (False, "circuit_open")
    clock.now += BACKOFF_START
    assert hm.allow("p")[0]


def test_rate_limited_is_degraded_never_offline():
    """429s make a provider degraded but never offline: it is up, just busy."""
    hm = HealthMonitor()
    for _ in range(6):
        hm.record("p", ok=False, when=utcnow(), error_type="rate_limited")
    assert hm.get("p").status == "degraded"
    assert not hm.circuit_open("p")


def test_slow_answers_degrade():
    """An average response time over 5 s marks the provider degraded."""
    hm = HealthMonitor()
    for _ in range(3):
        hm.record("p", ok=True, when=utcnow(), response_time_ms=8000)
    assert hm.get("p").status == "degraded"


def test_freshness_states():
    """No data -> no_data; data within two intervals -> fresh; older -> stale."""
    from datetime import timedelta
    hm = HealthMonitor()
    now = utcnow()
    assert hm.freshness("p", 60, now) == (None, "no_data")
    hm.record("p", ok=True, when=now, data_time=now - timedelta(minutes=1))
    assert hm.freshness("p", 60, now)[1] == "fresh"
    assert hm.freshness("p", 60, now + timedelta(minutes=10)) == (11.0, "stale")


def test_empty_answer_is_not_success_and_not_offline():
    """An answer with nothing usable is "empty": it lowers the success rate, says why,
    and never counts toward offline."""
    hm = HealthMonitor()
    hm.record("p", ok=True, when=utcnow(), response_time_ms=100)
    for _ in range(4):
        hm.record_empty("p", when=utcnow(), response_time_ms=90, reason="answered, no rows")
    h = hm.get("p")
    assert (h.status, h.reason) == ("empty", "answered, no rows")
    assert h.success_rate == 20.0
    assert h.consecutive_failures == 0 and not hm.circuit_open("p")


def test_idle_leaves_the_success_rate_alone():
    """A run with no input is idle: neither success nor failure."""
    hm = HealthMonitor()
    hm.record_idle("p", when=utcnow(), reason="no input")
    assert hm.get("p").status == "idle"
    assert hm.get("p").success_rate is None


def test_unreachable_while_the_machine_is_offline_is_offline_at_once():
    """One unanswered request while the machine is offline makes a provider offline, and
    coming back online closes its circuit."""
    clock = FakeClock()
    hm = HealthMonitor(clock=clock)
    hm.record("p", ok=False, when=utcnow(), error_type="connection_error", unreachable=True)
    assert hm.get("p").status == "degraded"  # one provider: its own problem so far
    assert hm.on_network(False) == ["p"]
    assert hm.get("p").status == "offline"
    for _ in range(2):
        hm.record("p", ok=False, when=utcnow(), error_type="connection_error",
                  unreachable=True)
    assert hm.circuit_open("p")
    hm.on_network(True)
    assert not hm.circuit_open("p")
