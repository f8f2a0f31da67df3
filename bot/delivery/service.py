"""The Delivery object the rest of cxbot calls: schedule, submit, start, stop, drain, run."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.delivery.jobs import DeliveryJobs
from bot.delivery.limits import SendLimits, channel_rates
from bot.delivery.queue import JobQueue, Kind
from bot.delivery.tasks import register_tasks
from bot.delivery.worker import QueueWorker, WorkerOptions
from bot.health import Stopped
from bot.runner import SurveyRunner
from bot.settings import Settings
from bot.slack import SlackService
from bot.slack.retry import shared_rate_limit_handler
from bot.telegram import TelegramService
from bot.telegram.retry import retry_after_middleware
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import get_invitation
from storage.tables import InvitationStatus

log = logging.getLogger(__name__)

# How often drain() looks at the rows it waits for.
DRAIN_POLL_S = 0.05
UNSETTLED = (InvitationStatus.SCHEDULED, InvitationStatus.SENDING)


class Delivery:
    """Invitations go out through the job queue, within the shared rate limits, once.

    ``embedded``: `start()` runs a worker in this process (`cxbot run`); on SQLite it always
    does, since no other process can reach the in-memory queue.
    """

    def __init__(
        self,
        jobs: DeliveryJobs,
        queue: JobQueue,
        limits: SendLimits,
        options: WorkerOptions,
        *,
        embedded: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.jobs = jobs
        self.queue = queue
        self.limits = limits
        self.options = options
        self.embedded = embedded or not queue.persistent
        self.clock = clock
        self.worker: QueueWorker | None = None
        self._awaited: set[int] = set()
        self._closed = False

    async def schedule(self, invitation_id: int, at: datetime) -> None:
        """Send the invitation at `at` (naive UTC), or soon after; scheduling twice sends once."""
        await self.queue.defer(Kind.SEND, invitation_id, at)
        if at <= self.clock():
            self._awaited.add(invitation_id)

    async def submit(self, invitation_id: int) -> None:
        """Send the invitation now (as soon as the rate limits allow)."""
        await self.schedule(invitation_id, self.clock())

    def start(self) -> None:
        """Run a worker in this process, when this process is meant to send."""
        if not self.embedded:
            log.info("delivery: no worker in this process (CXBOT_EMBEDDED_WORKER=false)")
            return
        self._start_worker(resync=not self.queue.persistent)

    def _start_worker(self, *, resync: bool, options: WorkerOptions | None = None) -> QueueWorker:
        if self.worker is None or not self.worker.running:
            # The in-memory queue starts empty: SQL says what is pending.
            before = functools.partial(self.jobs.catch_up, everything=True) if resync else None
            self.worker = QueueWorker(self.queue, options or self.options, before=before)
            self.worker.start()
        return self.worker

    async def run(
        self,
        stop: asyncio.Event,
        *,
        concurrency: int | None = None,
        heartbeat_seconds: float | None = None,
        stalled_after_seconds: float | None = None,
    ) -> None:
        """`cxbot worker`: send until `stop` is set, then let the sends under way finish."""
        options = self.options
        if concurrency is not None:
            options = replace(options, concurrency=concurrency)
        if heartbeat_seconds is not None:
            options = replace(options, heartbeat_seconds=heartbeat_seconds)
        if stalled_after_seconds is not None:
            options = replace(options, stalled_after_seconds=stalled_after_seconds)
        worker = self._start_worker(resync=not self.queue.persistent, options=options)
        stopping = asyncio.create_task(stop.wait())
        ending = asyncio.create_task(worker.wait())
        try:
            await asyncio.wait({stopping, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await self._stop_worker()
        failure = ending.exception() if ending.done() and not ending.cancelled() else None
        ending.cancel()
        if failure is not None:  # the worker failed for good (its start, not a lost database)
            raise failure

    async def check_worker(self) -> None:
        """Readiness where this process sends: raises Stopped while its worker takes no jobs
        (not started yet, stopping, or replacing one that stopped with PostgreSQL)."""
        problem = "not running" if self.worker is None else self.worker.problem
        if problem is not None:
            raise Stopped(f"the job queue's worker in this process: {problem}")

    async def drain(self) -> None:
        """Wait until the invitations submitted here have been sent or have failed.

        Runs a worker here for the while if none does (the CLI's `send`).
        """
        borrowed = self.worker is None or not self.worker.running
        if borrowed:
            self._start_worker(resync=False)
        try:
            while self._awaited:
                async with self.jobs.database.session() as session:
                    for invitation_id in list(self._awaited):
                        invitation = await get_invitation(session, invitation_id)
                        if invitation is None or invitation.status not in UNSETTLED:
                            self._awaited.discard(invitation_id)
                if self._awaited:
                    await asyncio.sleep(DRAIN_POLL_S)
        finally:
            if borrowed:
                await self._stop_worker()

    async def _stop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            await worker.stop()

    async def stop(self) -> None:
        """Stop the worker (the sends under way finish first) and close the connections."""
        await self._stop_worker()
        if not self._closed:
            self._closed = True
            await self.queue.close()
            await self.limits.close()


async def open_delivery(
    settings: Settings,
    runner: SurveyRunner,
    database: Database,
    *,
    telegram: TelegramService | None = None,
    slack: SlackService | None = None,
) -> Delivery:
    """Delivery from the settings: rates checked (InvalidRate), queue connected, 429s shared."""
    rates = channel_rates(settings)
    options = WorkerOptions(
        concurrency=settings.worker_concurrency, poll_seconds=settings.delivery_poll_seconds
    )
    queue = JobQueue(settings.database_url, concurrency=options.concurrency)
    limits = SendLimits.open(rates, settings.redis_url, settings.redis_prefix)
    try:
        await queue.open()
    except BaseException:
        await limits.close()
        raise
    jobs = DeliveryJobs(
        runner,
        database,
        limits,
        queue,
        attempts=settings.send_attempts,
        retention_days=settings.retention_days,
    )
    register_tasks(queue.app, jobs)
    if telegram is not None and (middleware := retry_after_middleware(telegram.bot)):
        middleware.listeners.append(functools.partial(limits.pause, "telegram"))
        middleware.turns.append(functools.partial(limits.wait_for_turn, "telegram"))
        middleware.replies = limits.replies("telegram")
        middleware.departed = functools.partial(limits.departed, "telegram")
    if slack is not None and (handler := shared_rate_limit_handler(slack.client)):
        handler.listeners.append(functools.partial(limits.pause, "slack"))
    if slack is not None:
        slack.client.replies = limits.replies("slack")
    return Delivery(jobs, queue, limits, options, embedded=settings.embedded_worker)
