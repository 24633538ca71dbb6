"""Alert delivery to people: the dispatcher behind ``[notify.channels.NAME]``.

Every alert goes through one :class:`AlertDispatcher`; each channel is an apprise URL
(webhooks, e-mail, Telegram, ntfy, ~100 services). The rules (kinds mapping, quiet
hours, placeholders, message text) are in :mod:`.notify_rules`; the defaults of the
delivery policy (:class:`DeliveryPolicy`) are:

- **Kinds**: the engine's alert types map onto the six channel kinds
  (``notify_rules.KIND_OF``): price_threshold -> price_rule; provider_down and
  provider_recovered -> provider_down; rate_limit_warning -> quota; staleness ->
  staleness; price_deviation -> divergence; instance_lost -> instance_lost. Other
  types (today storage_error) go to no channel.
- **Filter** per channel: kind in ``kinds``, severity >= ``min_severity``; during
  ``quiet_hours`` (local time, start included, end excluded, may wrap midnight) only
  critical alerts go out, the others are dropped (not held for later).
- **Dedupe**: the same alert (``notify_rules.dedupe_key``) again within 5 minutes of
  its delivery is counted, not sent; when the window ends, one summary
  "N more like this" goes to the channels that got the first one.
- **Rate limit**: at most 10 messages per channel per 60 s; more wait in the
  channel's queue (at most 100 waiting; beyond that a message is dropped and recorded
  as failed).
- **Retry**: a failed send is retried after 2, 10 and 30 s (4 attempts), then the
  message is recorded as failed with the reason and the channel's status is
  ``failed`` until a message gets through. Each channel has its own queue and worker,
  so a failing channel never delays the others.
- **Secrets**: ``{ENTRY_NAME}`` placeholders (upper case, digits, ``_``) in a URL are
  resolved once at :meth:`start` through ``Secrets.get`` (environment, then keychain)
  and inserted as stored. The values join what the logs mask (``Secrets.seen``
  and a filter on the apprise and urllib3 loggers); URLs are shown only as
  :func:`.notify_rules.display_url`, failure reasons are scrubbed.

Sends run in a small thread pool (apprise's ``notify`` blocks); the event loop only
queues. Each channel's queue, worker, pacing and retries are in
:mod:`.notify_channel`; results and health in :mod:`.notify_records`. Each outcome is a :class:`DeliveryResult`, passed to ``on_result`` and (with a
store) written to ``notify_deliveries``. A test message (:meth:`send_test`) bypasses
the filters, dedupe and retries: one real attempt per channel.

Example::

    dispatcher = AlertDispatcher(cfg.notify_channels.values(), secrets, store=store)
    await dispatcher.start()
    dispatcher.submit(alert_row)          # returns at once
    dispatcher.health()                   # [ChannelHealth, ...]
    await dispatcher.close()              # sends pending summaries, stops
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import apprise

from cryptohub_desktop.config import NotifyChannelConfig
from cryptohub_desktop.core.errors import UserError
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.notify_channel import Channel, DeliveryPolicy, Message
from cryptohub_desktop.engine.notify_records import (
    ChannelHealth,
    DeliveryResult,
    insert_delivery,
)
from cryptohub_desktop.engine.notify_rules import (
    AlertEvent,
    ResolvedUrl,
    accepts,
    dedupe_key,
    render,
    render_test,
    resolve_url,
)
from cryptohub_desktop.logs import MaskFilter
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.notify")
#: loggers that may print a channel URL (apprise's debug lines, urllib3's request
#: lines): they get a filter masking the resolved secrets, whatever handlers exist
MASKED_LOGGERS = ("apprise", "urllib3.connectionpool", "cryptohub.notify")


class UnknownChannel(UserError):
    """A channel name that is not in ``[notify.channels]``."""


@dataclass
class _Window:
    """An open dedupe window: the channels that got the alert, the repeats since."""

    targets: list[str]
    timer: asyncio.TimerHandle | None
    repeats: int = 0
    last: AlertEvent | None = None


class AlertDispatcher:
    """Delivers alerts to the configured channels.

    Args:
        channels: the ``[notify.channels.*]`` tables (``config.notify_channels.values()``).
        secrets: resolves ``{ENTRY_NAME}`` placeholders.
        store: where to record each :class:`DeliveryResult` (``notify_deliveries``).
        on_result: called on the event loop with each :class:`DeliveryResult`.
        policy: dedupe window, rate limit, retries (defaults in the module docstring).

    Use on one event loop: :meth:`start`, then :meth:`submit` / :meth:`send_test`,
    then :meth:`close` (idempotent).
    """

    def __init__(self, channels: Iterable[NotifyChannelConfig], secrets: Secrets, *,
                 store: Store | None = None,
                 on_result: Callable[[DeliveryResult], None] | None = None,
                 policy: DeliveryPolicy | None = None) -> None:
        self.policy = policy or DeliveryPolicy()
        self._secrets = secrets
        self._store = store
        self._on_result = on_result
        self._host = socket.gethostname()
        self._known: set[str] = set()
        channels = list(channels)
        self._pool = ThreadPoolExecutor(min(16, len(channels) + 1), thread_name_prefix="notify")
        asset = apprise.AppriseAsset(app_id="Crypto Hub Desktop",
                                     app_desc="Crypto Hub Desktop alerts", storage_mode="memory")
        self._channels = {c.name: Channel(c, self.policy, self._pool, asset, self._known_values,
                                          self._recorded) for c in channels}
        self._mask = MaskFilter(self._known_values)
        self._windows: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _known_values(self) -> tuple[str, ...]:
        return tuple(self._known)

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Resolve placeholders (off the loop), build the apprise channels, start one
        worker per channel. A channel whose secret is missing or whose URL apprise does
        not know gets status ``needs_secret`` / ``invalid``; the others work."""
        self._loop = asyncio.get_running_loop()
        for name in MASKED_LOGGERS:
            logging.getLogger(name).addFilter(self._mask)
        resolved = await self._loop.run_in_executor(self._pool, self._resolve_all)
        for name, ch in self._channels.items():
            self._known.update(resolved[name].secrets)
            self._secrets.seen.update(resolved[name].secrets)
            ch.build(resolved[name])
            ch.start(self._loop)

    def _resolve_all(self) -> dict[str, ResolvedUrl]:
        return {name: resolve_url(ch.config.url, self._secrets.get)
                for name, ch in self._channels.items()}

    async def close(self) -> None:
        """Send the pending "N more like this" summaries, wait (at most
        ``policy.close_timeout``) for queued messages, stop the workers. Messages
        failing at that point are recorded as failed without further retries.
        Idempotent."""
        if self._closed:
            return
        for key in list(self._windows):
            self._end_window(key)
        self._closed = True
        channels = list(self._channels.values())
        if self._loop is not None:
            for ch in channels:
                ch.stop_retrying()
            try:
                await asyncio.wait_for(asyncio.gather(*(ch.join() for ch in channels)),
                                       self.policy.close_timeout)
            except TimeoutError:
                left = sum(ch.health.queued for ch in channels)
                log.warning("stopping alert delivery with %d messages not sent", left)
            for ch in channels:
                await ch.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for name in MASKED_LOGGERS:
            logging.getLogger(name).removeFilter(self._mask)

    # --- reading -------------------------------------------------------------------
    @property
    def channel_names(self) -> list[str]:
        return list(self._channels)

    def health(self) -> list[ChannelHealth]:
        """A snapshot of every channel's health, in config order."""
        return [ch.health for ch in self._channels.values()]

    def channel_health(self, name: str) -> ChannelHealth:
        """One channel's health (a copy). Raises :class:`UnknownChannel`."""
        return self._channel(name).health

    def _channel(self, name: str) -> Channel:
        if name not in self._channels:
            known = ", ".join(self._channels) or "none configured"
            raise UnknownChannel(f"no alert channel named '{name}' (channels: {known})")
        return self._channels[name]

    # --- submitting ----------------------------------------------------------------
    def submit(self, alert: AlertEvent | Mapping[str, Any]) -> list[str]:
        """Queue ``alert`` (an :class:`AlertEvent` or an ``alerts`` row) for the channels
        that take it; returns their names at once ([] when filtered out or a repeat
        within the dedupe window). Safe to call from another thread (then it is handed
        to the loop and returns []).

        Raises:
            RuntimeError: :meth:`start` has not run.
        """
        event = alert if isinstance(alert, AlertEvent) else AlertEvent.from_row(alert)
        if self._loop is None:
            raise RuntimeError("AlertDispatcher.start() has not run")
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            self._loop.call_soon_threadsafe(self.submit, event)
            return []
        if self._closed:
            return []
        key = dedupe_key(event)
        window = self._windows.get(key)
        if window is not None:
            window.repeats += 1
            window.last = event
            return []
        local = self.policy.local_now()
        targets = []
        for name, ch in self._channels.items():
            why = accepts(ch.config, event, local)
            if why is None:
                targets.append(name)
            else:
                log.debug("alert %s not for channel %s: %s", event.alert_type, name, why)
        if not targets:
            return []
        if self.policy.dedupe_window > 0:
            timer = self._loop.call_later(self.policy.dedupe_window, self._end_window, key)
            self._windows[key] = _Window(targets, timer)
        for name in targets:
            self._put(self._channels[name], event)
        return targets

    def _end_window(self, key: str) -> None:
        window = self._windows.pop(key, None)
        if window is None:
            return
        if window.timer:
            window.timer.cancel()
        if not window.repeats or window.last is None or self._closed:
            return
        local = self.policy.local_now()
        for name in window.targets:
            ch = self._channels[name]
            if accepts(ch.config, window.last, local) is None:
                self._put(ch, window.last, window.repeats)

    def _put(self, ch: Channel, event: AlertEvent, repeats: int = 0) -> None:
        title, body = render(event, self._host, repeats, self.policy.dedupe_window)
        ch.put(Message(event, title, body, repeats))

    # --- results -------------------------------------------------------------------
    def _recorded(self, result: DeliveryResult) -> None:
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:  # noqa: BLE001 - a listener bug must not stop delivery
                log.exception("on_result callback failed")
        if self._store is not None and self._loop is not None:
            task = self._loop.create_task(self._store.write(insert_delivery, result))
            self._tasks.add(task)
            task.add_done_callback(self._stored)

    def _stored(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery result not stored: %s", task.exception())

    # --- test messages ---------------------------------------------------------------
    async def send_test(self, name: str | None = None) -> list[DeliveryResult]:
        """Send a real test message to every channel (or ``name``) now: one attempt
        each, in parallel, regardless of kinds, severity, quiet hours and dedupe.
        Returns one result per channel (recorded like any delivery).

        Raises:
            UnknownChannel: ``name`` is not configured.
            RuntimeError: :meth:`start` has not run.
        """
        if self._loop is None:
            raise RuntimeError("AlertDispatcher.start() has not run")
        chosen = [self._channel(name)] if name is not None else list(self._channels.values())
        now = utcnow()
        messages = []
        for ch in chosen:
            title, body = render_test(ch.name, self._host, now)
            messages.append(Message(AlertEvent("test", "info", body, timestamp=now), title, body,
                                    test=True))
        return list(await asyncio.gather(*(ch.send_once(m) for ch, m in zip(chosen, messages,
                                                                              strict=True))))


__all__ = ["AlertDispatcher", "AlertEvent", "ChannelHealth", "DeliveryPolicy",
           "DeliveryResult", "UnknownChannel"]
