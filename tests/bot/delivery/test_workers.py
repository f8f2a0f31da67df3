"""Two `cxbot worker` processes deliver 600 invitations through 429s and a SIGKILL, once each."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.runner import INTERRUPTED_SEND
from storage.clock import utcnow
from storage.db import Database
from storage.tables import InvitationStatus
from tests.bot.delivery.fleet import (
    Fleet,
    WorkerSetup,
    delete_redis_keys,
    deliveries_per_chat,
    flood_refusals,
    held_locks,
    invitation_rows,
    lapse_locks,
    queue_sends,
    seed_invitations,
)
from tests.bot.telegram.botapi import BotAPI

INVITATIONS = 600
FIRST_CHAT = 9_000_000
CONCURRENCY = 10
RETRY_AFTER = 1
# Telegram's flood control as the local Bot API plays it: above this many sendMessage a
# second, 429 with retry_after. It starts low, so that 429s happen however fast this machine
# is, and is raised once they did, so that the run fits in the test's time.
FLOOD_LIMIT_FIRST = 5
FLOOD_LIMIT_THEN = 100
# Kill one worker once this many messages were delivered.
KILL_AFTER = 150
# A killed worker's Redis locks on the invitations it was sending live on for lock_ttl (60 s),
# and the jobs taken over wait for them: the test lets them lapse this long after the kill
# (by then the live worker has let go of any lock it held at the kill).
LAPSE_AFTER_S = 1.0
SETTLE_WITHIN_S = 60.0
UNSETTLED = {InvitationStatus.SCHEDULED.value, InvitationStatus.SENDING.value}


@pytest.fixture
async def fleet(
    postgres_database: Database, redis_url: str, botapi: BotAPI, tmp_path: Path
) -> AsyncIterator[Fleet]:
    """Two workers' setup on this run's PostgreSQL, a Redis prefix of their own, the local API."""
    prefix = f"cxtest-{secrets.token_hex(5)}"
    setup = WorkerSetup(
        database_url=postgres_database.url,
        redis_url=redis_url,
        redis_prefix=prefix,
        telegram_api_url=botapi.url,
        rate="200/second",
        concurrency=CONCURRENCY,
        poll_seconds=0.2,
        heartbeat_seconds=0.5,
        stalled_after_seconds=2.0,
    )
    workers = Fleet(setup, tmp_path / "workers")
    try:
        yield workers
    finally:
        await workers.stop()
        await delete_redis_keys(redis_url, prefix)


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float, what: str, fleet: Fleet
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within}s\n{fleet.logs()}")
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_two_workers_deliver_each_invitation_once_through_429s_and_a_kill(
    postgres_database: Database, botapi: BotAPI, fleet: Fleet, redis_url: str
) -> None:
    botapi.flood_limit = FLOOD_LIMIT_FIRST
    botapi.flood_retry_after = RETRY_AFTER
    chats = [FIRST_CHAT + i for i in range(INVITATIONS)]
    due = utcnow()
    ids = await seed_invitations(postgres_database, chats, [due] * INVITATIONS)
    await queue_sends(postgres_database.url, [(invitation_id, due) for invitation_id in ids])

    await fleet.start(2)

    async def refused() -> bool:
        return bool(flood_refusals(botapi))

    await wait_until(refused, 60.0, "no 429 from the local Bot API", fleet)
    botapi.flood_limit = FLOOD_LIMIT_THEN

    async def enough_delivered() -> bool:
        return len(botapi.delivered()) >= KILL_AFTER

    await wait_until(enough_delivered, 60.0, f"{KILL_AFTER} messages delivered", fleet)
    fleet.kill(0)  # mid-run, mid-send: SIGKILL leaves its jobs `doing` and its rows claimed
    await fleet.workers[0].process.wait()
    held = await held_locks(redis_url, fleet.setup.redis_prefix)
    await asyncio.sleep(LAPSE_AFTER_S)
    await lapse_locks(redis_url, held)

    async def settled() -> bool:
        rows = await invitation_rows(postgres_database)
        return not any(row.status in UNSETTLED for row in rows.values())

    await wait_until(settled, SETTLE_WITHIN_S, "invitations still scheduled or sending", fleet)

    try:
        await check_outcome(postgres_database, botapi, fleet, chats)
    except AssertionError:
        print(fleet.logs())  # pytest shows it with the failure
        raise


async def check_outcome(database: Database, botapi: BotAPI, fleet: Fleet, chats: list[int]) -> None:
    assert fleet.exited()[0] == -9
    assert fleet.exited()[1] is None, "the other worker carried on"
    rows = await invitation_rows(database)
    per_chat = deliveries_per_chat(botapi)
    assert sorted(rows) == sorted(str(chat) for chat in chats)
    # Never twice: no chat got the survey more than once, none outside the invitations got one.
    assert max(per_chat.values()) == 1
    assert set(per_chat) <= set(rows)
    sent = {chat for chat, row in rows.items() if row.status == InvitationStatus.SENT.value}
    assert all(per_chat[chat] == 1 for chat in sent)
    # Nothing lost: every other invitation is one the killed worker had claimed for sending
    # when it died. It is failed with that reason, not sent again: the message may or may not
    # have reached Telegram before the kill (neither Telegram nor Slack takes an idempotency
    # key), so such a chat has at most one message, and the row says why it is not `sent`.
    interrupted = {chat: row for chat, row in rows.items() if chat not in sent}
    assert all(row.status == InvitationStatus.FAILED.value for row in interrupted.values())
    assert all(row.failure_reason == INTERRUPTED_SEND for row in interrupted.values())
    assert len(interrupted) <= CONCURRENCY  # at most one per job the killed worker ran
    assert all(per_chat[chat] <= 1 for chat in interrupted)
    # 429s were answered, and each refused message went out again only after retry_after.
    refusals = flood_refusals(botapi)
    assert refusals
    delivered_at = {str(call.params["chat_id"]): call.at for call in botapi.delivered()}
    for refusal in refusals:
        chat = str(refusal.params["chat_id"])
        if chat in delivered_at:
            assert delivered_at[chat] >= refusal.at + RETRY_AFTER
    assert len(sent) + len(interrupted) == INVITATIONS
