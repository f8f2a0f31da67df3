"""`cxbot worker`: a process that only sends (no polling, no webhook; HTTP for health only)."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.delivery.errors import WorkerNeedsPostgres
from bot.delivery.queue import is_postgres
from bot.heap import freeze_startup_objects
from bot.services import open_services
from bot.settings import Settings
from bot.worker_http import worker_http

log = logging.getLogger(__name__)


async def work(
    settings: Settings,
    concurrency: int | None = None,
    heartbeat_seconds: float | None = None,
    stalled_after_seconds: float | None = None,
) -> None:
    """Run the queue's worker until SIGTERM or SIGINT; the sends under way finish first.

    Raises WorkerNeedsPostgres on SQLite, whose queue lives inside `cxbot run`.
    """
    if not is_postgres(settings.database_url):
        raise WorkerNeedsPostgres()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # This process is where the queue's worker runs, whatever CXBOT_EMBEDDED_WORKER says for
    # `cxbot run`: so Services' readiness asks for that worker too, as it does in `cxbot run`.
    services = await open_services(settings.model_copy(update={"embedded_worker": True}))
    # As in `cxbot run`: a full collection of the startup objects stalls the process ~0.2 s,
    # and the sends it holds moments for would reach the platform late and bunched up.
    freeze_startup_objects()
    try:
        async with worker_http(services):
            log.info("cxbot worker: sending from the job queue")
            await services.delivery.run(
                stop,
                concurrency=concurrency,
                heartbeat_seconds=heartbeat_seconds,
                stalled_after_seconds=stalled_after_seconds,
            )
    finally:
        await services.close()
    log.info("cxbot worker stopped")
