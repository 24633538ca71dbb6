"""The base of every view: a widget with a coalesced async refresh."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cryptohub_desktop.ui.coalesce import INTERVAL_MS, Coalescer
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.hub_state import connected
from cryptohub_desktop.ui.theme import set_role


class View(QWidget):
    """A page of the main window.

    Subclasses set :attr:`key`, :attr:`title`, :attr:`topics` (bus topics that make
    the page stale; :meth:`wants` when some events of another topic do too) and implement :meth:`refresh` (read snapshots, update models), and
    :meth:`apply_access` when they offer actions or show values a lost hub makes stale.

    Args:
        ctx: the hub (as HubApi) and UI services.

    Signals:
        status_message(str): one line for the window's status bar.
    """

    status_message = Signal(str)
    key = ""
    title = ""
    topics: tuple[str, ...] = ()
    #: the coalescing window of the page's refreshes (milliseconds)
    refresh_ms = INTERVAL_MS

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.api = ctx.api
        self.coalescer = Coalescer(self._guarded_refresh, active=self.isVisible,
                                   interval_ms=self.refresh_ms, parent=self)

    async def _guarded_refresh(self) -> None:
        if not self.api.ready or not connected(self.api):  # not started, stopping, hub lost
            return
        await self.refresh()

    def apply_access(self) -> None:
        """The hub connection or this token's rights changed (``HubApi.state``,
        ``can_act``): enable or disable the page's actions, mark what is no longer live."""

    async def refresh(self) -> None:
        """Read what the page shows and update its models in place."""

    def wants(self, topic: str, data: dict[str, Any]) -> bool:
        """Whether this event makes the page stale (by default: one of its topics)."""
        return topic in self.topics

    def poke(self) -> None:
        self.coalescer.poke()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)  # type: ignore[arg-type]
        self.coalescer.activate()


def heading(text: str) -> QLabel:
    label = QLabel(text)
    set_role(label, "title")
    return label


def muted(text: str = "") -> QLabel:
    label = QLabel(text)
    set_role(label, "muted")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Card(QFrame):
    """A titled panel; :attr:`header` holds the title and any buttons beside it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(10, 8, 10, 10)
        self.body.setSpacing(6)
        self.title = QLabel(title)
        f = QFont(self.title.font())
        f.setBold(True)
        self.title.setFont(f)
        self.header = QHBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.addWidget(self.title)
        self.header.addStretch(1)
        self.body.addLayout(self.header)
