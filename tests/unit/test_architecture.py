"""The package's layers (SPEC section 2) are checked by import-linter, as CI runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "cryptohub_desktop", tree / "cryptohub_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_package_keeps_its_layers(tmp_path):
    """lint-imports passes on the package as it is: every contract kept."""
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_view_importing_storage_breaks_the_build(tmp_path):
    """A deliberate `from cryptohub_desktop.storage import ...` in ui/ fails the check."""
    tree = _copy(tmp_path)
    view = tree / "cryptohub_desktop" / "ui" / "views" / "whales.py"
    view.write_text(view.read_text() + "\nfrom cryptohub_desktop.storage import queries  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "The UI and the server reach the hub only through api BROKEN" in result.stdout
    assert "cryptohub_desktop.ui.views.whales -> cryptohub_desktop.storage" in result.stdout


def test_a_core_module_importing_the_engine_breaks_the_build(tmp_path):
    """core/ imports nothing of ours: an engine import there breaks the layers contract."""
    tree = _copy(tmp_path)
    mod = tree / "cryptohub_desktop" / "core" / "consensus.py"
    mod.write_text(mod.read_text() + "\nfrom cryptohub_desktop.engine import bus  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "arrows run one way BROKEN" in result.stdout
