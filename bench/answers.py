"""Answers per second: cxbot's real dispatcher, Redis state and SQL beside a bare aiogram bot.

Not a test. Run with the servers up, e.g.::

    python bench/answers.py --customers 300
    python bench/answers.py --database-url sqlite+aiosqlite:////tmp/bench.db

Each customer taps a score (callback_query) and writes a comment (message): two answers.
Both sides are fed through ``Dispatcher.feed_raw_update`` (no webhook HTTP) with the same
local Bot API server, Redis and database, and the same number of customers in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as `python bench/answers.py` from the repository: the fake Bot API lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from redis.asyncio import Redis
from servers import drop_database, ensure_database, serve_botapi  # bench/servers.py
from sqlalchemy import func, select, text

from bot.invite import InvitationRequest, invite
from bot.services import Services, open_services
from bot.settings import Settings
from storage.db import Database
from storage.tables import Answer, Invitation, InvitationStatus
from tests.bot.telegram.botapi import TOKEN, BotAPI, callback_update, message_update

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cxbot_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_RATIO = 0.7
WARMUP_CUSTOMERS = 5
BASE_CHAT = 5_000_000
BASELINE_TABLE = "bench_answers"


@dataclass(frozen=True)
class Span:
    """How long a timed phase took: wall-clock seconds and this process's CPU seconds."""

    seconds: float
    cpu: float


@dataclass
class Result:
    side: str
    updates: int
    answers: int
    span: Span

    @property
    def rate(self) -> float:
        return self.answers / self.span.seconds if self.span.seconds > 0 else 0.0

    @property
    def cpu_per_answer_ms(self) -> float:
        # Everything here (both bots, the fake Bot API) shares one process: when this is close
        # to 1000 / rate, the side is CPU-bound and fewer round trips or allocations are what
        # makes it faster, not more concurrency.
        return 1000 * self.span.cpu / self.answers if self.answers else 0.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300, help="customers timed per side")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL (database created if missing) or sqlite+aiosqlite:///path",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--concurrency", type=int, default=20, help="customers in flight")
    args = parser.parse_args()
    if args.customers < 1 or args.concurrency < 1:
        parser.error("--customers and --concurrency must be at least 1")
    return args


async def drop_keys(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        names = [name async for name in client.scan_iter(match=f"{prefix}*", count=1000)]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[None]]]) -> Span:
    """Run the jobs with at most ``concurrency`` at once; the time it took."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(job) for job in jobs))
    return Span(time.perf_counter() - started, time.process_time() - cpu)


# --- cxbot ------------------------------------------------------------------------------------
async def invite_customers(
    services: Services, botapi: BotAPI, chats: list[int], run: str, concurrency: int
) -> dict[int, tuple[int, int]]:
    """Invite and deliver one NPS survey per chat (not timed): chat -> (invitation, message)."""
    found: dict[int, tuple[int, int]] = {}

    async def one(chat: int) -> None:
        receipt = await invite(
            InvitationRequest(
                survey="nps", channel="telegram", recipient=str(chat), case_id=f"{run}-{chat}"
            ),
            catalog=services.catalog,
            database=services.database,
            channels=services.channels,
        )
        invitation_id = receipt.invitation.id
        assert invitation_id is not None
        status = await services.runner.deliver(invitation_id)
        assert status == InvitationStatus.SENT, status
        message_id = int(botapi.sent("sendMessage", chat)[-1]["_message_id"])
        found[chat] = (invitation_id, message_id)

    await bounded(concurrency, [lambda chat=chat: one(chat) for chat in chats])
    return found


async def cxbot_customers(
    services: Services,
    botapi: BotAPI,
    customers: dict[int, tuple[int, int]],
    concurrency: int,
) -> Span:
    telegram = services.telegram
    assert telegram is not None

    async def customer(chat: int, invitation_id: int, message_id: int) -> None:
        tap = callback_update(
            botapi.next_update_id(),
            chat,
            f"cx:{invitation_id}:score:{chat % 11}",
            message_id=message_id,
        )
        await telegram.dispatcher.feed_raw_update(telegram.bot, tap)
        comment = message_update(botapi.next_update_id(), chat, f"comment from {chat}")
        await telegram.dispatcher.feed_raw_update(telegram.bot, comment)

    return await bounded(
        concurrency,
        [
            lambda chat=chat, ids=ids: customer(chat, *ids)  # type: ignore[misc]
            for chat, ids in customers.items()
        ],
    )


async def run_cxbot(
    args: argparse.Namespace, botapi: BotAPI, prefix: str
) -> tuple[Result, str, int, int]:
    """The timed cxbot side; also the database dialect, answers stored, invitations done."""
    settings = Settings.model_validate(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "CXBOT_REDIS_PREFIX": prefix,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": botapi.url,
            "CXBOT_HTTP_HOST": "127.0.0.1",
            "CXBOT_HTTP_PORT": 0,
            "CXBOT_API_TOKEN": "x",
            "CXBOT_SURVEYS_DIR": None,
        }
    )
    services = await open_services(settings)
    try:
        n = args.customers
        warm = [BASE_CHAT + i for i in range(WARMUP_CUSTOMERS)]
        timed = [BASE_CHAT + WARMUP_CUSTOMERS + i for i in range(n)]
        warm_ids = await invite_customers(services, botapi, warm, prefix, args.concurrency)
        timed_ids = await invite_customers(services, botapi, timed, prefix, args.concurrency)
        await cxbot_customers(services, botapi, warm_ids, args.concurrency)
        span = await cxbot_customers(services, botapi, timed_ids, args.concurrency)
        ids = [invitation for invitation, _ in timed_ids.values()]
        async with services.database.session() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Answer).where(Answer.invitation_id.in_(ids))  # type: ignore[union-attr]
            )
            completed = await session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(
                    Invitation.id.in_(ids),  # type: ignore[union-attr]
                    Invitation.status == InvitationStatus.COMPLETED.value,
                )
            )
        return (
            Result("cxbot", 2 * n, 2 * n, span),
            services.database.dialect,
            int(stored or 0),
            int(completed or 0),
        )
    finally:
        await services.close()


# --- bare aiogram -----------------------------------------------------------------------------
def baseline_router(database: Database, redis: Redis, prefix: str) -> Router:
    router = Router(name="baseline")
    insert = text(f"INSERT INTO {BASELINE_TABLE} (user_id, value) VALUES (:user_id, :value)")

    async def store(user_id: int, value: str) -> None:
        await redis.set(f"{prefix}:state:{user_id}", value, px=3_600_000)
        async with database.engine.begin() as conn:
            await conn.execute(insert, {"user_id": user_id, "value": value})

    @router.callback_query()
    async def on_tap(query: CallbackQuery) -> None:
        await store(query.from_user.id, query.data or "")
        await query.answer()

    @router.message()
    async def on_message(msg: Message) -> None:
        assert msg.from_user is not None
        await store(msg.from_user.id, msg.text or "")

    return router


async def run_baseline(args: argparse.Namespace, botapi: BotAPI, prefix: str) -> Result:
    database = Database(args.database_url)  # the same engine and pool settings as cxbot's
    redis = Redis.from_url(args.redis_url, decode_responses=True)
    bot = Bot(token=TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(botapi.url)))
    dispatcher = Dispatcher()
    dispatcher.include_router(baseline_router(database, redis, prefix))
    primary = (
        "INTEGER PRIMARY KEY AUTOINCREMENT"
        if database.dialect == "sqlite"
        else "SERIAL PRIMARY KEY"
    )
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {BASELINE_TABLE}"))
            await conn.execute(
                text(
                    f"CREATE TABLE {BASELINE_TABLE} "
                    f"(id {primary}, user_id BIGINT NOT NULL, value TEXT NOT NULL)"
                )
            )

        async def customer(chat: int) -> None:
            tap = callback_update(
                botapi.next_update_id(), chat, f"cx:{chat}:score:{chat % 11}", message_id=1
            )
            await dispatcher.feed_raw_update(bot, tap)
            comment = message_update(botapi.next_update_id(), chat, f"comment from {chat}")
            await dispatcher.feed_raw_update(bot, comment)

        base = BASE_CHAT * 2
        warm = [base + i for i in range(WARMUP_CUSTOMERS)]
        timed = [base + WARMUP_CUSTOMERS + i for i in range(args.customers)]
        await bounded(args.concurrency, [lambda c=c: customer(c) for c in warm])
        async with database.engine.begin() as conn:
            before = int(await conn.scalar(text(f"SELECT count(*) FROM {BASELINE_TABLE}")) or 0)
        span = await bounded(args.concurrency, [lambda c=c: customer(c) for c in timed])
        async with database.engine.begin() as conn:
            after = int(await conn.scalar(text(f"SELECT count(*) FROM {BASELINE_TABLE}")) or 0)
        if after - before != 2 * args.customers:
            raise SystemExit(
                f"baseline stored {after - before} rows, expected {2 * args.customers}"
            )
        return Result("baseline", 2 * args.customers, 2 * args.customers, span)
    finally:
        async with database.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {BASELINE_TABLE}"))
        await bot.session.close()
        await redis.aclose()
        await database.dispose()


# --- report -----------------------------------------------------------------------------------
def print_table(results: list[Result]) -> None:
    header = (
        f"{'side':<10} {'updates':>8} {'answers':>8} {'seconds':>8} {'answers/s':>10} "
        f"{'cpu ms/answer':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.side:<10} {r.updates:>8} {r.answers:>8} {r.span.seconds:>8.3f} {r.rate:>10.1f} "
            f"{r.cpu_per_answer_ms:>14.2f}"
        )


async def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    run = uuid.uuid4().hex[:10]
    cx_prefix, base_prefix = f"cxbench-{run}", f"cxbench-base-{run}"
    created = await ensure_database(args.database_url)
    botapi, botapi_runner = await serve_botapi()
    exit_code = 0
    try:
        cxbot, dialect, stored, completed = await run_cxbot(args, botapi, cx_prefix)
        baseline = await run_baseline(args, botapi, base_prefix)
        n = args.customers
        print(f"database dialect: {dialect}; redis: {args.redis_url}")
        print(f"customers: {n}; concurrency: {args.concurrency}; warm-up: {WARMUP_CUSTOMERS}")
        print_table([cxbot, baseline])
        ratio = cxbot.rate / baseline.rate if baseline.rate > 0 else 0.0
        verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
        print(f"ratio cxbot/baseline: {ratio:.2f} ({verdict} target {TARGET_RATIO})")
        print(f"answers rows in SQL: {stored} (expected {2 * n})")
        print(f"invitations completed: {completed} (expected {n})")
        if stored != 2 * n or completed != n:
            print("VERIFICATION FAILED")
            exit_code = 1
    finally:
        await botapi_runner.cleanup()
        await drop_keys(args.redis_url, cx_prefix)
        await drop_keys(args.redis_url, base_prefix)
        if created:
            await drop_database(args.database_url)
    return exit_code


def run_main() -> Any:
    return asyncio.run(main())


if __name__ == "__main__":
    raise SystemExit(run_main())
