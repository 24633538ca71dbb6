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
