#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle dist/cryptohub-desktop/ and smoke-test it.
#
#   scripts/build_bundle.sh            build, check its contents, run --self-test offscreen
#   scripts/build_bundle.sh --tar      also pack dist/cryptohub-desktop-VERSION-linux-ARCH.tar.gz
#   scripts/build_bundle.sh --no-test  build only
#
# Needs the venv with the `bundle` extra (pip install -e '.[bundle]'); on a bare system the
# bundle itself needs libgl1 libegl1 libfontconfig1 (docs/OPERATIONS.md).
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if [[ -z "${VIRTUAL_ENV:-}" && -x .venv/bin/python ]]; then PY=.venv/bin/python; fi

TAR=0 TEST=1
for arg in "$@"; do
  case $arg in
    --tar) TAR=1 ;;
    --no-test) TEST=0 ;;
    *) echo "usage: $0 [--tar] [--no-test]" >&2; exit 2 ;;
  esac
done

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
