"""Run the real ``cryptohub-desktop`` command in a subprocess, isolated in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SLOW


def run_cli(tmp_path: Path, *args: str, config: str = "",
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m cryptohub_desktop ARGS`` with its config in ``tmp_path/config.toml``
    (and ``env`` added to the environment).

    The keychain is keyring's ``fail`` backend, so no real keychain is touched.
    """
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    full = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    full |= {"CRYPTOHUB_CONFIG": str(cfg), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
             "QT_QPA_PLATFORM": "offscreen"} | (env or {})
    return subprocess.run([sys.executable, "-m", "cryptohub_desktop", *args], env=full,
                          capture_output=True, text=True, timeout=60 * SLOW)


def quiet_config() -> str:
    """A config with every provider switched off: a `serve` that calls no upstream."""
    from cryptohub_desktop.collectors import PROVIDERS
    return "\n".join(f"[providers.{p.id}]\nenabled = false\n" for p in PROVIDERS)
