#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle dist/cryptohub-desktop/ and smoke-test it.
#
#   scripts/build_bundle.sh            build, check its contents, run --self-test offscreen
#   scripts/build_bundle.sh --tar      also pack dist/cryptohub-desktop-VERSION-linux-ARCH.tar.gz
#   scripts/build_bundle.sh --no-test  build only
#   scripts/build_bundle.sh --check    only check the build venv (interpreter, PyInstaller,
#                                      versions against constraints.txt); build nothing
#   ... --venv DIR                     build from DIR (default .venv)
#
# Builds from the project's own venv (made by scripts/bootstrap --bundle or --test, at the
# versions of constraints.txt), never from a virtualenv active in the shell; refuses to
# build when an installed version differs from the lock, so a bundle is always rebuilt from
# the same versions. On a bare system the bundle itself needs libgl1 libegl1 libfontconfig1
# (docs/OPERATIONS.md).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv TAR=0 TEST=1 CHECK=0
while (( $# )); do
  case $1 in
    --tar) TAR=1 ;;
    --no-test) TEST=0 ;;
    --check) CHECK=1 ;;
    --venv) VENV=${2:?--venv needs a folder}; shift ;;
    *) echo "usage: $0 [--tar] [--no-test] [--check] [--venv DIR]" >&2; exit 2 ;;
  esac
  shift
done

PY=$VENV/bin/python
if [[ ! -x "$PY" ]]; then
  echo "no $PY: run scripts/bootstrap --bundle first" >&2; exit 1
fi
# the venv against the lock: every installed package that constraints.txt pins (for this
# Python and platform) must be at the pinned version; PyInstaller must be there
"$PY" - constraints.txt <<'PYEOF'
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:
    sys.exit(f"{sys.executable} lacks PyInstaller (and packaging): run scripts/bootstrap --bundle")
try:
    pyinstaller = metadata.version("pyinstaller")
except metadata.PackageNotFoundError:
    sys.exit(f"{sys.executable} lacks PyInstaller: run scripts/bootstrap --bundle")
installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
wrong = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    have = installed.get(canonicalize_name(req.name))
    if have is not None and not req.specifier.contains(have, prereleases=True):
        wrong.append(f"{req.name} {have} (lock: {req.specifier})")
if wrong:
    sys.exit("the build venv differs from constraints.txt: " + ", ".join(wrong)
             + "; run scripts/bootstrap --bundle")
print(f"python: {sys.executable} (Python {sys.version.split()[0]}), PyInstaller {pyinstaller}, "
      "versions as in constraints.txt")
PYEOF
(( CHECK )) && exit 0

[[ -f resources/icon.png ]] || QT_QPA_PLATFORM=offscreen "$PY" scripts/make_icon.py

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller build.spec
secs=$(( $(date +%s) - start ))
BUNDLE=dist/cryptohub-desktop

# contents: no host GTK stack, no secrets, the resources where importlib.resources looks
if find "$BUNDLE" -name 'libgtk-3*' -o -name 'libqgtk3*' | grep -q .; then
  echo "bundle contains GTK libraries (the gtk3 theme plugin was not excluded)" >&2; exit 1
fi
if find "$BUNDLE" \( -name '.env' -o -name '*.env' -o -name 'config.toml' \
     -o -name 'api_monitor.db' \) | grep -q .; then
  echo "bundle contains a config, .env or database file" >&2; exit 1
fi
for f in symbols.json crypto_lexicon.json icon.png cryptohub-desktop.desktop; do
  [[ -f "$BUNDLE/_internal/cryptohub_desktop/resources/$f" ]] || {
    echo "bundle lacks resources/$f" >&2; exit 1; }
done

echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1)), built in ${secs}s"

if (( TEST )); then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  env -u SSL_CERT_FILE QT_QPA_PLATFORM=offscreen CRYPTOHUB_DATA_DIR="$tmp/data" \
    CRYPTOHUB_CONFIG="$tmp/config.toml" "$BUNDLE/cryptohub-desktop" --self-test
  # what --self-test does not load: Qt offscreen + pyqtgraph + qasync, APScheduler, VADER
  env -u SSL_CERT_FILE QT_QPA_PLATFORM=offscreen CRYPTOHUB_BUNDLE_SMOKE=1 \
    "$BUNDLE/cryptohub-desktop"
  "$BUNDLE/cryptohub-desktop" --version
fi

if (( TAR )); then
  version=$("$PY" -c 'import cryptohub_desktop as c; print(c.__version__)')
  out="dist/cryptohub-desktop-$version-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$out" cryptohub-desktop
  echo "archive: $out ($(du -sh "$out" | cut -f1))"
fi
