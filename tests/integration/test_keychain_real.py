"""Keys through a real Secret Service keychain (gnome-keyring on a private D-Bus)."""

import os
import shutil
import subprocess
import sys
import textwrap

from tests.conftest import SLOW

SNIPPET = textwrap.dedent("""
    import sqlite3, sys
    from cryptohub_desktop.secrets import Secrets
    s = Secrets(env={})
    ok, why = s.available()
    print("AVAILABLE", ok, why)
    s.set("ETHERSCAN_KEY_1", "REALKEYCHAIN-abcdef123456")
    print("GOT", Secrets(env={}).get("ETHERSCAN_KEY_1"))
    print("DELETED", s.delete("ETHERSCAN_KEY_1"), Secrets(env={}).get("ETHERSCAN_KEY_1"))
""")


def test_key_round_trip_through_gnome_keyring(tmp_path):
    """A key saved with `keys set` semantics is stored in and read back from the OS keychain."""
    assert shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon"), \
        "install dbus and gnome-keyring (scripts/bootstrap does)"
    script = tmp_path / "probe.py"
    script.write_text(SNIPPET)
    shell = (f"echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
             f"{sys.executable} {script}")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": ""}
    env.pop("PYTHON_KEYRING_BACKEND")
    run = subprocess.run(["dbus-run-session", "--", "sh", "-c", shell], capture_output=True,
                         text=True, env=env, timeout=60 * SLOW)
    assert run.returncode == 0, run.stderr
    assert "AVAILABLE True keychain SecretService.Keyring" in run.stdout
    assert "GOT REALKEYCHAIN-abcdef123456" in run.stdout
    assert "DELETED True None" in run.stdout


def test_keys_commands_use_the_keychain_and_show_masked_values(tmp_path):
    """`keys set/list/delete` store in the keychain, list shows the key masked only."""
    cli = f"{sys.executable} -m cryptohub_desktop"
    shell = (f"echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
             f"{cli} keys set etherscan --value SECRETVALUE-1234567890 && "
             f"{cli} keys list && {cli} keys delete ETHERSCAN_KEY_1 && {cli} keys list")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path),
           "CRYPTOHUB_CONFIG": str(tmp_path / "none.toml")}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env.pop("ETHERSCAN_KEY_1", None)
    run = subprocess.run(["dbus-run-session", "--", "sh", "-c", shell], capture_output=True,
                         text=True, env=env, timeout=60 * SLOW)
    assert run.returncode == 0, run.stderr
    assert "SECRETVALUE-1234567890" not in run.stdout + run.stderr
    assert "ETHERSCAN_KEY_1 saved in the keychain (SECR…7890)" in run.stdout
    lists = run.stdout.split("ETHERSCAN_KEY_1 deleted")
    assert "SECR…7890  keychain" in lists[0]
    assert "SECR…7890" not in lists[1]
