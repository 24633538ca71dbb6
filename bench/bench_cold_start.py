"""Cold start: from launching ``cryptohub-desktop gui`` to the first painted window.

Each run starts a fresh process (``python -m cryptohub_desktop gui --no-server``) on an
empty data folder with no config file and no keys, offscreen. The app prints
``first-paint <unix time>`` when the main window has painted (``CRYPTOHUB_UI_EXIT_AFTER_PAINT``)
and quits; the time counted is from just before the process is spawned to that stamp.

    python bench/bench_cold_start.py [--runs 7]

Target (SPEC section 12): <= 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(tmp: Path) -> tuple[float, float]:
    """(seconds to first paint, seconds until the process exited)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CRYPTOHUB_DATA_DIR=str(tmp / "data"),
               CRYPTOHUB_CONFIG=str(tmp / "absent.toml"), CRYPTOHUB_UI_EXIT_AFTER_PAINT="1",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               XDG_CONFIG_HOME=str(tmp / "xdg"))
    start = time.time()
    out = subprocess.run([sys.executable, "-m", "cryptohub_desktop", "gui", "--no-server"],
                         env=env, capture_output=True, text=True, timeout=120)
    ended = time.time()
    if out.returncode != 0:
        raise SystemExit(f"gui exited {out.returncode}: {out.stderr[-1500:]}")
    stamp = next(float(line.split()[1]) for line in out.stdout.splitlines()
                 if line.startswith("first-paint "))
    return stamp - start, ended - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    paints, exits = [], []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            paint, ended = one_run(Path(d))
        paints.append(paint)
        exits.append(ended)
        print(f"run {i + 1}: first paint {paint:.3f} s, process ended {ended:.3f} s",
              file=sys.stderr)
    print(json.dumps({
        "runs": args.runs, "first_paint_s": {
            "first_run": round(paints[0], 3), "median": round(statistics.median(paints), 3),
            "min": round(min(paints), 3), "max": round(max(paints), 3)},
        "process_total_median_s": round(statistics.median(exits), 3)}, indent=2))


if __name__ == "__main__":
    main()
