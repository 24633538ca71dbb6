"""Generated documentation stays in step with the code."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_providers_doc_is_current():
    """docs/PROVIDERS.md matches the catalogue (regenerate with scripts/gen_providers_doc.py)."""
    run = subprocess.run([sys.executable, "scripts/gen_providers_doc.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_every_subpackage_is_packaged():
    """pyproject lists every package folder, so a wheel or bundle misses no module."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "cryptohub_desktop").rglob("__init__.py")}
    assert found <= listed
