"""The catalogue as this engine runs it: which providers are enabled, which have their
keys, how often each runs and where its API lives (config overrides applied)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptohub_desktop.config import Config
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.secrets import Secrets


class Catalogue:
    """Providers by id with their run-time state.

    Args:
        config: the configuration (``[providers.ID]`` overrides, schedule).
        providers: the catalogue (``collectors.PROVIDERS``).

    Attributes:
        providers: provider id -> provider, in catalogue order.
        enabled: provider id -> enabled now (config, then the stored toggle).
        keys: provider id -> its keys, primary first (only providers with key names).
    """

    def __init__(self, config: Config, providers: Sequence[Provider]) -> None:
        self.config = config
        self.providers = {p.id: p for p in providers}
        self.enabled: dict[str, bool] = {}
        self.keys: dict[str, list[str]] = {}

    def __contains__(self, pid: object) -> bool:
        return pid in self.providers

    def __getitem__(self, pid: str) -> Provider:
        return self.providers[pid]

    def resolve_keys(self, secrets: Secrets) -> None:
        """Read every provider's keys (blocking: keychain calls)."""
        self.keys = {pid: secrets.keys_for(p.spec.auth.key_names)
                     for pid, p in self.providers.items() if p.spec.auth.key_names}

    def config_enabled(self, pid: str, default: bool) -> bool:
        """``[providers.ID] enabled`` when the config says, else ``default``."""
        explicit = self.config.provider(pid).enabled
        return default if explicit is None else explicit

    def interval(self, pid: str) -> tuple[str, int]:
        """The provider's interval: its name ("every_1_min") and seconds."""
        spec = self.providers[pid].spec
        name = (self.config.provider(pid).interval or spec.interval
                or self.config.schedule[spec.category])
        return name, self.config.interval_seconds(pid, spec.category, spec.interval)

    def key_state(self, pid: str) -> str:
        """"not_needed", "present" or "missing"."""
        auth = self.providers[pid].spec.auth
        if not auth.key_names:
            return "not_needed"
        return "present" if self.keys.get(pid) else ("not_needed" if auth.optional else "missing")

    def is_active(self, pid: str) -> bool:
        """Enabled and not waiting for a key."""
        return self.enabled.get(pid, True) and self.key_state(pid) != "missing"

    def idle_status(self, pid: str) -> str:
        """The status of a provider that has not run: disabled, needs_key or unknown."""
        if not self.enabled.get(pid, True):
            return "disabled"
        if self.key_state(pid) == "missing":
            return "needs_key"
        return "unknown"

    def with_history(self, ids: Sequence[str] | None = None) -> list[Provider]:
        """The active providers (of ``ids``, default all) that can fetch candles."""
        return [p for pid, p in self.providers.items()
                if (ids is None or pid in ids) and p.history is not None and self.is_active(pid)]

    def base_url(self, pid: str) -> str:
        return self.config.provider(pid).base_url or self.providers[pid].spec.base_url
