"""A table model of plain rows (dicts), described by columns, updated in place.

Every table of the UI is a :class:`RowsModel` with its own column list. New data
arrives as a whole list of rows; :meth:`RowsModel.set_rows` works out what was
removed, inserted and changed, and tells views exactly that (rows removed,
rows inserted, cells changed), so selection, scroll position and sorting survive
updates.

Example::

    cols = [Column("symbol", "Symbol"), Column("price", "Price", fmt=money, numeric=True)]
    model = RowsModel(cols, key=lambda r: r["symbol"])
    model.set_rows([{"symbol": "BTC", "price": 67000.0}])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

#: the raw value of a cell (sorting, delegates)
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
#: the whole row dict
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
#: a sort key that never mixes types (None sorts first)
SORT_ROLE = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex
Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One column.

    Attributes:
        key: the row key shown (also the CSV header's source).
        title: the header text.
        fmt: value -> display text (default ``str``; None shows as empty).
        numeric: right-aligned, sorted as a number.
        color: row -> foreground colour (status colours ...).
        tooltip: row -> tooltip text.
        value: row -> value, when the value is computed rather than ``row[key]``.
        display: row -> display text, when it needs more than the value.
    """

    key: str
    title: str
    fmt: Callable[[Any], str] | None = None
    numeric: bool = False
    color: Callable[[Row], QColor | None] | None = None
    tooltip: Callable[[Row], str | None] | None = None
    value: Callable[[Row], Any] | None = None
    display: Callable[[Row], str] | None = None

    def get(self, row: Row) -> Any:
        return self.value(row) if self.value else row.get(self.key)

    def text(self, row: Row) -> str:
        if self.display is not None:
            return self.display(row)
        v = self.get(row)
        if v is None:
            return ""
        return self.fmt(v) if self.fmt else str(v)


class RowsModel(QAbstractTableModel):
    """Rows of dicts shown through ``columns``.

    Args:
        columns: what to show.
        key: row -> identity, stable across updates (a provider id, a url ...).
    """

    def __init__(self, columns: Sequence[Column], key: Callable[[Row], Hashable],
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._rows: list[Row] = []
        self._keys: list[Hashable] = []

    # --- Qt model interface ------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(row)
        if role == RAW_ROLE:
            return col.get(row)
        if role == SORT_ROLE:
            v = col.get(row)
            if col.numeric:
                return float(v) if isinstance(v, int | float) else float("-inf")
            return "" if v is None else str(v).lower()
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if col.numeric else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col.color:
            return col.color(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col.tooltip:
                return col.tooltip(row)
            text = col.text(row)
            return text if len(text) > 40 else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.columns)):
            return self.columns[section].title
        return None

    # --- data ------------------------------------------------------------------------------
    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def row(self, i: int) -> Row:
        return self._rows[i]

    def find(self, key: Hashable) -> int:
        """The row number of ``key``, or -1."""
        try:
            return self._keys.index(key)
        except ValueError:
            return -1

    def column_of(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows``: removed, inserted and changed rows are signalled as such."""
        new_keys = [self._key(r) for r in rows]
        if len(set(new_keys)) != len(new_keys):  # duplicate keys: keep the first
            seen: set[Hashable] = set()
            pairs = [(k, r) for k, r in zip(new_keys, rows, strict=True)
                     if not (k in seen or seen.add(k))]
            new_keys, rows = [k for k, _ in pairs], [r for _, r in pairs]
        wanted = set(new_keys)
        # 1. removals, bottom up, in contiguous blocks
        i = len(self._keys) - 1
        while i >= 0:
            if self._keys[i] in wanted:
                i -= 1
                continue
            j = i
            while j - 1 >= 0 and self._keys[j - 1] not in wanted:
                j -= 1
            self.beginRemoveRows(QModelIndex(), j, i)
            del self._rows[j:i + 1]
            del self._keys[j:i + 1]
            self.endRemoveRows()
            i = j - 1
        # 2. the kept rows must be in the new order, else rebuild
        have = set(self._keys)
        if [k for k in new_keys if k in have] != self._keys:
            self.beginResetModel()
            self._rows, self._keys = list(rows), new_keys
            self.endResetModel()
            return
        # 3. insertions in contiguous blocks, 4. changed cells
        old = dict(zip(self._keys, self._rows, strict=True))
        pos = 0
        while pos < len(new_keys):
            if new_keys[pos] in old:
                pos += 1
                continue
            end = pos
            while end + 1 < len(new_keys) and new_keys[end + 1] not in old:
                end += 1
            self.beginInsertRows(QModelIndex(), pos, end)
            self._rows[pos:pos] = list(rows[pos:end + 1])
            self._keys[pos:pos] = new_keys[pos:end + 1]
            self.endInsertRows()
            pos = end + 1
        last = self.columnCount() - 1
        for n, (k, r) in enumerate(zip(new_keys, rows, strict=True)):
            if k in old and old[k] != r:
                self._rows[n] = r
                self.dataChanged.emit(self.index(n, 0), self.index(n, last))
