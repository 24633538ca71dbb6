"""Export: any table model to CSV, any widget or plot to PNG."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from cryptohub_desktop.ui.models.table import RAW_ROLE


def model_rows(model: QAbstractItemModel, raw: bool = True) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of a table model, in the order the model (or proxy) shows them.

    Raw values are exported where the model has them (numbers stay numbers), the
    display text otherwise.
    """
    cols = model.columnCount()
    header = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(cols)]
    rows = []
    for r in range(model.rowCount()):
        out = []
        for c in range(cols):
            idx = model.index(r, c)
            value = model.data(idx, RAW_ROLE) if raw else None
            if value is None or isinstance(value, list | dict | tuple):
                value = model.data(idx, Qt.ItemDataRole.DisplayRole)
            out.append("" if value is None else value)
        rows.append(out)
    return header, rows


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def model_to_csv(model: QAbstractItemModel, path: Path) -> Path:
    header, rows = model_rows(model)
    return write_csv(path, header, rows)


def tell(widget: QWidget, text: str) -> None:
    """One line in the window's status bar (the main window's ``say``), if there is one."""
    window = widget.window()
    say = getattr(window, "say", None)
    if callable(say):
        say(text)


def save_to(parent: QWidget, path: Path, on_chosen: Any) -> Path | None:
    """Run ``on_chosen(path)`` and confirm it in the status bar ("Saved …"), or say why
    it failed; returns the written path (None on failure)."""
    try:
        out = on_chosen(path)
    except OSError as exc:
        tell(parent, f"Could not save {path}: {exc.strerror or exc}")
        return None
    written = Path(out) if out else path
    tell(parent, f"Saved {written}")
    return written


def ask_path(parent: QWidget, title: str, suggested: str, filt: str,
             on_chosen: Any) -> QFileDialog:
    """A non-modal save dialog (no nested event loop under qasync); calls
    ``on_chosen(Path)`` when the user picks a file and confirms the export in the
    status bar (or says why it failed)."""
    dlg = QFileDialog(parent, title, suggested, filt)
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.fileSelected.connect(lambda p: save_to(parent, Path(p), on_chosen) if p else None)
    dlg.open()
    return dlg


def widget_to_png(widget: QWidget, path: Path) -> Path:
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path
