"""The lock (constraints.txt) against pyproject.toml, the PySide6 rule, and this venv.

These run on every Python CI tests (3.11, 3.12, 3.13): each proves its own venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
#: the Pythons CI runs, as marker environments of a Linux x86_64 CPython
PYTHONS = ("3.11.7", "3.12.1", "3.13.0")


def _env(full_version: str) -> dict[str, str]:
    return {"python_version": full_version.rsplit(".", 1)[0],
            "python_full_version": full_version, "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "extra": ""}


def locked(full_version: str) -> dict[str, Version]:
    """Name -> pinned version in constraints.txt for that Python on Linux."""
    pins: dict[str, Version] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(_env(full_version)):
            (spec,) = req.specifier
            assert spec.operator == "==", line
            name = canonicalize_name(req.name)
            assert name not in pins, f"{name} pinned twice for Python {full_version}"
            pins[name] = Version(spec.version)
    return pins


def declared() -> list[Requirement]:
    """The app's dependencies and those of the extras the lock covers (test, bundle)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in
            project["dependencies"] + extras["test"] + extras["bundle"]]


@pytest.mark.parametrize("python", PYTHONS)
def test_lock_pins_every_declared_dependency(python):
    """Every dependency of the app, test and bundle extras has a pin that satisfies pyproject."""
    pins = locked(python)
    for req in declared():
        if req.marker is not None and not req.marker.evaluate(_env(python)):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, (f"{req.name} is missing from constraints.txt for Python "
                              f"{python}: regenerate it (README, Development)")
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, pyproject asks {req}: regenerate it")


def test_lock_keeps_pyside6_611_on_python_311():
    """PySide6 6.12 corrupts None's refcount on 3.11: the lock pins 6.11.x there, newer on 3.12+."""
    on311 = locked("3.11.7")["pyside6-essentials"]
    assert Version("6.11") <= on311 < Version("6.12")
    assert locked("3.11.7")["shiboken6"] == on311
    for python in PYTHONS[1:]:
        assert locked(python)["pyside6-essentials"] >= on311


def test_this_venv_has_the_locked_versions():
    """The venv running the suite holds exactly the versions constraints.txt pins for it."""
    run = subprocess.run(["bash", str(ROOT / "scripts" / "build_bundle.sh"), "--check",
                          "--venv", sys.prefix], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "versions as in constraints.txt" in run.stdout


QT_PROBE = """
import sys
import PySide6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
obj = QObject()
before = sys.getrefcount(None)
for _ in range(20000):
    obj.setObjectName("probe")  # returns None: PySide6 6.12 on 3.11 loses a ref each call
print(PySide6.__version__, app.platformName(), sys.getrefcount(None) - before)
"""


def test_pyside6_starts_offscreen_and_keeps_none_alive():
    """The installed PySide6 is the locked one, starts a QApplication offscreen, frees no None."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-c", QT_PROBE], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr  # 134 'none_dealloc' with 6.12 on 3.11
    version, platform, drift = run.stdout.split()
    python = ".".join(map(str, sys.version_info[:3]))
    assert Version(version) == locked(python)["pyside6-essentials"]
    assert platform == "offscreen"
    assert abs(int(drift)) < 100, f"None lost {drift} references"
