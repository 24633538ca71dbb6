"""The Hub section of Settings: the team hub this desktop attaches to (``[hub] url`` and
``ca_file`` in the config file) and its token, kept in the keychain entry
``CRYPTOHUB_HUB_TOKEN`` (never in the file). Attached to a hub, saving reconnects at
once with what was saved; otherwise it applies at the next start.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from PySide6.QtWidgets import QFormLayout, QLineEdit, QVBoxLayout, QWidget

from cryptohub_desktop.api.protocol import HubApi, RemoteHub
from cryptohub_desktop.config import Config
from cryptohub_desktop.core.errors import UserError
from cryptohub_desktop.secrets import HUB_TOKEN, Secrets
from cryptohub_desktop.ui.views.base import muted


class HubPanel(QWidget):
    """URL, CA file and token of the team hub.

    Args:
        api: the hub in use (a remote one reconnects on save).
        secrets: the keychain (the token goes there).
        cfg: the running configuration (the URL and CA file shown).
    """

    def __init__(self, api: HubApi, secrets: Secrets, cfg: Config,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.secrets = secrets
        self.url = QLineEdit(cfg.hub_url)
        self.url.setPlaceholderText("https://hub.example.org (empty: collect on this computer)")
        self.ca_file = QLineEdit(cfg.hub_ca_file)
        self.ca_file.setPlaceholderText("optional: a CA file to trust for a self-signed hub")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("unchanged")
        self.note = muted("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.addRow("Hub URL", self.url)
        form.addRow("CA file", self.ca_file)
        form.addRow("Token", self.token)
        lay.addLayout(form)
        lay.addWidget(self.note)  # beside the form, not in it: a wrapped row gets too tall

    async def refresh(self) -> None:
        where = await asyncio.to_thread(self.secrets.source, HUB_TOKEN)
        self.token.setPlaceholderText("unchanged" if where else "paste the hub's token")
        self.note.setText(
            {"environment": "The token comes from the CRYPTOHUB_HUB_TOKEN environment "
                            "variable, which wins over the keychain.",
             "keychain": "A token is stored in the keychain (CRYPTOHUB_HUB_TOKEN); type a "
                         "new one to replace it."}.get(
                where or "", "No token stored: enter the one the hub's admin gave you "
                             "(kept in the keychain, never in the config file).")
            + (" Saving reconnects at once." if self.api.mode == "remote"
               else " A hub URL applies at the next start."))

    def changes(self, cfg: Config) -> dict[str, dict[str, Any]]:
        """The ``[hub]`` section to write, when it differs from the running one."""
        url, ca = self.url.text().strip(), self.ca_file.text().strip()
        if (url, ca) == (cfg.hub_url, cfg.hub_ca_file):
            return {}
        return {"hub": {"url": url, "ca_file": ca}}

    def new_token(self) -> str:
        return self.token.text().strip()

    async def store_token(self) -> None:
        """Put a typed token in the keychain (off the UI thread).

        Raises:
            KeychainUnavailable: no keychain; nothing was written anywhere.
        """
        token = self.new_token()
        if token:
            await asyncio.to_thread(self.secrets.set, HUB_TOKEN, token)
            self.token.clear()

    async def apply(self, cfg: Config, token_changed: bool) -> str:
        """Reconnect a remote hub with the saved URL, CA file and token; one line saying
        what happened ("" when nothing changed)."""
        if self.api.mode != "remote":
            return ""
        api = cast(RemoteHub, self.api)
        if not token_changed and (cfg.hub_url.rstrip("/"), cfg.hub_ca_file) == (
                api.url, api.ca_file):
            return ""
        if not cfg.hub_url:
            return "Collecting on this computer again takes a restart."
        token = await asyncio.to_thread(self.secrets.get, HUB_TOKEN)
        try:
            await api.reconnect(cfg.hub_url, token, cfg.hub_ca_file or None)
        except UserError as exc:
            return str(exc)
        return f"Reconnecting to {api.url}…"

