"""API keys: the OS keychain (keyring, service ``cryptohub-desktop``), env overrides.

An environment variable named like the entry (``ETHERSCAN_KEY_1=...``) wins over
the keychain. Without a usable keychain backend the app says so once and reads
keys from the environment only; it never writes a key to a plain file.

Keychain calls block for 10-20 ms: callers on an event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import os
import secrets as _random
from collections.abc import Iterable, Mapping

import keyring
import keyring.errors

SERVICE = "cryptohub-desktop"
TOKEN_NAME = "SERVER_TOKEN"
READ_TOKEN_NAME = "SERVER_READ_TOKEN"
#: the token a desktop attached to a team hub sends (SPEC section 15)
HUB_TOKEN = "CRYPTOHUB_HUB_TOKEN"
log = logging.getLogger("cryptohub.secrets")


class KeychainUnavailable(Exception):
    """No usable keychain backend; ``str(exc)`` says why."""


class Secrets:
    """Read and write keys.

    Args:
        env: environment to read overrides from (default ``os.environ``).
        backend: a keyring backend instance (tests); default: keyring's choice.
    """

    def __init__(self, env: Mapping[str, str] | None = None,
                 backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._env = os.environ if env is None else env
        self._backend = backend or keyring.get_keyring()
        self._cache: dict[str, str | None] = {}
        self._warned = False
        self._usable: bool | None = None
        self.seen: set[str] = set()  # every value read, for log masking

    @property
    def backend_name(self) -> str:
        b = self._backend
        return f"{type(b).__module__.split('.')[-1]}.{type(b).__name__}"

    def available(self) -> tuple[bool, str]:
        """Whether a keychain is usable, and a one-line explanation."""
        b = self._backend
        name = type(b).__module__ + "." + type(b).__name__
        if "fail" in name or getattr(b, "priority", 1) <= 0 and "chainer" not in name:
            return False, (f"no usable OS keychain ({self.backend_name}); "
                           "keys are read from environment variables only")
        try:
            b.get_password(SERVICE, "__probe__")
        except keyring.errors.KeyringError as exc:
            return False, f"keychain {self.backend_name} unusable: {exc}"
        except Exception as exc:  # D-Bus / Secret Service failures surface as many types
            return False, f"keychain {self.backend_name} unusable: {type(exc).__name__}: {exc}"
        return True, f"keychain {self.backend_name}"

    def get(self, name: str) -> str | None:
        """The key ``name``: environment first, then the keychain; None if absent."""
        value = self._env.get(name) or None
        if value is None:
            if name not in self._cache:
                self._cache[name] = self._keychain_get(name)
            value = self._cache[name]
        if value:
            self.seen.add(value)
        return value

    def forget(self) -> None:
        """Drop what was read from the keychain, so the next reads see changes."""
        self._cache.clear()

    def source(self, name: str) -> str | None:
        """"environment", "keychain" or None: where ``name`` comes from."""
        if self._env.get(name):
            return "environment"
        return "keychain" if self.get(name) else None

    def _keychain_get(self, name: str) -> str | None:
        if self._usable is None:
            self._usable, why = self.available()
            if not self._usable:
                self._warned = True
                log.warning("%s", why)
        if not self._usable:
            return None
        try:
            return self._backend.get_password(SERVICE, name)
        except Exception as exc:  # noqa: BLE001 - any backend failure means "no keychain"
            if not self._warned:
                self._warned = True
                log.warning("keychain unavailable (%s: %s); using environment variables only",
                            type(exc).__name__, exc)
            return None

    def set(self, name: str, value: str) -> None:
        """Store ``name`` in the keychain.

        Raises:
            KeychainUnavailable: no keychain; nothing was written anywhere.
        """
        ok, why = self.available()
        if not ok:
            raise KeychainUnavailable(why)
        try:
            self._backend.set_password(SERVICE, name, value)
        except Exception as exc:  # noqa: BLE001
            raise KeychainUnavailable(f"keychain refused to store {name}: {exc}") from exc
        self._cache[name] = value
        self.seen.add(value)

    def delete(self, name: str) -> bool:
        """Remove ``name`` from the keychain; False if it was not there."""
        try:
            self._backend.delete_password(SERVICE, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:  # noqa: BLE001
            raise KeychainUnavailable(f"keychain refused to delete {name}: {exc}") from exc
        finally:
            self._cache.pop(name, None)
        return True

    def keys_for(self, names: Iterable[str]) -> list[str]:
        """The values of the entries ``names`` that are set, in order, without duplicates
        (a provider's keys, primary first)."""
        out: list[str] = []
        for name in names:
            value = self.get(name)
            if value and value not in out:
                out.append(value)
        return out

    def server_token(self, create: bool = True, read_only: bool = False) -> str | None:
        """The local server's access token (``read_only``: the token that may only read);
        generated and stored on first use."""
        name = READ_TOKEN_NAME if read_only else TOKEN_NAME
        token = self.get(name)
        if token or not create:
            return token
        token = _random.token_urlsafe(24)
        try:
            self.set(name, token)
        except KeychainUnavailable as exc:
            log.warning("%s kept in memory only for this run (set it in the environment to "
                        "keep it): %s", name, exc)
            self._cache[name] = token
        self.seen.add(token)
        return token


def parse_env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines of a .env file (comments, ``export`` and quotes allowed)."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[7:].strip()
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if name.strip() and value:
            out[name.strip()] = value
    return out
