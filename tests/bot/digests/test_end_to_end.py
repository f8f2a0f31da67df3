"""/digest typed in a Telegram group of a running cxbot: stored for that group, posted there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select, update

from bot.main import running
from storage.clock import utcnow
from storage.db import Database
from storage.tables import Digest
from tests.bot.conftest import (
    Harness,
    SlackHarness,
    cxbot_settings,
    running_with_slack,
    telegram_webhook,
)
from tests.bot.slack.test_survey_flow import FORM
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI, message_update
from tests.storage.reportdata import Seed, seed

ADMIN = 42
GROUP = -100777


@pytest.fixture
async def harness(database: Database, redis_url: str, botapi: BotAPI) -> AsyncIterator[Harness]:
    settings = cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        CXBOT_ADMINS=f"telegram:{ADMIN}",
        CXBOT_REPORT_TIMEZONE="Europe/Warsaw",
    )
    async with running(settings) as server, ClientSession() as http:
        yield Harness(server, http, botapi, database)


async def test_digest_typed_in_a_group_is_posted_to_that_group(harness: Harness) -> None:
    digests = harness.server.services.digests
    assert digests is not None
    await digests.stop()  # this test looks itself, when it wants (the loop looks every 30 s)
    update_id = harness.botapi.next_update_id()
    typed = message_update(update_id, ADMIN, "/digest@cxbot_test_bot daily 08:00", chat_id=GROUP)
    assert await harness.update(typed) == 200
    (reply,) = harness.botapi.texts(GROUP)
    assert reply.startswith("Digest added: daily 08:00 — next ")
    assert reply.endswith(" 08:00 Europe/Warsaw (set by telegram:42)")
    async with harness.database.session() as session:
        (row,) = (await session.exec(select(Digest))).all()
        assert (row.channel, row.address) == ("telegram", str(GROUP))
        # The slot came while nobody looked (cxbot down an hour).
        due = utcnow() - timedelta(hours=1)
        await session.exec(update(Digest).where(col(Digest.id) == row.id).values(next_at=due))
        await session.commit()
    assert await digests.tick() == 1
    assert await digests.tick() == 0
    posted = harness.botapi.texts(GROUP)[1:]
    assert len(posted) == 1
    assert posted[0].startswith("Digest · daily 08:00 · Europe/Warsaw\nPosted late: it was due ")
    assert "Report · last 1 day" in posted[0]


SLACK_ADMIN = "U0ADMIN"
SLACK_CHANNEL = "C0SUPPORTLEADS"


@pytest.fixture
async def slack_harness(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> AsyncIterator[SlackHarness]:
    slackapi.add_user(SLACK_ADMIN, "admin@example.test")
    async with running_with_slack(
        database, redis_url, botapi, slackapi, CXBOT_ADMINS=f"slack:{SLACK_ADMIN}"
    ) as harness:
        yield harness


async def test_cx_digest_in_a_slack_channel_posts_text_and_charts_there(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    digests = harness.server.services.digests
    slack = harness.server.services.slack
    assert digests is not None and slack is not None and slack.admin is not None
    await digests.stop()
    async with harness.database.session() as session:
        await seed(session, [Seed(10, utcnow() - timedelta(hours=2), channel="slack")])
        await session.commit()
    body = urlencode(
        {
            "command": "/cx",
            "text": "digest weekly fri 17:30",
            "user_id": SLACK_ADMIN,
            "user_name": "admin",
            "channel_id": SLACK_CHANNEL,
            "team_id": "T0001",
        }
    )
    assert await harness.slack_request(body, FORM) == 200
    await slack.admin.drain()
    (confirmed,) = harness.slackapi.sent("chat.postEphemeral")
    assert confirmed["channel"] == SLACK_CHANNEL
    assert confirmed["text"].startswith("Digest added: weekly fri 17:30 — next ")
    async with harness.database.session() as session:
        (row,) = (await session.exec(select(Digest))).all()
        assert (row.channel, row.address) == ("slack", SLACK_CHANNEL)
        await session.exec(update(Digest).values(next_at=utcnow()))
        await session.commit()
    assert await digests.tick() == 1
    (posted,) = harness.slackapi.sent("chat.postMessage")
    assert posted["channel"] == SLACK_CHANNEL
    assert posted["text"].startswith("Digest · weekly fri 17:30 · UTC\n\n")
    charts = harness.slackapi.files()
    assert charts and all(f.channel == SLACK_CHANNEL and f.completed for f in charts)
