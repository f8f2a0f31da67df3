"""Runs the queue's worker inside this process's event loop, and revives stalled jobs.

A procrastinate worker writes a heartbeat every few seconds. A worker killed mid-job (kill
-9, a lost machine) stops writing it, and its jobs stay "doing": every live worker looks for
such jobs and puts them back in the queue, where the job sees its invitation `sending` and
marks it failed rather than sending it twice (see SurveyRunner.deliver).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from procrastinate import App
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
# How often a worker looks whether the queue outgrew its statistics (one cheap query).
STATISTICS_CHECK_S = 2.0


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


class QueueWorker:
    """One procrastinate worker on cxbot's queue, run as a task of the current loop."""

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
        self._worker: Worker | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="cxbot delivery worker")

    async def _run(self) -> None:
        options = self.options
        if self.before is not None:
            await self.before()
        upkeep = (
            [
                asyncio.create_task(self._revive_forever(), name="cxbot stalled jobs"),
                asyncio.create_task(self._keep_statistics(), name="cxbot queue statistics"),
            ]
            if self.queue.persistent
            else []
        )
        # What App.run_worker_async does, keeping the Worker, so that stop() can ask it to stop
        # instead of cancelling it (see there).
        self.queue.app.perform_import_paths()  # type: ignore[no-untyped-call]
        self._worker = Worker(
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
        finally:
            for task in upkeep:
                task.cancel()
            await asyncio.gather(*upkeep, return_exceptions=True)

    async def _revive_forever(self) -> None:
        while True:
            try:
                await revive_stalled(self.queue.app, self.options.stalled_after_seconds)
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

    async def wait(self) -> None:
        """Until the worker ends by itself (it does only on a fatal error)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop taking jobs and wait for those under way (procrastinate's graceful stop).

        The worker is asked, not cancelled: a cancel that lands while it is still starting
        (pruning stalled workers, registering itself) is swallowed on the way, and the worker
        then runs on for ever (seen: one test in ten starting and stopping cxbot at once hung).
        Its own stop() is forgotten too when it comes before the worker's run() began, so it
        is asked again until the worker has stopped. Before the worker exists (the catch-up
        of `before` runs) the task is cancelled: nothing of procrastinate's runs yet.
        """
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(asyncio.CancelledError):
            while not task.done():
                if self._worker is None:
                    task.cancel()
                else:
                    self._worker.stop()  # type: ignore[no-untyped-call]
                await asyncio.wait({task}, timeout=STOP_ASK_S)
            await task
        self._worker = None
