"""UI tests run on a qasync loop (only here), so QTimers fire and async tests and Qt
share one event loop. Wait for signals through futures, never qtbot's nested waits."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import qasync  # PySide6 is already loaded by pytest-qt (qt_api = pyside6)
import shiboken6
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QApplication

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.api.remote import RemoteApi
from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.commands import serving
from cryptohub_desktop.config import load_config
from cryptohub_desktop.engine.hub import Hub
from cryptohub_desktop.providers.spec import key_names
from cryptohub_desktop.secrets import HUB_TOKEN, Secrets
from cryptohub_desktop.ui.app import build, make_app
from cryptohub_desktop.ui.context import UiContext
from cryptohub_desktop.ui.mainwindow import MainWindow
from cryptohub_desktop.ui.state import UiState
from tests.conftest import SLOW
from tests.memkeyring import MemoryKeyring
from tests.replay import ReplayServer, providers_with_fixtures
from tests.ui.serve_hub import ServeHub


def pytest_asyncio_loop_factories(config: Any, item: Any) -> dict[str, Any]:
    return {"qasync": lambda: qasync.QEventLoop(QApplication.instance() or make_app())}


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Async UI tests end by waiting for the tasks they started (asyncSlots, refreshes):
    pytest-qt processes Qt events right after each test, when no asyncio loop runs, and a
    task resumed there fails with "no running event loop"."""
    here = Path(__file__).parent
    for item in items:
        fn = getattr(item, "obj", None)
        if inspect.iscoroutinefunction(fn) and here in Path(str(item.fspath)).parents:
            item.obj = _draining(fn)


def _draining(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        finally:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=5 * SLOW)
    return wrapper


@dataclass
class Ui:
    hub: Hub
    window: MainWindow
    ctx: UiContext
    state_path: Path


def by_id(*ids: str) -> list[Any]:
    wanted = set(ids)
    return [p for p in PROVIDERS if p.id in wanted]


def replayed() -> list[Any]:
    """Every provider that has recorded fixtures."""
    return by_id(*providers_with_fixtures())


TEST_KEYS = {n: "test-key" for n in key_names(p.spec for p in PROVIDERS)}


@pytest.fixture
async def open_ui(make_hub: Callable[..., Any], tmp_path: Path,
                  qapp: QApplication) -> AsyncIterator[Callable[..., Any]]:
    """``await open_ui(providers, keys=..., extra="", **make_hub options)`` -> a shown window
    on a started hub (``mount=False, options={...}`` point providers elsewhere)."""
    opened: list[Ui] = []
    make_app()  # the app's settings (no quitting when the last window closes)

    async def factory(providers: Sequence[Any], keys: dict[str, str] | None = None,
                      extra: str = "", server: bool = False, **hub_options: Any) -> Ui:
        hub = await make_hub(providers, extra=extra, keys=keys, **hub_options)
        state_path = tmp_path / "ui.ini"
        state = UiState(state_path)
        state.close_to_tray = False
        api = LocalApi(hub)
        window, ctx = build(hub.config, api, hub.secrets, qapp, state,
                            serving(api, hub.secrets) if server else None)
        window.resize(1280, 800)
        window.show()
        ui = Ui(hub, window, ctx, state_path)
        opened.append(ui)
        return ui

    yield factory
    await close_windows(opened)
    gc.collect()


@dataclass
class RemoteUi:
    api: RemoteApi
    window: MainWindow
    ctx: UiContext
    data_dir: Path
    starting: asyncio.Task[None] | None = None


@pytest.fixture
def serve_hub(tmp_path: Path, replay: ReplayServer) -> Iterator[Callable[..., ServeHub]]:
    """``serve_hub(["coingecko", ...], **ServeHub options)`` -> a started ``serve`` process
    (stopped after the test)."""
    hubs: list[ServeHub] = []

    def factory(providers: Sequence[str], **options: Any) -> ServeHub:
        hub = ServeHub(tmp_path / f"hub{len(hubs)}", replay, providers, **options)
        hubs.append(hub)
        hub.start()
        return hub

    yield factory
    for hub in hubs:
        hub.stop()


@pytest.fixture
async def open_remote(tmp_path: Path, qapp: QApplication
                      ) -> AsyncIterator[Callable[..., Awaitable[RemoteUi]]]:
    """``await open_remote(url, token)`` -> the window attached to the hub at ``url`` (what
    ``gui --hub URL`` builds: a RemoteApi, no engine, no store, no local server), the
    token in the keychain entry CRYPTOHUB_HUB_TOKEN, started."""
    opened: list[RemoteUi] = []
    make_app()

    async def factory(url: str, token: str | None, wait: bool = True) -> RemoteUi:
        folder = tmp_path / f"desktop{len(opened)}"
        folder.mkdir()
        config = folder / "config.toml"
        config.write_text(f'[hub]\nurl = "{url}"\n')
        cfg = load_config(config, data_dir=folder / "data")
        secrets = Secrets(env={}, backend=MemoryKeyring())
        if token:
            secrets.set(HUB_TOKEN, token)
        api = RemoteApi(cfg.hub_url, secrets.get(HUB_TOKEN))
        state = UiState(folder / "ui.ini")
        state.close_to_tray = False
        window, ctx = build(cfg, api, secrets, qapp, state, None)
        window.resize(1280, 800)
        window.show()
        ui = RemoteUi(api, window, ctx, cfg.data_dir)
        opened.append(ui)
        if wait:
            await api.start()
        else:  # the window is up at once; the connection goes on in the background
            ui.starting = asyncio.ensure_future(api.start())
        return ui

    yield factory
    for ui in opened:
        if ui.starting is not None:
            ui.starting.cancel()
        await ui.api.stop()
    await close_windows(opened)
    gc.collect()


async def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Wait on the running loop until ``check()`` is truthy; returns it."""
    deadline = asyncio.get_running_loop().time() + timeout * SLOW
    while True:
        value = check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what or check}"
        await asyncio.sleep(0.05)


def next_signal(signal: SignalInstance, timeout: float = 10.0) -> Awaitable[tuple[Any, ...]]:
    """Listen to ``signal`` from now on; await the result for its next emission's arguments
    (on the running Qt loop, no nested event loop)."""
    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def on_emit(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    signal.connect(on_emit)

    async def wait() -> tuple[Any, ...]:
        try:
            return await asyncio.wait_for(fut, timeout * SLOW)
        finally:
            signal.disconnect(on_emit)
    return wait()


def cell(model: Any, row: int, key: str) -> str:
    return str(model.data(model.index(row, model.column_of(key))))


def row_of(model: Any, key: Any) -> dict[str, Any]:
    i = model.find(key)
    assert i >= 0, f"{key!r} not in the table"
    return model.row(i)


async def close_windows(opened: list[Any]) -> None:
    """Close the windows a fixture opened (each ``ui`` has ``window`` and ``ctx``), after
    letting tasks started by clicks (asyncSlot) end on this loop, not in pytest-qt's
    processEvents after the test, where no loop runs."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=5 * SLOW)
    for ui in opened:
        ui.window.quitting = True
        for view in ui.window.views.values():
            await view.coalescer.aclose()
        ui.ctx.bridge.close()
        if ui.ctx.server is not None:
            await ui.ctx.server.stop()
        ui.ctx.extra["tray"].hide()
        ui.window.close()
        await asyncio.sleep(0)
        # delete the window and the services it owns now, on this (the GUI) thread: left to
        # the garbage collector they may be destroyed from a database thread, with live timers
        shiboken6.delete(ui.window)
    opened.clear()
