"""Stopping the queue's worker while the work it does before starting (SQLite's catch-up) runs."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.delivery.queue import JobQueue
from bot.delivery.worker import QueueWorker, WorkerOptions
from storage.db import Database
from storage.tables import Invitation


async def test_a_stop_during_the_catch_up_at_start_lets_it_finish(
    sqlite_database: Database,
) -> None:
    # Cancelled mid-query, the catch-up's session never gave its connection back to the pool.
    queue = JobQueue(sqlite_database.url, concurrency=1)
    await queue.open()
    inside, finished = asyncio.Event(), asyncio.Event()

    async def catch_up() -> None:  # reads as DeliveryJobs.catch_up does, and takes a while
        async with sqlite_database.session() as session:
            await session.exec(select(Invitation))
            inside.set()
            await asyncio.sleep(0.3)
            await session.exec(select(Invitation))
        finished.set()

    worker = QueueWorker(queue, WorkerOptions(), before=catch_up)
    try:
        worker.start()
        await inside.wait()
        await worker.stop()

        assert finished.is_set()
        assert sqlite_database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert not worker.running
    finally:
        await queue.close()
