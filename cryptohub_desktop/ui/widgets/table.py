"""A table with sorting, a filter box, CSV export and an explanation when empty."""

from __future__ import annotations

from pathlib import Path

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
from cryptohub_desktop.ui.theme import set_role
from cryptohub_desktop.ui.widgets.export import ask_path, model_to_csv


class DataTable(QWidget):
    """A :class:`RowsModel` in a sortable table.

    Args:
        model: the rows.
        name: used for the suggested CSV file name.
        empty_text: shown instead of the table while it has no rows.
        filter_box: show a filter line (matches any column).
        stretch: the key of the column that takes the spare width (default: the last).
        compact: no tool row (export from the right-click menu), for small panels.

    Signals:
        row_selected(dict): the current row changed (its row dict).
        exported(str): a CSV file was written (its path).
    """

    row_selected = Signal(dict)
    exported = Signal(str)

    def __init__(self, model: RowsModel, name: str, empty_text: str = "No data yet.",
                 filter_box: bool = False, stretch: str | None = None, compact: bool = False,
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
        self._stretch = model.column_of(stretch) if stretch else None
        if self._stretch is None:
            header.setStretchLastSection(True)
        else:
            header.setSectionResizeMode(self._stretch, QHeaderView.ResizeMode.Stretch)
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
        self._update_empty()
        self._sized = False

    def _update_empty(self, *_: object) -> None:
        has = self.model.rowCount() > 0
        self._stack.setCurrentIndex(0 if has else 1)
        if has and not self._sized:
            self._sized = True
            QTimer.singleShot(0, self._size_columns)  # in its own event, not in the update

    def _size_columns(self) -> None:
        self.view.resizeColumnsToContents()
        for c in range(self.model.columnCount()):
            if c != self._stretch and self.view.columnWidth(c) > 320:
                self.view.setColumnWidth(c, 320)

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
