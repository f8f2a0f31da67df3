"""The job queue on PostgreSQL: its index, fresh statistics, follow-ups in one go, idle checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import psycopg
import pytest

from bot.delivery import queue as queue_module
from bot.delivery.queue import (
    LOCK_INDEX,
    SCHEMA,
    IdleCheck,
    JobQueue,
    Kind,
    aware,
    postgres_conninfo,
)
from tests.bot.delivery.queue import jobs

BACKLOG = 1500


@pytest.fixture
async def queue(postgres_url: str) -> AsyncIterator[JobQueue]:
    opened = JobQueue(postgres_url, concurrency=2)
    await opened.open()
    yield opened
    await opened.close()


def execute(postgres_url: str, statement: str) -> list[tuple[object, ...]]:
    conninfo = postgres_conninfo(postgres_url)
    with psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={SCHEMA}") as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def lock_index(postgres_url: str) -> list[tuple[object, ...]]:
    return execute(
        postgres_url,
        f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{SCHEMA}' "
        f"AND indexname = '{LOCK_INDEX}'",
    )


def planned_rows(postgres_url: str) -> float:
    [(rows,)] = execute(
        postgres_url,
        f"SELECT reltuples FROM pg_class WHERE oid = '{SCHEMA}.procrastinate_jobs'::regclass",
    )
    assert isinstance(rows, float)
    return rows


async def test_the_lock_index_is_made_again_on_start_when_missing(
    queue: JobQueue, postgres_url: str
) -> None:
    [(definition,)] = lock_index(postgres_url)
    assert "(lock)" in str(definition) and "todo" in str(definition) and "doing" in str(definition)

    # procrastinate's schema management (a migration, a reinstall) knows nothing of it.
    execute(postgres_url, f"DROP INDEX {SCHEMA}.{LOCK_INDEX}")
    again = JobQueue(postgres_url, concurrency=1)
    await again.open()
    await again.close()

    assert len(lock_index(postgres_url)) == 1


async def test_a_backlog_queued_at_once_gets_fresh_statistics_once(
    queue: JobQueue, postgres_url: str
) -> None:
    execute(postgres_url, f"ANALYZE {SCHEMA}.procrastinate_jobs")  # taken while empty
    assert planned_rows(postgres_url) == 0
    assert await queue.refresh_statistics() is False

    execute(
        postgres_url,
        f"INSERT INTO {SCHEMA}.procrastinate_jobs (queue_name, task_name, lock, args, priority) "
        "SELECT 'cxbot', 'cxbot.send', 'cxbot.send:' || i, "
        f"jsonb_build_object('invitation_id', i), -i FROM generate_series(1, {BACKLOG}) AS i",
    )
    # The inserting session's counts reach PostgreSQL's statistics within a second or so.
    deadline = time.monotonic() + 10.0
    while not await queue.refresh_statistics():
        assert time.monotonic() < deadline, "the backlog was never analysed"
        await asyncio.sleep(0.1)

    assert planned_rows(postgres_url) == BACKLOG
    assert await queue.refresh_statistics() is False  # nothing grew since


async def test_without_postgres_there_is_nothing_to_analyse() -> None:
    queue = JobQueue("sqlite+aiosqlite:///unused.db", concurrency=1)
    await queue.open()
    try:
        assert await queue.refresh_statistics() is False
    finally:
        await queue.close()


async def test_follow_ups_go_in_together_and_one_waiting_already_is_kept(
    queue: JobQueue, postgres_url: str
) -> None:
    at = datetime(2030, 1, 1, 9, 0)
    assert await queue.defer_all(7, [(Kind.REMIND, at), (Kind.EXPIRE, at + timedelta(days=1))]) == 2
    # Again, with the reminder moved: it waits already, so only the new expiry of 8 goes in.
    assert await queue.defer(Kind.REMIND, 8, at)
    later = at + timedelta(hours=1)
    assert await queue.defer_all(8, [(Kind.REMIND, later), (Kind.EXPIRE, later)]) == 1

    waiting = sorted(
        (str(job["task_name"]), job["args"]["invitation_id"], job["scheduled_at"])
        for job in jobs(postgres_url, status="todo")
    )
    assert waiting == [
        ("cxbot.expire", 7, aware(at + timedelta(days=1))),
        ("cxbot.expire", 8, aware(later)),
        ("cxbot.remind", 7, aware(at)),
        ("cxbot.remind", 8, aware(at)),
    ]


async def test_a_connection_in_steady_use_is_not_checked_and_an_idle_one_is(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conninfo = postgres_conninfo(postgres_url)
    check = IdleCheck(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await check(conn)  # first hand-out: checked
        # Inside a transaction the pool's check (which switches to autocommit) cannot run:
        # it raises if it is made, and so tells whether it was.
        await conn.execute("SELECT 1")
        await check(conn)  # handed out again at once: not checked (no round trip)

        monkeypatch.setattr(queue_module, "CHECK_IDLE_S", 0.0)
        with pytest.raises(psycopg.ProgrammingError):
            await check(conn)  # idle long enough: checked


async def test_a_connection_the_server_hung_up_on_is_checked_however_recently_used(
    postgres_url: str,
) -> None:
    conninfo = postgres_conninfo(postgres_url)
    check = IdleCheck(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await check(conn)
        execute(postgres_url, f"SELECT pg_terminate_backend({conn.info.backend_pid})")
        deadline = time.monotonic() + 10
        while not queue_module._spoken_to(conn):  # the server's word takes a moment
            assert time.monotonic() < deadline, "the terminated connection was never told"
            await asyncio.sleep(0.01)
        # Handed out again at once, but the server hung up on it and answers new connections:
        # refused, so that the pool hands out another one instead.
        with pytest.raises(psycopg.OperationalError):
            await check(conn)
