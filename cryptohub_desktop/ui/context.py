"""What every view gets through its constructor: the hub and the UI services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.bridge import HubBridge
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import Theme

if TYPE_CHECKING:
    from cryptohub_desktop.ui.server_ctl import ServerControl


@dataclass
class UiContext:
    """Collaborators shared by the window and its views.

    Attributes:
        hub: the engine (started or starting).
        bridge: the hub's bus as Qt signals.
        theme: the active theme.
        state: QSettings-backed UI state.
        rules: alert rules.
        server: the local server's controller (None: no server in this run).
    """

    hub: Hub
    bridge: HubBridge
    theme: Theme
    state: UiState
    rules: AlertRules
    server: ServerControl | None = None
    extra: dict[str, object] = field(default_factory=dict)
