"""Runs the queue's worker inside this process's event loop, and revives stalled jobs.

A procrastinate worker writes a heartbeat every few seconds. A worker killed mid-job (kill
-9, a lost machine) stops writing it, and its jobs stay "doing": every live worker looks for
such jobs and puts them back in the queue, where the job sees its invitation `sending` and
marks it failed rather than sending it twice (see SurveyRunner.deliver).

procrastinate stops its worker when a connection it needs fails (PostgreSQL restarted or went
away: "Side task listener failed ... stopping worker"); QueueWorker then waits, with backoff,
until the queue's database answers again and starts a new one, and says meanwhile that none
runs (`problem`, which readiness reports).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.worker import Worker

from bot.delivery.queue import QUEUE, JobQueue

log = logging.getLogger(__name__)

# SIGTERM lets the sends under way finish; after this long they are cancelled (a cancelled
# send's row stays `sending` and is settled as interrupted, never sent twice).
SHUTDOWN_GRACE_S = 60.0
# How often stop() asks again until the worker has stopped (see QueueWorker.stop).
STOP_ASK_S = 0.2
# A worker takes jobs when it is told of a new one (LISTEN/NOTIFY, at deferral) or every
# poll_seconds; a job deferred for later (a send due an hour after the case closed, a retry)
# would wait up to poll_seconds after its time. So each worker also asks, this often, when the
# next one falls due, and wakes procrastinate's worker then (WAKE_LATE_S after, for the
# fetch's clock to have passed it).
DUE_CHECK_S = 0.5
WAKE_LATE_S = 0.002
# ... and at most this often, however many due times follow each other (a spread backlog).
WAKE_GAP_S = 0.05
# How often a worker looks whether the queue outgrew its statistics (one cheap query).
STATISTICS_CHECK_S = 2.0
# After procrastinate's worker stopped by itself, the queue's database is asked again after
# this long, then twice as long each time it does not answer, up to RESTART_MAX_S.
RESTART_FIRST_S = 0.25
RESTART_MAX_S = 2.0
# How long one of those questions may take, and how long the pool may take to hand out a
# connection once PostgreSQL takes one again (see QueueWorker._renew_pool).
RESTART_PING_S = 10.0
POOL_READY_S = 1.0


@dataclass(frozen=True)
class WorkerOptions:
    """How one worker runs: parallel jobs, queue polling and heartbeats, in seconds."""

    concurrency: int = 10
    poll_seconds: float = 2.0
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 30.0


async def revive_stalled(app: App, stalled_after_seconds: float) -> int:
    """Put back in the queue the jobs of workers silent for `stalled_after_seconds`."""
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(
        queue=QUEUE, seconds_since_heartbeat=stalled_after_seconds
    )
    revived = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
            revived += 1
        except UniqueViolation:
            # The same work is queued again already (the catch-up did it): end this one so
            # that its lock no longer holds the queued one back.
            with contextlib.suppress(ConnectorException):
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        except ConnectorException:
            pass  # another worker revived it first
    if revived:
        log.warning("revived %s jobs of a worker that stopped answering", revived)
    return revived


class _Worker(Worker):
    """procrastinate's Worker, telling whoever made it when it is asked to stop.

    procrastinate asks its own worker to stop when a side task (the listener on PostgreSQL's
    notifications, the heartbeat) fails; the sends under way then finish and run() returns.
    """

    def __init__(self, *, on_stop: Callable[[], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_stop = on_stop

    def stop(self) -> None:
        self._on_stop()
        super().stop()  # type: ignore[no-untyped-call]

    def wake(self) -> None:
        """Fetch jobs now, as a notification of a new one does (procrastinate's own event:
        tests/bot/delivery/test_due_wake.py fails if it stops waking the worker)."""
        self._new_job_event.set()


class QueueWorker:
    """One procrastinate worker on cxbot's queue, run as a task of the current loop.

    A worker that stops without stop() (see _Worker) is replaced by a new one as soon as the
    queue's database answers; `problem` says why none runs meanwhile.
    """

    def __init__(
        self,
        queue: JobQueue,
        options: WorkerOptions,
        *,
        before: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.queue = queue
        self.options = options
        self.before = before  # run first, in the worker's task (stop() cancels it too)
        self.name = f"{socket.gethostname()}-{os.getpid()}"
        self._task: asyncio.Task[None] | None = None
        self._worker: _Worker | None = None
        self._stopping = False  # stop() was called: a worker that stops now is not replaced
        self._down: str | None = None  # why no worker takes jobs now; None while one does
        self._down_at = 0.0
        self._before_runs = False  # `before` is under way: stop() lets it finish

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def problem(self) -> str | None:
        """Why this process takes no jobs now (None: it does, or it is starting)."""
        if self._stopping:
            return "stopping"
        if not self.running:
            return "not running"
        return self._down

    def _went_down(self, why: str) -> None:
        if self._stopping or self._down is not None:
            return
        self._down, self._down_at = why, time.monotonic()
        log.error(
            "the job queue's worker stopped (%s): nothing is sent until PostgreSQL answers "
            "and a new one starts",
            why,
        )

    def _came_back(self) -> None:
        if self._down is not None:
            log.warning(
                "the job queue's worker runs again, %.1f s after it stopped",
                time.monotonic() - self._down_at,
            )
        self._down = None

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="cxbot delivery worker")

    async def _run(self) -> None:
        if self.before is not None:
            self._before_runs = True
            try:
                await self.before()
            finally:
                self._before_runs = False
        upkeep = (
            [
                asyncio.create_task(self._revive_forever(), name="cxbot stalled jobs"),
                asyncio.create_task(self._keep_statistics(), name="cxbot queue statistics"),
            ]
            if self.queue.persistent
            else []
        )
        upkeep.append(asyncio.create_task(self._wake_when_due(), name="cxbot due jobs"))
        # What App.run_worker_async does, keeping the Worker, so that stop() can ask it to stop
        # instead of cancelling it (see there).
        self.queue.app.perform_import_paths()  # type: ignore[no-untyped-call]
        try:
            while not self._stopping:
                await self._run_one()
                if not self._stopping:
                    await self._wait_for_database()
        finally:
            for task in upkeep:
                task.cancel()
            await asyncio.gather(*upkeep, return_exceptions=True)

    async def _run_one(self) -> None:
        """One procrastinate worker, until it stops; raises only if stop() was called."""
        options = self.options
        self._worker = _Worker(
            on_stop=lambda: self._went_down("procrastinate stopped it"),
            app=self.queue.app,
            queues=[QUEUE],
            name=self.name,
            concurrency=options.concurrency,
            fetch_job_polling_interval=options.poll_seconds,
            update_heartbeat_interval=options.heartbeat_seconds,
            stalled_worker_timeout=options.stalled_after_seconds,
            shutdown_graceful_timeout=SHUTDOWN_GRACE_S,
            delete_jobs="successful",
            install_signal_handlers=False,
        )
        try:
            await self._worker.run()  # type: ignore[no-untyped-call]
        except Exception as error:
            if self._stopping:
                raise
            self._went_down(f"{type(error).__name__}: {error}")
        else:
            self._went_down("it ended by itself")
        finally:
            self._worker = None

    async def _wait_for_database(self) -> None:
        """Until the queue's database answers, asking again with backoff."""
        delay = RESTART_FIRST_S
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(self._reconnect(), RESTART_PING_S)
            except Exception as error:  # unreachable still, or not answering
                log.info("the job queue's database does not answer yet (%s)", error)
                delay = min(delay * 2, RESTART_MAX_S)
            else:
                self._came_back()
                return

    async def _reconnect(self) -> None:
        """Raises unless the queue's database answers, through the pool as the next worker
        will ask it; renews the pool where it lags behind the server (see _renew_pool)."""
        connector = self.queue.app.connector
        if isinstance(connector, PsycopgConnector):
            await self._renew_pool(connector)
        await self.queue.app.job_manager.check_connection_async()

    async def _renew_pool(self, connector: PsycopgConnector) -> None:
        """Drop the pool's broken connections, and open a new pool if it is slow to refill.

        A restart breaks every pooled connection, and psycopg's pool reconnects with its own
        backoff (1, 2, 4 ... s): after an outage of 20 s its next try came 8 s after the
        server was back. So once the server takes a connection of ours, a pool that cannot
        hand one out within POOL_READY_S is closed and opened anew (a deferral that asks it
        in that moment fails, as it would have on a broken connection).
        """
        pool = connector.pool
        if isinstance(pool.conninfo, str):  # the server first: no new pool while it is away
            connection = await psycopg.AsyncConnection.connect(pool.conninfo)
            await connection.close()
        await pool.check()
        try:
            async with pool.connection(timeout=POOL_READY_S):
                return
        except psycopg.Error as error:  # PoolTimeout, or one more broken connection
            log.warning("the job queue's connection pool lags behind (%s); opening it anew", error)
        await connector.close_async()
        await connector.open_async()

    async def _revive_forever(self) -> None:
        while True:
            try:
                await revive_stalled(self.queue.app, self.options.stalled_after_seconds)
            except ConnectorException as error:  # the database is away (see _run)
                log.warning("looking for stalled jobs failed (%s); trying again", error.__cause__)
            except Exception:
                log.exception("looking for stalled jobs failed; trying again")
            await asyncio.sleep(self.options.heartbeat_seconds)

    async def _keep_statistics(self) -> None:
        while True:
            try:
                await self.queue.refresh_statistics()
            except Exception as error:  # the database is away: the fetch has no use for it now
                log.warning("renewing the job queue's statistics failed (%s); trying again", error)
            await asyncio.sleep(STATISTICS_CHECK_S)

    async def _wake_when_due(self) -> None:
        """Wake the worker when a job falls due, not at its next poll (see DUE_CHECK_S)."""
        while True:
            await asyncio.sleep(WAKE_GAP_S)
            try:
                seconds = await self.queue.next_due()
            except Exception as error:  # the database is away: the worker's own poll takes over
                log.debug("asking for the next due job failed (%s)", error)
                seconds = None
            if seconds is None or seconds > DUE_CHECK_S:
                await asyncio.sleep(DUE_CHECK_S - WAKE_GAP_S)
                continue
            await asyncio.sleep(seconds + WAKE_LATE_S)
            if self._worker is not None:
                self._worker.wake()

    async def wait(self) -> None:
        """Until the worker ends by itself (it does only on a fatal error: a stopped
        procrastinate worker is replaced, not an end)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop taking jobs and wait for those under way (procrastinate's graceful stop).

        The worker is asked, not cancelled: a cancel that lands while it is still starting
        (pruning stalled workers, registering itself) is swallowed on the way, and the worker
        then runs on for ever (seen: one test in ten starting and stopping cxbot at once hung).
        Its own stop() is forgotten too when it comes before the worker's run() began, so it
        is asked again until the worker has stopped. Before the worker exists the task is
        cancelled (nothing of procrastinate's runs then), except while `before` runs: that is
        let finish, and no worker starts after it. Cancelled mid-query, its SQL session never
        gave its connection back to the pool (SQLAlchemy warned of it from the garbage
        collector, long after the engine was disposed; seen on SQLite, whose catch-up at start
        runs there).
        """
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(asyncio.CancelledError):
            while not task.done():
                if self._worker is not None:
                    self._worker.stop()
                elif not self._before_runs:
                    task.cancel()
                await asyncio.wait({task}, timeout=STOP_ASK_S)
            await task
        self._worker = None
