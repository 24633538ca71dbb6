"""README's commands own their venv: an active virtualenv in the shell is not used.

Cheap paths only (`--check`, `--which`, a Python that does not exist): nothing is built or
installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def other_venv(tmp_path: Path) -> dict[str, str]:
    """The environment of a shell with another virtualenv active (one without PyInstaller)."""
    venv = tmp_path / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    lacks = subprocess.run([str(venv / "bin" / "python"), "-c", "import PyInstaller"],
                           capture_output=True, timeout=60)
    assert lacks.returncode != 0  # the python the old build_bundle.sh would have taken
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "CI")}
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    return env


def test_build_bundle_uses_the_project_venv_not_the_active_one(other_venv):
    """build_bundle.sh builds from .venv even when another virtualenv is active."""
    project_python = ROOT / ".venv" / "bin" / "python"
    if not project_python.exists():
        pytest.skip("no .venv here: scripts/bootstrap --test makes it")
    run = subprocess.run(["scripts/build_bundle.sh", "--check"], cwd=ROOT, env=other_venv,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"python: {project_python} " in run.stdout
    assert other_venv["VIRTUAL_ENV"] not in run.stdout + run.stderr


def test_build_bundle_names_the_fix_when_its_venv_lacks_pyinstaller(other_venv):
    """A build venv without PyInstaller is one clear line naming scripts/bootstrap."""
    venv = other_venv["VIRTUAL_ENV"]
    run = subprocess.run(["scripts/build_bundle.sh", "--check", "--venv", venv], cwd=ROOT,
                         env=other_venv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip() == (f"{venv}/bin/python lacks PyInstaller (and packaging): "
                                  "run scripts/bootstrap --bundle")


def test_bootstrap_ignores_the_active_virtualenv(other_venv):
    """scripts/bootstrap picks its own interpreter and .venv, not the active virtualenv's."""
    run = subprocess.run(["scripts/bootstrap", "--which"], cwd=ROOT, env=other_venv,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    python = run.stdout.splitlines()[0]
    assert python.startswith("python: ") and other_venv["VIRTUAL_ENV"] not in python
    assert run.stdout.splitlines()[1] == "venv: .venv"


def test_bootstrap_finds_each_python_by_version():
    """--python X.Y takes that CPython and the folder .venv-X.Y."""
    v = "{}.{}".format(*sys.version_info[:2])
    run = subprocess.run(["scripts/bootstrap", "--which", "--python", v], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert f"(Python {v})" in run.stdout and f"venv: .venv-{v}" in run.stdout


@pytest.mark.parametrize(("ci", "code", "word"), [("", 0, "SKIPPED"), ("true", 1, "FAILED")])
def test_a_missing_python_is_skipped_outside_ci_and_fails_in_ci(tmp_path, ci, code, word):
    """scripts/test --python X.Y without that Python: a skip with a message, a failure in CI."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PYENV_ROOT": str(tmp_path / "no-pyenv"), "CI": ci}
    run = subprocess.run(["scripts/test", "--python", "3.99"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == code, run.stdout + run.stderr
    assert f"{word}: " in run.stderr and "3.99" in run.stderr
    assert not (ROOT / ".venv-3.99").exists()
