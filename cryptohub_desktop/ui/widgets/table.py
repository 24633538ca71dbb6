"""A table with sorting, a filter box, CSV export and an explanation when empty.

Column widths follow the content (they grow as wider values arrive, e.g. the first
prices after empty cells) until the user drags a column; widths set by hand are
remembered per table (:func:`remember_widths_in`), automatic ones never are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedLayout,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cryptohub_desktop.ui.models.table import ROW_ROLE, SORT_ROLE, Row, RowsModel
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import set_role
from cryptohub_desktop.ui.widgets.export import ask_path, model_to_csv

MAX_AUTO_WIDTH = 320
TEXT_MARGIN = 14  # a cell's padding around its text
DELEGATE_MARGIN = 24  # what a painting delegate adds (a status dot ...)
SIZE_EVERY_MS = 1000
_memory: dict[str, UiState | None] = {"state": None}


def remember_widths_in(state: UiState | None) -> None:
    """Where tables built from now on keep the column widths the user sets by hand."""
    _memory["state"] = state


class DataTable(QWidget):
    """A :class:`RowsModel` in a sortable table.

    Args:
        model: the rows.
        name: used for the suggested CSV file name.
        empty_text: shown instead of the table while it has no rows.
        filter_box: show a filter line (matches any column).
        stretch: the key of the column that takes the spare width (default: the last).
        compact: no tool row (export from the right-click menu), for small panels.
        max_widths: column key -> the widest it is sized automatically (default 320 px;
            the full text stays in the tooltip).

    Signals:
        row_selected(dict): the current row changed (its row dict).
        exported(str): a CSV file was written (its path).
    """

    row_selected = Signal(dict)
    exported = Signal(str)

    def __init__(self, model: RowsModel, name: str, empty_text: str = "No data yet.",
                 filter_box: bool = False, stretch: str | None = None, compact: bool = False,
                 max_widths: dict[str, int] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.name = name
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setDynamicSortFilter(True)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(26)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(40)  # size columns from 40 rows, not all of them
        header.setMinimumSectionSize(36)
        self._stretch = model.column_of(stretch) if stretch else None
        if self._stretch is None:
            header.setStretchLastSection(True)
        else:
            header.setSectionResizeMode(self._stretch, QHeaderView.ResizeMode.Stretch)
        self._max_widths = dict(max_widths or {})
        self._state = _memory["state"]
        self._user_widths = self._state.column_widths(name) if self._state else {}
        self._sizing = False
        for key, width in self._user_widths.items():
            try:
                c = model.column_of(key)
            except StopIteration:
                continue
            if c != self._stretch:
                self.view.setColumnWidth(c, width)
        header.sectionResized.connect(self.on_header_section_resized)
        self._size_timer = QTimer(self)
        self._size_timer.setSingleShot(True)
        self._size_timer.setInterval(SIZE_EVERY_MS)
        self._size_timer.timeout.connect(self._size_columns)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self.on_view_context_menu)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.selectionModel().currentRowChanged.connect(self.on_view_current_changed)
        self.empty = QLabel(empty_text)
        set_role(self.empty, "empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty)

        self.tools = QHBoxLayout()
        self.tools.setContentsMargins(0, 0, 0, 0)
        if filter_box:
            self.filter = QLineEdit()
            self.filter.setPlaceholderText("Filter…")
            self.filter.setClearButtonEnabled(True)
            self.filter.setMaximumWidth(200)
            self.filter.textChanged.connect(self.proxy.setFilterFixedString)
            self.tools.addWidget(self.filter)
        self.tools.addStretch(1)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save this table as a CSV file")
        self.export_button.clicked.connect(self.on_export_clicked)
        self.tools.addWidget(self.export_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        if compact:
            self.export_button.hide()
            self.export_button.setParent(self)
        else:
            lay.addLayout(self.tools)
        lay.addLayout(self._stack)
        for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            sig.connect(self._update_empty)
        model.dataChanged.connect(self._content_changed)
        self._sized = False
        self._grown = False
        self._dirty: tuple[int, int] | None = None
        self._update_empty()

    def _update_empty(self, *_: object) -> None:
        has = self.model.rowCount() > 0
        self._stack.setCurrentIndex(0 if has else 1)
        if has and not self._sized:
            self._sized = True
            QTimer.singleShot(0, self._size_columns)  # in its own event, not in the update
        elif has:
            self._dirty = (0, self.model.rowCount() - 1)
            self._content_changed()

    def _content_changed(self, top: Any = None, bottom: Any = None, *_: object) -> None:
        if top is not None and bottom is not None:
            lo, hi = self._dirty or (top.row(), bottom.row())
            self._dirty = (min(lo, top.row()), max(hi, bottom.row()))
        if self._sized and not self._size_timer.isActive():
            self._size_timer.start()

    def _auto_columns(self) -> list[int]:
        header = self.view.horizontalHeader()
        last = self.model.columnCount() - 1
        return [c for c in range(self.model.columnCount())
                if not (c == self._stretch or self.model.columns[c].key in self._user_widths
                        or (c == last and header.stretchLastSection()))]

    def _size_columns(self) -> None:
        """Fit columns to their content: fully the first time, then only growing (no
        jitter) when a changed row's text is wider than its column; never past the
        column's cap, never a column the user sized by hand. Later checks measure only
        the rows that changed (cheap: collections change cells every few seconds)."""
        self._sizing = True
        header = self.view.horizontalHeader()
        try:
            if not self._grown:
                for c in self._auto_columns():
                    self.view.setColumnWidth(c, self._cap(c, max(
                        self.view.sizeHintForColumn(c), header.sectionSizeHint(c))))
                self._grown = True
                return
            rows = self._dirty
            self._dirty = None
            if rows is None:
                return
            metrics = self.view.fontMetrics()
            lo, hi = max(0, rows[0]), min(self.model.rowCount() - 1, rows[1], rows[0] + 200)
            for c in self._auto_columns():
                col = self.model.columns[c]
                extra = TEXT_MARGIN + (DELEGATE_MARGIN if self.view.itemDelegateForColumn(c)
                                       else 0)
                widest = max((metrics.horizontalAdvance(col.text(self.model.row(r)))
                              for r in range(lo, hi + 1)), default=0) + extra
                want = self._cap(c, widest)
                if want > self.view.columnWidth(c):
                    self.view.setColumnWidth(c, want)
        finally:
            self._sizing = False

    def _cap(self, c: int, width: int) -> int:
        return min(self._max_widths.get(self.model.columns[c].key, MAX_AUTO_WIDTH), width)

    def on_header_section_resized(self, index: int, _old: int, new: int) -> None:
        """A width the user dragged is kept (and remembered); ours are not."""
        header = self.view.horizontalHeader()
        if (self._sizing or index == self._stretch or not self.view.isVisible()
                or (index == self.model.columnCount() - 1 and header.stretchLastSection())):
            return
        if not header.underMouse():
            return
        key = self.model.columns[index].key
        self._user_widths[key] = new
        if self._state is not None:
            self._state.set_column_widths(self.name, self._user_widths)

    def set_empty_text(self, text: str) -> None:
        self.empty.setText(text)

    def current_row(self) -> Row | None:
        idx = self.view.currentIndex()
        return idx.data(ROW_ROLE) if idx.isValid() else None

    def select_key(self, key: object) -> None:
        i = self.model.find(key)
        if i >= 0:
            idx = self.proxy.mapFromSource(self.model.index(i, 0))
            self.view.setCurrentIndex(idx)
            self.view.scrollTo(idx)

    def on_view_current_changed(self, current: object, _previous: object) -> None:
        row = self.current_row()
        if row is not None:
            self.row_selected.emit(row)

    def on_view_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        idx = self.view.indexAt(pos)
        if idx.isValid():
            text = str(idx.data() or "")
            menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(text))
        menu.addAction("Export CSV…", self.on_export_clicked)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def on_export_clicked(self) -> None:
        ask_path(self, f"Export {self.name}", f"{self.name}.csv", "CSV files (*.csv)",
                 self.export_csv)

    def export_csv(self, path: Path) -> Path:
        """Write the table as shown (sorted, filtered) to ``path``."""
        out = model_to_csv(self.proxy, path)
        self.exported.emit(str(out))
        return out
