"""Table models update in place, and the colours the tables use."""

from __future__ import annotations

from cryptohub_desktop.ui.models.providers import provider_rows
from cryptohub_desktop.ui.models.table import RAW_ROLE, Column, RowsModel
from cryptohub_desktop.ui.theme import AMBER, GREEN, RED, bar_color


def _model() -> RowsModel:
    return RowsModel([Column("id", "Id"), Column("v", "Value", numeric=True)],
                     key=lambda r: r["id"])


def test_rows_model_passes_qt_model_checks(qtmodeltester):
    """The generic table model satisfies Qt's model tester."""
    m = _model()
    m.set_rows([{"id": "a", "v": 1}, {"id": "b", "v": None}, {"id": "c", "v": 3.5}])
    qtmodeltester.check(m)


def test_update_is_in_place(qtbot):
    """A new list of rows is signalled as removed, inserted and changed rows, not a reset."""
    m = _model()
    m.set_rows([{"id": "a", "v": 1}, {"id": "b", "v": 2}, {"id": "c", "v": 3}])
    seen: list[tuple[str, int, int]] = []
    m.rowsRemoved.connect(lambda _p, a, b: seen.append(("removed", a, b)))
    m.rowsInserted.connect(lambda _p, a, b: seen.append(("inserted", a, b)))
    m.dataChanged.connect(lambda a, b, *_: seen.append(("changed", a.row(), b.row())))
    m.modelReset.connect(lambda: seen.append(("reset", -1, -1)))
    m.set_rows([{"id": "z", "v": 0}, {"id": "a", "v": 1}, {"id": "c", "v": 30}])
    assert seen == [("removed", 1, 1), ("inserted", 0, 0), ("changed", 2, 2)]
    assert [r["id"] for r in m.rows] == ["z", "a", "c"]
    assert m.data(m.index(2, 1), RAW_ROLE) == 30


def test_rate_bar_colours():
    """The rate-limit bar is green below 80 %, amber from 80 %, red from 100 %."""
    assert bar_color(79.9) == GREEN
    assert bar_color(80.0) == AMBER
    assert bar_color(99.0) == AMBER
    assert bar_color(100.0) == RED


def test_provider_rows_take_the_fullest_window():
    """A provider's bar shows its most used rate-limit window and its freshness."""
    rows = provider_rows(
        {"providers": [{"id": "x", "name": "X", "status": "online"}]},
        {"rate_limits": [
            {"provider": "x", "limit_type": "per_second", "limit_value": 10, "current_usage": 1,
             "percentage": 10.0},
            {"provider": "x", "limit_type": "per_day", "limit_value": 100, "current_usage": 85,
             "percentage": 85.0}]},
        {"market_data": {"X": {"id": "x", "staleness_minutes": 1.5, "status": "fresh"}}})
    assert rows[0]["rate_pct"] == 85.0
    assert rows[0]["rate_text"] == "85/100 per day"
    assert rows[0]["freshness"] == "fresh"
