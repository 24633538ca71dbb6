"""One alert channel's delivery lane: its apprise object, queue, worker, rate limit
and retries, and its health.

Each :class:`Channel` has its own queue and worker task, so a slow or failing channel
never delays another. Sends run in the dispatcher's thread pool (apprise's ``notify``
blocks). Every finished message becomes a :class:`DeliveryResult` handed to
``on_result``; the channel's :class:`ChannelHealth` is updated first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime

import apprise

from cryptohub_desktop.config import NotifyChannelConfig
from cryptohub_desktop.core.masking import scrub
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.engine.notify_records import ChannelHealth, DeliveryResult
from cryptohub_desktop.engine.notify_rules import AlertEvent, ResolvedUrl, display_url

log = logging.getLogger("cryptohub.notify")
NOTIFY_TYPE = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
               "critical": apprise.NotifyType.FAILURE}


@dataclass(frozen=True)
class DeliveryPolicy:
    """How alerts are deduplicated, paced and retried (tests shorten the windows).

    Attributes:
        dedupe_window: seconds in which a repeat of an alert is counted, not sent.
        rate_limit, rate_period: at most ``rate_limit`` messages per channel per
            ``rate_period`` seconds; more wait in the channel's queue.
        retry_delays: the waits before each retry of a failed send.
        queue_size: messages a channel holds; beyond, new ones are dropped (recorded).
        send_timeout: seconds one apprise send may take.
        close_timeout: seconds ``close()`` waits for queued messages.
        local_now: the local wall clock, for quiet hours.
    """

    dedupe_window: float = 300.0
    rate_limit: int = 10
    rate_period: float = 60.0
    retry_delays: tuple[float, ...] = (2.0, 10.0, 30.0)
    queue_size: int = 100
    send_timeout: float = 30.0
    close_timeout: float = 10.0
    local_now: Callable[[], datetime] = datetime.now


@dataclass(frozen=True)
class Message:
    """A rendered message for one channel; ``repeats`` > 0 for a summary."""

    event: AlertEvent
    title: str
    body: str
    repeats: int = 0
    test: bool = False

    @property
    def notify_type(self) -> apprise.NotifyType:
        if self.event.alert_type == "provider_recovered":
            return apprise.NotifyType.SUCCESS
        return NOTIFY_TYPE.get(self.event.severity, apprise.NotifyType.WARNING)


class Channel:
    """A channel's lane. :meth:`build` it from its resolved URL, :meth:`start` it on the
    loop, :meth:`put` messages, :meth:`stop` it.

    Args:
        config: the ``[notify.channels.NAME]`` table.
        policy: pacing and retries.
        pool: where blocking sends run.
        asset: apprise's application identity.
        known: the secret values to mask in failure reasons.
        on_result: called on the loop with each finished message's result.
    """

    def __init__(self, config: NotifyChannelConfig, policy: DeliveryPolicy, pool: Executor,
                 asset: apprise.AppriseAsset, known: Callable[[], tuple[str, ...]],
                 on_result: Callable[[DeliveryResult], None]) -> None:
        self.config = config
        self.name = config.name
        self._policy = policy
        self._pool = pool
        self._asset = asset
        self._known = known
        self._on_result = on_result
        self._health = ChannelHealth(config.name, display_url(config.url), config.kinds,
                                     config.min_severity, config.quiet_hours_text)
        self._queue: asyncio.Queue[Message] = asyncio.Queue(policy.queue_size)
        self._apprise: apprise.Apprise | None = None
        self._sent: deque[float] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def health(self) -> ChannelHealth:
        """A copy of the channel's health, with the messages waiting now."""
        return replace(self._health, queued=self._queue.qsize())

    def build(self, resolved: ResolvedUrl) -> None:
        """Make the apprise object from the URL with its placeholders filled in; a
        missing secret or a URL apprise does not know leaves the channel unusable."""
        if resolved.missing:
            self._health.status = "needs_secret"
            self._health.detail = (f"{', '.join(resolved.missing)} not set (keychain or "
                                   "environment)")
        else:
            ap = apprise.Apprise(asset=self._asset)
            if ap.add(resolved.url):
                self._apprise = ap
                return
            self._health.status = "invalid"
            self._health.detail = "apprise does not recognise this URL"
        log.warning("alert channel %s (%s) is unusable: %s", self.name, self._health.url,
                    self._health.detail)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._worker = loop.create_task(self._work(), name=f"notify-{self.name}")

    def put(self, message: Message) -> None:
        """Queue ``message`` (returns at once); a full queue drops it, recorded failed."""
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._finish(message, False, f"dropped: {self._queue.qsize()} messages already "
                         "waiting for this channel", 0)

    async def join(self) -> None:
        """Wait until every queued message is finished."""
        await self._queue.join()

    async def stop(self) -> None:
        """No more retries; cancel the worker. Idempotent."""
        self._stopping = True
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def stop_retrying(self) -> None:
        """Messages still failing from now on are recorded at once (shutdown)."""
        self._stopping = True

    async def send_once(self, message: Message) -> DeliveryResult:
        """One attempt now, outside the queue (test messages)."""
        if self._apprise is None:
            return self._finish(message, False, self._health.detail, 0)
        self._sent.append(time.monotonic())
        ok, reason = await self._send(message)
        return self._finish(message, ok, reason, 1)

    # --- the worker --------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._deliver(message)
            except Exception:  # noqa: BLE001 - one bad message must not stop the channel
                log.exception("alert channel %s: delivery crashed", self.name)
            finally:
                self._queue.task_done()

    async def _deliver(self, message: Message) -> None:
        if self._apprise is None:
            self._finish(message, False, self._health.detail, 0)
            return
        await self._pace()
        delays = self._policy.retry_delays
        attempt = 0
        while True:
            attempt += 1
            ok, reason = await self._send(message)
            if ok or attempt > len(delays) or self._stopping:
                break
            self._health.status = "retrying"
            log.info("alert channel %s: attempt %d failed (%s); retrying in %.1f s",
                     self.name, attempt, reason, delays[attempt - 1])
            await asyncio.sleep(delays[attempt - 1])
        self._finish(message, ok, reason, attempt)

    async def _pace(self) -> None:
        """Wait until the channel is under its rate limit, then count one message."""
        limit, period = self._policy.rate_limit, self._policy.rate_period
        while True:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - period:
                self._sent.popleft()
            if len(self._sent) < limit:
                self._sent.append(now)
                return
            await asyncio.sleep(self._sent[0] + period - now)

    async def _send(self, message: Message) -> tuple[bool, str | None]:
        loop = asyncio.get_running_loop()
        ok, reason = await loop.run_in_executor(self._pool, notify_blocking, self._apprise,
                                                message, self._policy.send_timeout)
        return ok, (scrub(reason, self._known()) if reason else None)

    def _finish(self, message: Message, ok: bool, reason: str | None,
                attempts: int) -> DeliveryResult:
        now = utcnow()
        h = self._health
        h.last_attempt_at = now
        if ok:
            h.status, h.last_delivery_at, h.consecutive_failures = "ok", now, 0
            h.delivered += 1
            log.info("alert channel %s: delivered %r", self.name, message.title)
        else:
            if self._apprise is not None:
                h.status = "failed"
            h.last_error, h.last_error_at = reason, now
            h.consecutive_failures += 1
            h.failed += 1
            log.warning("alert channel %s (%s): not delivered after %d attempt(s): %s",
                        self.name, h.url, attempts, reason)
        ev = message.event
        result = DeliveryResult(
            channel=self.name, url=h.url, status="delivered" if ok else "failed",
            reason=None if ok else (reason or "not delivered"), attempts=attempts,
            alert_id=ev.alert_id, alert_type=ev.alert_type,
            kind="test" if message.test else (ev.kind or ""), severity=ev.severity,
            title=message.title, repeats=message.repeats, timestamp=now)
        self._on_result(result)
        return result


def notify_blocking(ap: apprise.Apprise | None, message: Message,
                    timeout: float) -> tuple[bool, str | None]:
    """One apprise send (in a worker thread): (delivered, why not)."""
    if ap is None:
        return False, "channel not built"
    try:
        result = ap.notify(body=message.body, title=message.title,
                           notify_type=message.notify_type,
                           body_format=apprise.NotifyFormat.TEXT, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - a plugin bug is a failed delivery
        return False, f"{type(exc).__name__}: {exc}"
    with result:
        if result:
            return True, None
        problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        return False, (problems[-1] if problems else
                       f"not delivered ({result.status.name.lower()})")
