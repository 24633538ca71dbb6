"""Schedule compliance with a controllable clock."""

from datetime import UTC, datetime, timedelta

from cryptohub_desktop.engine.scheduler import Compliance, tolerance

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_on_time_late_and_skipped_counts():
    """Runs within the tolerance are on time, later ones late, missed slots skipped."""
    c = Compliance()
    c.on_run("p", T0, T0 + timedelta(seconds=1), 60)
    c.on_run("p", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1, seconds=5), 60)
    c.on_run("p", T0 + timedelta(minutes=2), T0 + timedelta(minutes=2, seconds=20), 60)
    c.on_skip("p", T0 + timedelta(minutes=3), "circuit_open", 60)
    st = c.stats["p"]
    assert (st.on_time, st.late, st.skipped) == (2, 1, 1)
    assert st.on_time_percentage == 50.0
    assert st.next_run == T0 + timedelta(minutes=4)
    assert st.last_run == T0 + timedelta(minutes=2, seconds=20)


def test_tolerance_scales_with_the_interval():
    """Short intervals allow 5 s, long ones 10 % of the interval."""
    assert tolerance(30) == 5.0
    assert tolerance(600) == 60.0
