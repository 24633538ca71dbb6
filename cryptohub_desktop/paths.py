"""Where things live: data folder (database, backups, logs) and config file."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "cryptohub-desktop"
DB_FILE = "api_monitor.db"


def default_data_dir() -> Path:
    env = os.environ.get("CRYPTOHUB_DATA_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP, appauthor=False))


def default_config_file() -> Path:
    env = os.environ.get("CRYPTOHUB_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def ensure_layout(data_dir: Path) -> None:
    """Create the data folder with ``backups/`` and ``logs/``."""
    for sub in ("", "backups", "logs"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
