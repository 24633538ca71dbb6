"""API keys in Settings: saved to the OS keychain (off the UI thread), shown masked,
with a "Test" button that runs the provider once with the key and says in plain words
what happened (never a raw ``[Errno -2]``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.masking import mask
from cryptohub_desktop.secrets import KeychainUnavailable, Secrets
from cryptohub_desktop.ui.theme import GREEN, RED
from cryptohub_desktop.ui.views.base import muted

EXTRA_ENTRIES = ("HUGGINGFACE_TOKEN",)
#: error type of a test run -> what it means for the person testing a key
TEST_ERRORS = {
    "connection_error": "could not connect: no network, or the host name could not be "
                        "resolved",
    "timeout": "no answer in time: the network or the provider is slow",
    "http_4xx": "refused by the provider: the key may be wrong, expired or lack access",
    "http_5xx": "the provider had an error on its side: try again later",
    "rate_limited": "the provider says too many requests: the key works, wait a little",
    "parse_error": "the answer was not in the documented format",
    "needs_key": "save a key first",
    "empty_answer": "the key works, but the answer held nothing usable",
    "internal_error": "an error in Crypto Hub itself (see error.log)",
}


def explain(error_type: str | None, error: str | None) -> str:
    """A test run's failure in plain words, with the HTTP status where there was one."""
    base = TEST_ERRORS.get(error_type or "", "failed")
    status = ""
    for word in (error or "").split():
        if word.isdigit() and len(word) == 3 and word[0] in "45":
            status = f" (HTTP {word})"
            break
    return base + status


@dataclass
class KeyRow:
    name: str
    providers: list[str]
    current: QLabel
    edit: QLineEdit
    save: QPushButton
    test: QPushButton
    delete: QPushButton
    result: QLabel


class KeysPanel(QWidget):
    """One row per keychain entry the catalogue uses.

    Signals:
        saved(str): an entry was stored in the keychain (its name).
        deleted(str): an entry was removed.
        tested(str, str): a test run ended (provider id, status).
    """

    saved = Signal(str)
    deleted = Signal(str)
    tested = Signal(str, str)

    def __init__(self, api: HubApi, secrets: Secrets, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.secrets = secrets
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.keychain = muted("Checking the keychain…")
        self.keychain_ok = False
        lay.addWidget(self.keychain)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for c, text in enumerate(("Entry (used by)", "Current", "New value", "")):
            h = QLabel(f"<b>{text}</b>")
            grid.addWidget(h, 0, c)
        catalogue = api.catalogue()
        names = list(dict.fromkeys(n for p in catalogue for n in p.key_names))
        self.rows: dict[str, KeyRow] = {}
        for i, name in enumerate([*names, *EXTRA_ENTRIES]):
            r = 1 + 2 * i
            users = [p.id for p in catalogue if name in p.key_names]
            row = KeyRow(name, users, QLabel("…"), QLineEdit(), QPushButton("Save"),
                         QPushButton("Test"), QPushButton("Delete"), muted(""))
            row.edit.setEchoMode(QLineEdit.EchoMode.Password)
            row.edit.setPlaceholderText("paste the key")
            row.edit.setMinimumWidth(140)
            row.save.clicked.connect(lambda _=False, n=name: self.on_save_clicked(n))
            row.test.clicked.connect(lambda _=False, n=name: self.on_test_clicked(n))
            row.delete.clicked.connect(lambda _=False, n=name: self.on_delete_clicked(n))
            row.test.setEnabled(bool(users))
            row.test.setToolTip(f"Run {users[0]} once with this key" if users else
                                "used by the optional transformer model")
            entry = QLabel(f"{name}<br><small>{', '.join(users) or 'text model'}</small>")
            entry.setTextFormat(Qt.TextFormat.RichText)
            grid.addWidget(entry, r, 0)
            grid.addWidget(row.current, r, 1)
            grid.addWidget(row.edit, r, 2)
            buttons = QHBoxLayout()
            buttons.setSpacing(4)
            for b in (row.save, row.test, row.delete):
                buttons.addWidget(b)
            grid.addLayout(buttons, r, 3)
            grid.addWidget(row.result, r + 1, 1, 1, 3)
            row.result.hide()
            self.rows[name] = row
        grid.setColumnStretch(2, 1)
        lay.addLayout(grid)

    async def refresh(self) -> None:
        """Read availability and masked values off the UI thread."""
        secrets = self.secrets
        ok, why = await asyncio.to_thread(secrets.available)
        self.keychain_ok = bool(ok)
        self.keychain.setText(("Keys are kept in the OS keychain" if ok else why)
                              + ("" if ok else ". Keys set as environment variables still "
                                 "work; nothing is ever written to a file.")
                              + (f" ({why})" if ok else ""))
        for row in self.rows.values():
            row.save.setEnabled(bool(ok))
            row.save.setToolTip("" if ok else "No keychain on this computer: set the key as "
                                f"an environment variable ({row.name}=…) instead")
        values = await asyncio.to_thread(
            lambda: {n: (secrets.get(n), secrets.source(n)) for n in self.rows})
        for name, (value, source) in values.items():
            row = self.rows[name]
            row.current.setText(f"{mask(value)} ({source})" if value else "not set")
            row.delete.setEnabled(source == "keychain")

    def focus_entry(self, name: str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.edit.setFocus()

    @asyncSlot()
    async def on_save_clicked(self, name: str) -> None:
        await self.save_key(name, self.rows[name].edit.text())

    async def save_key(self, name: str, value: str) -> bool:
        """Store ``value`` as ``name`` in the keychain, then re-read keys."""
        row = self.rows[name]
        value = value.strip()
        if not value:
            self._result(row, "paste a key first", False)
            return False
        try:
            await asyncio.to_thread(self.secrets.set, name, value)
        except KeychainUnavailable as exc:
            self._result(row, f"not saved: {exc}", False)
            return False
        row.edit.clear()
        self._result(row, f"saved ({mask(value)})", True)
        await self.api.reload_keys()
        await self.refresh()
        self.saved.emit(name)
        return True

    @asyncSlot()
    async def on_delete_clicked(self, name: str) -> None:
        row = self.rows[name]
        try:
            removed = await asyncio.to_thread(self.secrets.delete, name)
        except KeychainUnavailable as exc:
            self._result(row, str(exc), False)
            return
        self._result(row, "deleted" if removed else "was not in the keychain", removed)
        await self.api.reload_keys()
        await self.refresh()
        self.deleted.emit(name)

    @asyncSlot()
    async def on_test_clicked(self, name: str) -> None:
        await self.test_key(name)

    async def test_key(self, name: str) -> str:
        """Run the first provider using ``name`` once; returns its status."""
        row = self.rows[name]
        if not row.providers:
            return "skipped"
        pid = row.providers[0]
        row.test.setEnabled(False)
        self._result(row, f"running {pid}…", True)
        try:
            res = await self.api.collect_now(pid)
        finally:
            row.test.setEnabled(True)
        status = str(res.data.get("status", "failure"))
        if status == "needs_key":
            self._result(row, "save a key first", False)
            return status
        d = res.data
        self._result(row, f"works: {pid} answered with {d['records']} records in "
                     f"{d['ms']:.0f} ms" if res.ok
                     else f"{pid}: {explain(d.get('error_type'), d.get('error'))}", res.ok)
        row.result.setToolTip(str(d.get("error") or ""))
        self.tested.emit(pid, status)
        return status

    @staticmethod
    def _result(row: KeyRow, text: str, ok: bool) -> None:
        row.result.setText(f"<span style='color:{GREEN if ok else RED}'>{text}</span>")
        row.result.setVisible(bool(text))
