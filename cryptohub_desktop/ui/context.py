"""What every view gets through its constructor: the hub (as HubApi) and the UI services."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.ui.alert_rules import AlertRules
from cryptohub_desktop.ui.bridge import HubBridge
from cryptohub_desktop.ui.server_ctl import ServerControl
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import Theme


@dataclass
class UiContext:
    """Collaborators shared by the window and its views.

    Attributes:
        api: the hub (started or starting), local or remote.
        secrets: this machine's keychain (keys, the server token).
        bridge: the hub's bus as Qt signals.
        theme: the active theme.
        state: QSettings-backed UI state.
        rules: alert rules.
        server: the local server's controller (None: no server in this run).
    """

    api: HubApi
    secrets: Secrets
    bridge: HubBridge
    theme: Theme
    state: UiState
    rules: AlertRules
    server: ServerControl | None = None
    extra: dict[str, object] = field(default_factory=dict)
