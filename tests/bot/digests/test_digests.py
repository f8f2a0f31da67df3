"""Digests on both databases: subscribe, the slot comes, once with two workers, late once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.admin.access import Access
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply
from bot.digests import Digests
from bot.digests.telegram import TelegramDigests
from tests.bot.digests.conftest import (
    ADMIN,
    GROUP,
    LEAD,
    MONDAY_SLOT,
    TOKEN,
    ZONE,
    Recorder,
    Setup,
)
from tests.bot.telegram.botapi import BotAPI


async def test_subscribe_lists_and_refuses_twice(setup: Setup) -> None:
    added = await setup.commands.handle(ADMIN, "digest weekly mon 09:00 team=billing")
    assert added.text == (
        "Digest added: weekly mon 09:00 team=billing — next 2026-11-30 09:00 Europe/Warsaw "
        "(set by telegram:42)"
    )
    again = await setup.commands.handle(ADMIN, "digest weekly Monday 09:00 team=billing")
    assert again.text.startswith("This chat already has that digest")
    (row,) = await setup.rows()
    assert (row.channel, row.address, row.schedule, row.filters) == (
        "telegram",
        GROUP,
        "weekly mon 09:00",
        "team=billing",
    )
    assert row.next_at == MONDAY_SLOT
    listed = await setup.commands.handle(ADMIN, "digest")
    assert listed.text == (
        "Digests in this chat:\n1. weekly mon 09:00 team=billing — next 2026-11-30 09:00 "
        "Europe/Warsaw (set by telegram:42)"
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("digest hourly 09:00", "A digest is daily or weekly"),
        ("digest weekly 09:00", "A weekly digest names its day"),
        ("digest daily 9h", "A digest names its time as HH:MM"),
        ("digest daily 24:00", "A digest names its time as HH:MM"),
        ("digest daily 08:00 30d", "A digest covers its own period"),
        ("digest daily 08:00 teem=billing", "teem"),
    ],
)
async def test_bad_digest_lines_are_refused_and_store_nothing(
    setup: Setup, line: str, says: str
) -> None:
    reply = await setup.commands.handle(ADMIN, line)
    assert says in reply.text
    assert await setup.rows() == []


async def test_the_slot_comes_and_is_posted_once(setup: Setup) -> None:
    await setup.commands.handle(ADMIN, "digest weekly mon 09:00")
    worker = setup.worker()
    setup.clock.now = MONDAY_SLOT - timedelta(seconds=1)
    assert await worker.tick() == 0
    setup.clock.now = MONDAY_SLOT + timedelta(seconds=20)
    assert await worker.tick() == 1
    assert await worker.tick() == 0
    ((address, reply),) = setup.recorder.posts
    assert address == GROUP
    head, _, body = reply.text.partition("\n\n")
    assert head == "Digest · weekly mon 09:00 · Europe/Warsaw"  # on time: not called late
    assert "NPS" in body and "n=4" in body.replace(" ", "")
    assert [a.kind for a in reply.attachments] and all(
        a.kind == "photo" and a.data for a in reply.attachments
    )
    (row,) = await setup.rows()
    assert row.next_at == MONDAY_SLOT + timedelta(days=7)
    assert row.posted_at == MONDAY_SLOT + timedelta(seconds=20)


@dataclass
class SlowRecorder(Recorder):
    """A Recorder whose post is under way (``posting`` set) for a while before it is kept."""

    posting: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, address: str, reply: AdminReply) -> None:
        self.posting.set()
        await asyncio.sleep(0.3)
        await super().post(address, reply)


async def test_a_stop_while_a_digest_is_posted_lets_it_be_posted(setup: Setup) -> None:
    # Cancelled, the post was lost (its slot taken already), and on SQLite a look cancelled
    # mid-query left its connection unreturned.
    await setup.commands.handle(ADMIN, "digest weekly mon 09:00")
    setup.clock.now = MONDAY_SLOT + timedelta(seconds=20)
    slow = SlowRecorder()
    worker = setup.worker(slow)
    worker.start()
    await slow.posting.wait()
    await worker.stop()

    assert [address for address, _ in slow.posts] == [GROUP]
    assert setup.database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_two_workers_racing_post_once(setup: Setup) -> None:
    await setup.commands.handle(ADMIN, "digest daily 08:00")
    await setup.commands.handle(ADMIN, "digest weekly mon 09:00 team=support")
    workers = [setup.worker(), setup.worker(), setup.worker()]
    setup.clock.now = MONDAY_SLOT + timedelta(minutes=1)
    posted = await asyncio.gather(*(w.tick() for w in workers))
    assert sum(posted) == 2
    assert sorted(r.text.split("\n")[0] for _, r in setup.recorder.posts) == [
        "Digest · daily 08:00 · Europe/Warsaw",
        "Digest · weekly mon 09:00 team=support · Europe/Warsaw",
    ]


async def test_a_missed_slot_is_posted_late_once(setup: Setup) -> None:
    await setup.commands.handle(ADMIN, "digest weekly mon 09:00")
    worker = setup.worker()
    # cxbot was down for three Mondays; it comes back on a Wednesday.
    setup.clock.now = MONDAY_SLOT + timedelta(days=16)
    assert await worker.tick() == 1
    assert await worker.tick() == 0
    ((_, reply),) = setup.recorder.posts
    assert reply.text.split("\n")[:2] == [
        "Digest · weekly mon 09:00 · Europe/Warsaw",
        "Posted late: it was due 2026-11-30 09:00 Europe/Warsaw",
    ]
    (row,) = await setup.rows()
    assert row.next_at == MONDAY_SLOT + timedelta(days=21)  # the next Monday still to come


async def test_a_failed_post_is_tried_again_not_lost(setup: Setup) -> None:
    await setup.commands.handle(ADMIN, "digest daily 08:00")
    setup.recorder.failures = 1
    worker = setup.worker()
    setup.clock.now = datetime(2026, 11, 27, 7, 0, 30)
    assert await worker.tick() == 0
    (row,) = await setup.rows()
    assert row.next_at == datetime(2026, 11, 27, 7, 0)  # the slot is still due
    assert await worker.tick() == 1
    assert len(setup.recorder.posts) == 1


async def test_a_lead_subscribes_to_their_teams_only(setup: Setup) -> None:
    refused = await setup.commands.handle(LEAD, "digest daily 08:00 team=support")
    assert refused.text == NOT_ALLOWED
    assert await setup.rows() == []
    await setup.commands.handle(LEAD, "digest daily 08:00")
    setup.clock.now = datetime(2026, 11, 27, 7, 0)
    assert await setup.worker().tick() == 1
    ((_, reply),) = setup.recorder.posts
    body = reply.text.replace(" ", "")
    assert "n=3" in body and "n=4" not in body  # billing's three answers, not support's


async def test_a_digest_of_someone_no_longer_admin_is_not_posted(setup: Setup) -> None:
    await setup.commands.handle(LEAD, "digest daily 08:00")
    assert setup.commands.results is not None
    worker = Digests(
        setup.database,
        Access.parse("telegram:42"),  # the lead was taken off CXBOT_ADMINS
        setup.commands.results,
        {"telegram": setup.recorder},
        timezone=ZONE,
        clock=setup.clock,
    )
    setup.clock.now = datetime(2026, 11, 27, 7, 0)
    assert await worker.tick() == 0
    assert setup.recorder.posts == []


async def test_digest_off(setup: Setup) -> None:
    await setup.commands.handle(ADMIN, "digest weekly mon 09:00")
    await setup.commands.handle(LEAD, "digest daily 08:00 team=billing")
    lead_off = await setup.commands.handle(LEAD, "digest off")
    assert lead_off.text == (
        "Turned off 1 digest in this chat. 1 set by an admin or another lead stays."
    )
    admin_off = await setup.commands.handle(ADMIN, "digest off")
    assert admin_off.text == "Turned off 1 digest in this chat."
    assert await setup.rows() == []
    assert (await setup.commands.handle(ADMIN, "digest")).text.startswith("No digests in this chat")
    setup.clock.now = MONDAY_SLOT + timedelta(days=1)
    assert await setup.worker().tick() == 0
    assert setup.recorder.posts == []


async def test_digest_needs_the_chat_it_is_for(setup: Setup) -> None:
    reply = await setup.commands.handle(Actor("telegram", "42"), "digest daily 08:00")
    assert reply.text.startswith("Type the digest command in the group")


async def test_posted_to_the_telegram_group(setup: Setup, botapi: BotAPI) -> None:
    await setup.commands.handle(ADMIN, "digest daily 08:00")
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(botapi.url)))
    try:
        setup.clock.now = datetime(2026, 11, 27, 7, 0)
        assert await setup.worker(TelegramDigests(bot)).tick() == 1
    finally:
        await bot.session.close()
    (message,) = botapi.sent("sendMessage", int(GROUP))
    assert message["text"].startswith("Digest · daily 08:00 · Europe/Warsaw\n\n")
    assert [(u.method, u.chat_id) for u in botapi.uploads] == [
        ("sendPhoto", int(GROUP)) for _ in botapi.uploads
    ] and botapi.uploads
