"""``cryptohub-desktop notify test [NAME]``: the real command against real receivers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SLOW
from tests.integration.receivers import WebhookReceiver

SECRET = "wh-0a1b2c3d4e5f60718293"


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def notify_cli(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m cryptohub_desktop notify test ARGS`` with ``config`` and HOOK_SECRET
    in the environment (keyring's fail backend: no real keychain)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "HOOK_SECRET": SECRET}
    return subprocess.run([sys.executable, "-m", "cryptohub_desktop", "notify", "test", *args,
                           "--config", str(cfg), "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=60 * SLOW)


def two_channels(hook: WebhookReceiver) -> str:
    return (f'[notify.channels.ops]\nurl = "{hook.url("/ops/{HOOK_SECRET}")}"\n'
            f'[notify.channels.broken]\nurl = "{hook.url("/fail")}"\n')


def test_reports_each_channel_and_fails_when_one_fails(tmp_path, hook):
    """Every channel gets a real test message; the table says delivered / failed with the
    masked URL; exit 1 because one failed."""
    run = notify_cli(tmp_path, two_channels(hook))
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    ops = next(line for line in lines if line.startswith("ops "))
    broken = next(line for line in lines if line.startswith("broken "))
    assert "delivered" in ops and "/ops/{HOOK_SECRET}" in ops
    assert "failed" in broken and "error=500" in broken
    assert "1/2 channels delivered" in run.stdout
    assert hook.at(f"/ops/{SECRET}")[0].body["title"] == "Crypto Hub: test message"
    assert len(hook.at("/fail")) == 1  # a test is one attempt, no retries
    logs = "".join(p.read_text() for p in (tmp_path / "data" / "logs").glob("*.log"))
    assert SECRET not in run.stdout + run.stderr + logs


def test_named_channel_only_and_exit_zero(tmp_path, hook):
    """`notify test ops` sends to ops alone and exits 0 when it is delivered."""
    run = notify_cli(tmp_path, two_channels(hook), "ops")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1/1 channels delivered" in run.stdout
    assert hook.at("/fail") == [] and len(hook.at("/ops/")) == 1


def test_unknown_channel_name_is_a_one_line_error(tmp_path, hook):
    """A NAME that is not configured: one line naming it and the channels, exit 1."""
    run = notify_cli(tmp_path, two_channels(hook), "pager")
    assert run.returncode == 1
    assert run.stderr.strip() == (f"cryptohub-desktop: error: no alert channel named 'pager' in "
                                  f"{tmp_path / 'config.toml'} (channels: ops, broken)")
    assert hook.hits == []


def test_no_channels_configured_is_a_one_line_error(tmp_path):
    """Without [notify.channels] the command says how to add one, exit 1."""
    run = notify_cli(tmp_path, "")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no alert channels configured" in run.stderr
