"""Writing Settings back to the TOML config file (tomlkit), validated first.

Only the values the user changed are merged into the file as it is on disk
(command-line overrides are not written). tomlkit edits the document in place, so the
user's comments, blank lines, key order and formatting survive a save; only the
changed values differ. The result is validated with the same parser the app starts
with, so a bad value never reaches the file, and the file is replaced atomically.
Keys are never written: they go to the keychain, and a value equal to a known key is
refused here as a last guard.

The theme is written as ``[ui] theme``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from cryptohub_desktop.config import Config, parse_config
from cryptohub_desktop.core.errors import ConfigError
from cryptohub_desktop.ui.state import UiState
from cryptohub_desktop.ui.theme import MODES


def load_raw(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc


def read_theme(cfg: Config, state: UiState) -> str:
    """The theme: ``[ui] theme`` in the config file if there, else the UI state."""
    try:
        raw = load_raw(cfg.path)
    except ConfigError:
        raw = {}
    ui = raw.get("ui")
    theme = ui.get("theme") if isinstance(ui, dict) else None
    return theme if theme in MODES else state.theme if state.theme in MODES else "system"


def load_document(path: Path) -> TOMLDocument:
    """The config file as an editable document (comments and layout kept)."""
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, TOMLKitError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc


def _set(table: Any, key: str, value: Any) -> None:
    """Set ``table[key]`` only when it differs (an unchanged value keeps its formatting)."""
    if key in table and table[key] == value:
        return
    table[key] = value


def _table(parent: Any, name: str) -> Any:
    if name not in parent:
        parent[name] = tomlkit.table()
    return parent[name]


def _walk(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, str):
        yield value


def save_settings(cfg: Config, changes: dict[str, dict[str, Any]], *,
                  forbidden: Iterable[str] = (),
                  known_providers: set[str] | None = None) -> tuple[Config, bool]:
    """Merge ``changes`` ({section: {key: value}}) into the config file.

    Args:
        cfg: the running configuration (its ``path`` is written).
        changes: e.g. ``{"schedule": {"news": "every_5_min"}, "ui": {"theme": "dark"}}``;
            ``{"providers": {"coingecko": {"interval": ...}}}`` merges per provider.
        forbidden: secret values that must never be written (keys in use).

    Returns:
        (the configuration as now written, whether ``[ui]`` went into the file).

    Raises:
        ConfigError: a value is invalid or the file cannot be written; the file
            is left as it was.
    """
    doc = load_document(cfg.path)
    fresh = not cfg.path.exists() or not doc.body
    for section, values in changes.items():
        if section == "providers":
            provs = _table(doc, "providers")
            for pid, table in values.items():
                target = _table(provs, pid)
                for key, value in table.items():
                    _set(target, key, value)
        else:
            target = _table(doc, section)
            for key, value in values.items():
                _set(target, key, value)
    raw = doc.unwrap()
    secrets = {s for s in forbidden if s and len(s) >= 6}
    if secrets & set(_walk(raw)):
        raise ConfigError("refusing to write an API key into the config file; "
                          "keys belong in the keychain")
    ui_in_file = "ui" in raw
    new = parse_config(raw, cfg.path, data_dir=cfg.data_dir, known_providers=known_providers)
    text = tomlkit.dumps(doc)
    if fresh:
        text = ("# Crypto Hub Desktop settings (written by the app; keys are in the "
                "OS keychain, never here)\n") + text
    try:
        cfg.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cfg.path.with_name(cfg.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cfg.path)
    except OSError as exc:
        raise ConfigError(f"{cfg.path}: cannot write the config file: {exc}") from exc
    return new, ui_in_file
