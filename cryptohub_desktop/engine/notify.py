"""Alert delivery to people: the dispatcher behind ``[notify.channels.NAME]``.

Every alert goes through one :class:`AlertDispatcher`; each channel is an apprise URL
(webhooks, e-mail, Telegram, ntfy, ~100 services). The rules (kinds mapping, quiet
hours, placeholders, message text) are in :mod:`.notify_rules`; the defaults of the
delivery policy (:class:`DeliveryPolicy`) are:

- **Filter** per channel: kind in ``kinds``, severity >= ``min_severity``; during
  ``quiet_hours`` (local time, may wrap midnight) only critical alerts go out, the
  others are dropped.
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
- **Secrets**: ``{ENTRY_NAME}`` placeholders are resolved once at :meth:`start`
  (environment, then keychain). The values join what the logs mask (``Secrets.seen``
  and a filter on the apprise and urllib3 loggers); URLs are shown only as
  :func:`.notify_rules.display_url`, failure reasons are scrubbed.

Sends run in a small thread pool (apprise's ``notify`` blocks); the event loop only
queues. Each outcome is a :class:`DeliveryResult`, passed to ``on_result`` and (with a
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
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import apprise

from cryptohub_desktop.config import NotifyChannelConfig
from cryptohub_desktop.core.errors import StoreError, UserError
from cryptohub_desktop.core.masking import scrub
from cryptohub_desktop.core.time import utcnow
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
    display_url,
    render,
    render_test,
    resolve_url,
)
from cryptohub_desktop.logs import MaskFilter
from cryptohub_desktop.secrets import Secrets
from cryptohub_desktop.storage.store import Store

log = logging.getLogger("cryptohub.notify")
#: third-party loggers that may print a channel URL; they get the mask filter
MASKED_LOGGERS = ("apprise", "urllib3.connectionpool", "cryptohub.notify")
NOTIFY_TYPE = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
               "critical": apprise.NotifyType.FAILURE}


class UnknownChannel(UserError):
    """A channel name that is not in ``[notify.channels]``."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the dispatcher paces and retries (tests shorten the windows)."""

    dedupe_window: float = 300.0
    rate_limit: int = 10
    rate_period: float = 60.0
    retry_delays: tuple[float, ...] = (2.0, 10.0, 30.0)
    queue_size: int = 100
    send_timeout: float = 30.0
    close_timeout: float = 10.0
    local_now: Callable[[], datetime] = datetime.now  # for quiet hours


@dataclass
class _Job:
    event: AlertEvent
    title: str
    body: str
    notify_type: apprise.NotifyType
    repeats: int = 0
    test: bool = False


@dataclass
class _Window:
    first: AlertEvent
    targets: list[str]
    timer: asyncio.TimerHandle | None
    repeats: int = 0
    last: AlertEvent | None = None


@dataclass
class _Channel:
    config: NotifyChannelConfig
    health: ChannelHealth
    queue: asyncio.Queue[_Job]
    apprise: apprise.Apprise | None = None
    sent: deque[float] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


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
        self._channels: dict[str, _Channel] = {}
        for c in channels:
            h = ChannelHealth(c.name, display_url(c.url), c.kinds, c.min_severity,
                              c.quiet_hours_text)
            self._channels[c.name] = _Channel(c, h, asyncio.Queue(self.policy.queue_size))
        self._known: set[str] = set()
        self._mask = MaskFilter(lambda: tuple(self._known))
        self._windows: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pool = ThreadPoolExecutor(min(16, len(self._channels) + 1),
                                        thread_name_prefix="notify")
        self._asset = apprise.AppriseAsset(app_id="Crypto Hub Desktop",
                                           app_desc="Crypto Hub Desktop alerts",
                                           storage_mode="memory")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

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
            self._build(ch, resolved[name])
            ch.worker = self._loop.create_task(self._work(ch), name=f"notify-{name}")

    def _resolve_all(self) -> dict[str, ResolvedUrl]:
        return {name: resolve_url(ch.config.url, self._secrets.get)
                for name, ch in self._channels.items()}

    def _build(self, ch: _Channel, resolved: ResolvedUrl) -> None:
        self._known.update(resolved.secrets)
        self._secrets.seen.update(resolved.secrets)
        if resolved.missing:
            ch.health.status = "needs_secret"
            ch.health.detail = (f"{', '.join(resolved.missing)} not set (keychain or "
                                "environment)")
        else:
            ap = apprise.Apprise(asset=self._asset)
            if ap.add(resolved.url):
                ch.apprise = ap
                return
            ch.health.status = "invalid"
            ch.health.detail = "apprise does not recognise this URL"
        log.warning("alert channel %s (%s) is unusable: %s", ch.config.name, ch.health.url,
                    ch.health.detail)

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
        workers = [ch.worker for ch in self._channels.values() if ch.worker]
        if workers:
            joins = [ch.queue.join() for ch in self._channels.values()]
            try:
                await asyncio.wait_for(asyncio.gather(*joins), self.policy.close_timeout)
            except TimeoutError:
                left = sum(ch.queue.qsize() for ch in self._channels.values())
                log.warning("stopping alert delivery with %d messages not sent", left)
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
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
        return [self.channel_health(name) for name in self._channels]

    def channel_health(self, name: str) -> ChannelHealth:
        """One channel's health (a copy). Raises :class:`UnknownChannel`."""
        ch = self._channel(name)
        return replace(ch.health, queued=ch.queue.qsize())

    def _channel(self, name: str) -> _Channel:
        if name not in self._channels:
            known = ", ".join(self._channels) or "none configured"
            raise UnknownChannel(f"no alert channel named '{name}' (channels: {known})")
        return self._channels[name]

    # --- submitting ----------------------------------------------------------------
    def submit(self, alert: AlertEvent | Mapping[str, Any]) -> list[str]:
        """Queue ``alert`` (an :class:`AlertEvent` or an ``alerts`` row) for the channels
        that take it; returns their names at once ([] when filtered out or a repeat
        within the dedupe window). Safe to call from another thread (then it is handed
        to the loop and returns [])."""
        event = alert if isinstance(alert, AlertEvent) else AlertEvent.from_row(alert)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None:
            raise RuntimeError("AlertDispatcher.start() has not run")
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
            self._windows[key] = _Window(event, targets, timer)
        for name in targets:
            self._enqueue(self._channels[name], event)
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
                self._enqueue(ch, window.last, window.repeats)

    def _enqueue(self, ch: _Channel, event: AlertEvent, repeats: int = 0) -> None:
        title, body = render(event, self._host, repeats, self.policy.dedupe_window)
        ntype = (apprise.NotifyType.SUCCESS if event.alert_type == "provider_recovered"
                 else NOTIFY_TYPE.get(event.severity, apprise.NotifyType.WARNING))
        job = _Job(event, title, body, ntype, repeats)
        try:
            ch.queue.put_nowait(job)
        except asyncio.QueueFull:
            self._record(ch, job, False, f"dropped: {ch.queue.qsize()} messages already "
                         "waiting for this channel", 0)

    # --- delivering ----------------------------------------------------------------
    async def _work(self, ch: _Channel) -> None:
        while True:
            job = await ch.queue.get()
            try:
                await self._deliver(ch, job)
            except Exception:  # noqa: BLE001 - one bad message must not stop the channel
                log.exception("alert channel %s: delivery crashed", ch.config.name)
            finally:
                ch.queue.task_done()

    async def _deliver(self, ch: _Channel, job: _Job) -> None:
        if ch.apprise is None:
            self._record(ch, job, False, ch.health.detail, 0)
            return
        await self._pace(ch)
        delays = self.policy.retry_delays
        attempt = 0
        while True:
            attempt += 1
            ok, reason = await self._send(ch.apprise, job)
            if ok or attempt > len(delays) or self._closed:
                break
            ch.health.status = "retrying"
            log.info("alert channel %s: attempt %d failed (%s); retrying in %.1f s",
                     ch.config.name, attempt, reason, delays[attempt - 1])
            await asyncio.sleep(delays[attempt - 1])
        self._record(ch, job, ok, reason, attempt)

    async def _pace(self, ch: _Channel) -> None:
        """Wait until the channel is under its rate limit, then count one message."""
        limit, period = self.policy.rate_limit, self.policy.rate_period
        while True:
            now = time.monotonic()
            while ch.sent and ch.sent[0] <= now - period:
                ch.sent.popleft()
            if len(ch.sent) < limit:
                ch.sent.append(now)
                return
            await asyncio.sleep(ch.sent[0] + period - now)

    async def _send(self, ap: apprise.Apprise, job: _Job) -> tuple[bool, str | None]:
        assert self._loop is not None
        ok, reason = await self._loop.run_in_executor(
            self._pool, _notify_blocking, ap, job, self.policy.send_timeout)
        return ok, (scrub(reason, tuple(self._known)) if reason else None)

    def _record(self, ch: _Channel, job: _Job, ok: bool, reason: str | None,
                attempts: int) -> DeliveryResult:
        now = utcnow()
        h = ch.health
        h.last_attempt_at = now
        if ok:
            h.status, h.last_delivery_at, h.consecutive_failures = "ok", now, 0
            h.delivered += 1
            log.info("alert channel %s: delivered %r", ch.config.name, job.title)
        else:
            if ch.apprise is not None:
                h.status = "failed"
            h.last_error, h.last_error_at = reason, now
            h.consecutive_failures += 1
            h.failed += 1
            log.warning("alert channel %s (%s): not delivered after %d attempt(s): %s",
                        ch.config.name, h.url, attempts, reason)
        ev = job.event
        result = DeliveryResult(
            channel=ch.config.name, url=h.url, status="delivered" if ok else "failed",
            reason=None if ok else (reason or "not delivered"), attempts=attempts,
            alert_id=ev.alert_id, alert_type=ev.alert_type,
            kind="test" if job.test else (ev.kind or ""), severity=ev.severity,
            title=job.title, repeats=job.repeats, timestamp=now)
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:  # noqa: BLE001 - a listener bug must not stop delivery
                log.exception("on_result callback failed")
        if self._store is not None:
            self._spawn(self._store.write(insert_delivery, result))
        return result

    def _spawn(self, coro: Any) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and isinstance(task.exception(), StoreError):
            log.error("delivery result not stored: %s", task.exception())
        elif not task.cancelled() and task.exception():
            log.error("recording a delivery failed: %r", task.exception())

    # --- test messages ---------------------------------------------------------------
    async def send_test(self, name: str | None = None) -> list[DeliveryResult]:
        """Send a real test message to every channel (or ``name``) now: one attempt
        each, in parallel, regardless of kinds, severity, quiet hours and dedupe.
        Returns one result per channel (recorded like any delivery).

        Raises:
            UnknownChannel: ``name`` is not configured.
        """
        if self._loop is None:
            raise RuntimeError("AlertDispatcher.start() has not run")
        chosen = [self._channel(name)] if name is not None else list(self._channels.values())
        return list(await asyncio.gather(*(self._test_one(ch) for ch in chosen)))

    async def _test_one(self, ch: _Channel) -> DeliveryResult:
        now = utcnow()
        title, body = render_test(ch.config.name, self._host, now)
        event = AlertEvent("test", "info", body, timestamp=now)
        job = _Job(event, title, body, apprise.NotifyType.INFO, test=True)
        if ch.apprise is None:
            return self._record(ch, job, False, ch.health.detail, 0)
        ch.sent.append(time.monotonic())
        ok, reason = await self._send(ch.apprise, job)
        return self._record(ch, job, ok, reason, 1)


def _notify_blocking(ap: apprise.Apprise, job: _Job, timeout: float) -> tuple[bool, str | None]:
    """One apprise send (in a worker thread): (delivered, why not)."""
    try:
        result = ap.notify(body=job.body, title=job.title, notify_type=job.notify_type,
                           body_format=apprise.NotifyFormat.TEXT, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - a plugin bug is a failed delivery
        return False, f"{type(exc).__name__}: {exc}"
    with result:
        if result:
            return True, None
        problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        return False, (problems[-1] if problems else
                       f"not delivered ({result.status.name.lower()})")


__all__ = ["AlertDispatcher", "AlertEvent", "ChannelHealth", "DeliveryPolicy",
           "DeliveryResult", "UnknownChannel"]
