"""The desktop attached to a team hub, as the window shows it (SPEC section 15): the
status-bar words for the connection, the one-line banner when something is wrong, and
whether this run may act (enable, collect now, acknowledge ...) and why not.

A local run (the engine in this process) is always allowed to act and shows none of
this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from cryptohub_desktop.api.protocol import HubApi, RemoteHub
from cryptohub_desktop.ui.theme import AMBER, GREEN, RED, Theme

#: connection state (its first word) -> what the status bar says
WORDS = {"connecting": "connecting", "connected": "connected", "reconnecting": "reconnecting",
         "auth": "auth failed", "unreachable": "unreachable",
         "incompatible": "incompatible version"}
COLORS = {"connected": GREEN, "connecting": AMBER, "reconnecting": AMBER}
#: shown beside settings that belong to the hub, not to this computer
HUB_OWNS = ("Attached to a team hub: collection, keys and the server are the hub's and are "
            "changed there. Only the window's own settings and the Hub section apply here.")


def remote(api: HubApi) -> bool:
    return api.mode == "remote"


def connected(api: HubApi) -> bool:
    """Values read now are current: a local engine, or a remote hub connected."""
    return api.state in ("local", "connected")


def status_text(api: HubApi) -> str:
    """"hub: connected", "hub: reconnecting (3)", "hub: auth failed" ... (rich text)."""
    first = api.state.split(" ", 1)[0]
    words = WORDS.get(first, api.state)
    if first == "reconnecting":
        words = api.state
    color = COLORS.get(first, RED)
    return f"hub: <span style='color:{color}'>{words}</span>"


def banner_text(api: HubApi) -> str:
    """One line saying what is wrong with the hub connection, or "" when nothing is."""
    state, detail = api.state, api.detail
    url = cast(RemoteHub, api).url if remote(api) else "the hub"
    if state in ("local", "connected", "connecting"):
        return ""
    if state == "auth failed":
        return (f"<b>The hub refused this desktop's token</b> ({detail}). Enter the right "
                "token in Settings → Hub.")
    if state == "unreachable":
        return (f"<b>The hub at {url} cannot be reached</b> ({detail}). Check the URL in "
                "Settings → Hub; retrying by itself.")
    if state == "incompatible":
        return (f"<b>The hub speaks another version</b>: {detail}. Update the desktop or "
                "the hub.")
    return (f"<b>The hub connection dropped</b> ({detail}); {state}. Values shown are the "
            "last known and marked stale until it is back.")


def may_act(api: HubApi) -> tuple[bool, str]:
    """Whether the actions the UI offers may be used now, and if not, why (a tooltip)."""
    if not remote(api):
        return True, ""
    if not connected(api):
        return False, f"Not connected to the hub ({api.state})."
    if not api.can_act:
        return False, api.read_only_reason or "This token may only read."
    return True, ""


def gate(api: HubApi, widgets: Iterable[QWidget | QAction],
         tips: dict[QWidget | QAction, str] | None = None) -> bool:
    """Enable ``widgets`` when the UI may act, else disable them with the reason as their
    tooltip (``tips``: their tooltips when enabled). Returns whether it may act."""
    ok, why = may_act(api)
    for w in widgets:
        if not ok:
            w.setEnabled(False)
            w.setToolTip(why)
        elif tips is not None and w in tips:
            w.setToolTip(tips[w])
    return ok


class HubBanner(QFrame):
    """One line above every page when the hub connection is not right."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        theme.style(self, "banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        lay.addWidget(self.label, 1)
        self.hide()

    def show_state(self, api: HubApi) -> None:
        text = banner_text(api)
        self.label.setText(text)
        self.setVisible(bool(text))
