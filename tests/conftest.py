"""Shared fixtures: the replay upstream, temporary data folders, a hub on real SQLite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from cryptohub_desktop.config import Config, load_config
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.providers.spec import Provider
from cryptohub_desktop.secrets import Secrets
from tests.memkeyring import MemoryKeyring
from tests.replay import ReplayServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
#: multiply waits by this on slow machines (CRYPTOHUB_TEST_SLOW=3)
SLOW = float(os.environ.get("CRYPTOHUB_TEST_SLOW", "1"))


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def config_for(tmp_path: Path, replay: ReplayServer | None, provider_ids: Sequence[str],
               extra: str = "", watchlist: Sequence[str] = ("BTC", "ETH", "BNB", "SOL", "XRP"),
               options: dict[str, str] | None = None) -> Config:
    """A config whose providers point at the replay server (mounting their fixtures).

    Args:
        extra: TOML put first (top-level tables other than [providers.*]).
        options: provider id -> extra TOML lines for its [providers.ID] table.
    """
    if "[consensus]" not in extra:  # recorded answers are old: count them as fresh
        extra += "\n[consensus]\nmax_age_seconds = 2000000000\n"
    lines = [extra, "[watchlist]", f"symbols = {list(watchlist)!r}".replace("'", '"'), ""]
    for pid in provider_ids:
        table = [(options or {}).get(pid, "")]
        if replay is not None:
            table.insert(0, f'base_url = "{replay.mount(pid)}"')
        lines += [f"[providers.{pid}]", *table, ""]
    path = write_config(tmp_path, "\n".join(lines))
    return load_config(path, data_dir=tmp_path / "data")


@pytest.fixture
def secrets() -> Secrets:
    return Secrets(env={}, backend=MemoryKeyring())


@pytest.fixture
async def make_hub(tmp_path: Path, replay: ReplayServer,
                   secrets: Secrets) -> AsyncIterator[Callable[..., Any]]:
    """``await make_hub([providers], extra_toml="", keys={})`` -> a started hub (no schedule)."""
    hubs: list[Hub] = []

    async def factory(providers: Sequence[Provider], extra: str = "",
                      keys: dict[str, str] | None = None, schedule: bool = False,
                      mount: bool = True, clock: Callable[[], float] | None = None,
                      options: dict[str, str] | None = None) -> Hub:
        for k, v in (keys or {}).items():
            secrets.set(k, v)
        cfg = config_for(tmp_path, replay if mount else None, [p.id for p in providers], extra,
                         options=options)
        kwargs = {"clock": clock} if clock else {}
        hub = Hub(cfg, providers, secrets, **kwargs)
        hub.request_timeout = 2.0 * SLOW
        await hub.start(schedule=schedule)
        hubs.append(hub)
        return hub

    yield factory
    for hub in hubs:
        await hub.settle()
        await hub.stop()
