"""Provider schedules on APScheduler 3, and schedule compliance accounting.

Each provider runs on its own interval (SPEC section 4). A run is *on time*
when it starts within :func:`tolerance` of its slot, *late* otherwise; a slot
that does not run (previous run still going, loop stalled past the grace time,
circuit open, rate limit) is *skipped* with a reason.

:class:`Compliance` is pure bookkeeping (tested with a controllable clock);
:class:`Scheduler` drives real jobs on the running asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cryptohub_desktop.core.time import utcnow

log = logging.getLogger("cryptohub.scheduler")


def tolerance(interval_seconds: float) -> float:
    """Seconds a run may start after its slot and still be on time."""
    return max(5.0, 0.1 * interval_seconds)


@dataclass
class ComplianceEvent:
    provider_id: str
    expected: datetime
    actual: datetime | None
    on_time: bool
    delay_seconds: float | None
    skip_reason: str | None = None


@dataclass
class ComplianceStats:
    interval_seconds: int
    on_time: int = 0
    late: int = 0
    skipped: int = 0
    last_run: datetime | None = None
    next_run: datetime | None = None

    @property
    def on_time_percentage(self) -> float | None:
        ran = self.on_time + self.late + self.skipped
        return round(100.0 * self.on_time / ran, 1) if ran else None


class Compliance:
    """On-time / late / skipped counts per provider."""

    def __init__(self) -> None:
        self.stats: dict[str, ComplianceStats] = {}

    def ensure(self, provider_id: str, interval_seconds: int) -> ComplianceStats:
        st = self.stats.get(provider_id)
        if st is None:
            st = self.stats[provider_id] = ComplianceStats(interval_seconds)
        st.interval_seconds = interval_seconds
        return st

    def on_run(self, provider_id: str, expected: datetime, actual: datetime,
               interval_seconds: int) -> ComplianceEvent:
        st = self.ensure(provider_id, interval_seconds)
        delay = max(0.0, (actual - expected).total_seconds())
        on_time = delay <= tolerance(interval_seconds)
        if on_time:
            st.on_time += 1
        else:
            st.late += 1
            log.info("%s ran %.1fs late", provider_id, delay)
        st.last_run = actual
        st.next_run = expected + timedelta(seconds=interval_seconds)
        return ComplianceEvent(provider_id, expected, actual, on_time, round(delay, 3))

    def on_skip(self, provider_id: str, expected: datetime, reason: str,
                interval_seconds: int) -> ComplianceEvent:
        st = self.ensure(provider_id, interval_seconds)
        st.skipped += 1
        st.next_run = expected + timedelta(seconds=interval_seconds)
        log.info("%s skipped its %s run: %s", provider_id, expected.isoformat(), reason)
        return ComplianceEvent(provider_id, expected, None, False, None, reason)


JobFn = Callable[[datetime], Awaitable[None]]


def aligned_start(job_id: str, interval_seconds: int, now: datetime) -> datetime:
    """The first slot after ``now`` of a schedule aligned to the wall clock: slots fall at
    ``k * interval + offset`` Unix seconds, the offset a stable hash of ``job_id`` (so
    40 providers on one interval do not all start in the same second). Every instance of
    a team hub computes the same slots, so a slot is one key across the team."""
    interval = max(1, int(interval_seconds))
    offset = zlib.crc32(job_id.encode()) % interval
    k = math.ceil((now.timestamp() - offset) / interval)
    return datetime.fromtimestamp(k * interval + offset, UTC)


class Scheduler:
    """Runs each provider's job every ``interval`` seconds on the asyncio loop.

    Args:
        on_missed: called with (provider_id, scheduled_time, reason) for slots
            APScheduler could not run ("still_running" or "missed").
    """

    def __init__(self, on_missed: Callable[[str, datetime, str], None]) -> None:
        self._on_missed = on_missed
        self._sched: AsyncIOScheduler | None = None
        self._starts: dict[str, tuple[datetime, int]] = {}

    def start(self) -> None:
        """Start; must be called from a coroutine on the running loop."""
        self._sched = AsyncIOScheduler(timezone="UTC")
        self._sched.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self._sched.start()

    def add(self, job_id: str, interval_seconds: int, fn: JobFn,
            first_in: float | None = 1.0) -> None:
        """Schedule ``fn(slot)`` every ``interval_seconds``, first after ``first_in`` s;
        ``first_in=None`` aligns the slots to the wall clock (see :func:`aligned_start`)."""
        assert self._sched is not None, "start() first"
        start = (aligned_start(job_id, interval_seconds, utcnow()) if first_in is None
                 else utcnow() + timedelta(seconds=first_in))
        self._starts[job_id] = (start, interval_seconds)

        async def run() -> None:
            try:
                await fn(self.slot(job_id, utcnow()))
            except asyncio.CancelledError:  # the engine is stopping: not a job failure
                log.debug("%s: run cancelled (stopping)", job_id)

        self._sched.add_job(
            run, IntervalTrigger(seconds=interval_seconds, start_date=start, timezone="UTC"),
            id=job_id, name=job_id, replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=max(1, int(interval_seconds // 2)))

    def slot(self, job_id: str, at: datetime) -> datetime:
        """The scheduled slot a run starting at ``at`` belongs to."""
        start, interval = self._starts[job_id]
        n = max(0, int((at - start).total_seconds() // interval))
        return start + timedelta(seconds=n * interval)

    def once(self, job_id: str, delay: float, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn()`` once after ``delay`` seconds (replacing a pending run of ``job_id``)."""
        assert self._sched is not None, "start() first"

        async def run() -> None:
            try:
                await fn()
            except asyncio.CancelledError:  # the engine is stopping: not a job failure
                log.debug("%s: run cancelled (stopping)", job_id)
        self._sched.add_job(run, DateTrigger(utcnow() + timedelta(seconds=delay), timezone="UTC"),
                            id=job_id, name=job_id, replace_existing=True,
                            misfire_grace_time=60)

    def remove(self, job_id: str) -> None:
        if self._sched and self._sched.get_job(job_id):
            self._sched.remove_job(job_id)
        self._starts.pop(job_id, None)

    def next_run(self, job_id: str) -> datetime | None:
        job = self._sched.get_job(job_id) if self._sched else None
        return job.next_run_time if job else None

    def has(self, job_id: str) -> bool:
        return bool(self._sched and self._sched.get_job(job_id))

    def shutdown(self) -> None:
        if self._sched and self._sched.running:
            self._sched.shutdown(wait=False)
        self._sched = None

    def _on_event(self, event: JobExecutionEvent) -> None:
        reason = "still_running" if event.code == EVENT_JOB_MAX_INSTANCES else "missed"
        when = event.scheduled_run_time
        self._on_missed(event.job_id, when, reason)
