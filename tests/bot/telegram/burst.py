"""A burst of customers answering at once through cxbot's real polling loop, optionally with
Redis stopped for a while in the middle: shared by tests/bot/telegram/test_burst.py (a size
that fits a test) and bench/burst.py (thousands, with figures).

cxbot runs whole (`bot.main.running`) in polling mode against the local Bot API, on
PostgreSQL and a redis-server of its own (tests/own_redis.py, no persistence: stopped, it
comes back empty). Every customer gets an NPS survey, then all tap a score at once (queued
in the Bot API as after cxbot was down for a while); half of them write a comment once they
see the comment question, as a person would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select

from bot.main import running
from bot.services import Services
from bot.settings import Settings
from storage.db import Database
from storage.outages import unreachable
from storage.tables import Answer
from tests.bot.telegram.botapi import BotAPI, callback_update, message_update
from tests.bot.telegram.sent import questions_sent, send_nps
from tests.own_redis import OwnRedis

FIRST_CHAT = 7_000_000
SAMPLE_EVERY_S = 0.05


@dataclass
class Outage:
    """Redis stopped `seconds` long, once `after` answers of the burst were stored."""

    seconds: float
    after: int
    began: float = 0.0
    ended: float = 0.0


@dataclass
class BurstResult:
    customers: int
    expected: int
    stored: int
    comments_expected: int
    comments_stored: int
    drain_s: float
    peak_redis_clients: int
    peak_postgres_connections: int
    outage: Outage | None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.stored == self.expected and not self.problems


class Peaks:
    """Samples Redis clients (INFO) and PostgreSQL backends (pg_stat_activity) in the
    background; a sample that fails (Redis stopped) is skipped."""

    def __init__(self, redis: OwnRedis, database_url: str) -> None:
        self.redis = redis
        self.engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
        self.redis_clients = 0
        self.postgres_connections = 0
        self.stopping = False

    async def run(self) -> None:
        async with self.engine.connect() as conn:
            while not self.stopping:
                with contextlib.suppress(Exception):
                    # minus our own connection
                    self.redis_clients = max(self.redis_clients, await self.redis.clients() - 1)
                backends = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                await conn.rollback()
                self.postgres_connections = max(self.postgres_connections, int(backends or 0))
                await asyncio.sleep(SAMPLE_EVERY_S)


@contextlib.asynccontextmanager
async def sampling(peaks: Peaks) -> AsyncIterator[Peaks]:
    task = asyncio.create_task(peaks.run())
    try:
        yield peaks
    finally:
        # Asked to stop rather than cancelled: redis-py (8.1) swallows a cancellation that lands
        # in a command about one time in three (seen in OwnRedis.clients()), and the sampling
        # then went on for ever, hanging the test once the burst was done.
        peaks.stopping = True
        await asyncio.gather(task, return_exceptions=True)
        await peaks.engine.dispose()


async def answers_stored(database: Database) -> tuple[int, int]:
    """(answers, comments) stored so far."""
    async with database.session() as session:
        every = (await session.exec(select(func.count()).select_from(Answer))).one()
        comments = (
            await session.exec(
                select(func.count()).select_from(Answer).where(col(Answer.text).is_not(None))
            )
        ).one()
    return int(every), int(comments)


async def deliver_surveys(services: Services, chats: list[int], concurrency: int) -> dict[int, int]:
    """One NPS survey sent to each chat (not timed): chat -> invitation id."""
    invitations: dict[int, int] = {}
    turns = asyncio.Semaphore(concurrency)

    async def one(chat: int) -> None:
        # The seeding is not measured: a PostgreSQL that other work on the machine keeps full
        # ("too many clients") is waited for.
        for _ in range(60):
            try:
                await deliver_one(chat)
                return
            except Exception as error:
                if not unreachable(error):
                    raise
                await asyncio.sleep(0.5)
        await deliver_one(chat)

    async def deliver_one(chat: int) -> None:
        async with turns:
            invitations[chat] = await send_nps(services, chat, f"B-{chat}")

    await asyncio.gather(*(one(chat) for chat in chats))
    return invitations


async def run_burst(
    settings: Settings,
    botapi: BotAPI,
    redis: OwnRedis,
    *,
    customers: int,
    outage: Outage | None = None,
    within: float = 600.0,
    deliver_concurrency: int = 50,
) -> BurstResult:
    """Run the burst against cxbot started with `settings` (polling, this Redis, PostgreSQL)."""
    chats = [FIRST_CHAT + i for i in range(customers)]
    commenters = set(chats[::2])
    expected = customers + len(commenters)
    problems: list[str] = []
    async with running(settings) as server:
        services = server.services
        invitations = await deliver_surveys(services, chats, deliver_concurrency)
        questions = questions_sent(botapi.calls)
        seen_calls = len(botapi.calls)
        peaks = Peaks(redis, settings.database_url)
        async with sampling(peaks):
            started = time.monotonic()
            for chat in chats:  # all at once: one backlog for getUpdates
                botapi.push(
                    callback_update(
                        botapi.next_update_id(),
                        chat,
                        f"cx:{invitations[chat]}:score:{chat % 11}",
                        message_id=questions[chat],
                    )
                )
            waiting_comment = set(commenters)
            stored = comments = 0
            deadline = started + within
            while time.monotonic() < deadline:
                # A customer writes their comment once the comment question reached them.
                for call in botapi.calls[seen_calls:]:
                    chat = int(call.params.get("chat_id", 0))
                    # The comment question comes with its Skip button; thanks has none.
                    asked = call.method == "sendMessage" and call.params.get("reply_markup")
                    if asked and chat in waiting_comment:
                        waiting_comment.discard(chat)
                        botapi.push(
                            message_update(botapi.next_update_id(), chat, f"comment {chat}")
                        )
                seen_calls = len(botapi.calls)
                stored, comments = await answers_stored(services.database)
                if outage is not None and not outage.began and stored >= outage.after:
                    await redis.stop()
                    outage.began = time.monotonic() - started
                    await asyncio.sleep(outage.seconds)
                    await redis.start()
                    outage.ended = time.monotonic() - started
                if stored >= expected:
                    break
                await asyncio.sleep(0.05)
            drain = time.monotonic() - started
        if stored != expected:
            problems.append(f"{expected - stored} answers missing after {within:.0f}s")
    return BurstResult(
        customers=customers,
        expected=expected,
        stored=stored,
        comments_expected=len(commenters),
        comments_stored=comments,
        drain_s=drain,
        peak_redis_clients=peaks.redis_clients,
        peak_postgres_connections=peaks.postgres_connections,
        outage=outage,
        problems=problems,
    )
