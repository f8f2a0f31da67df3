"""SQL is the record of a survey: a customer finishes it after the state store lost every key.

Both backends: SQLite runs cxbot on its embedded in-process store, whose every key a restart
loses; PostgreSQL runs it with Redis, whose keys are deleted (a flush, an eviction, a
failover to an empty replica) or kept across the restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from aiohttp import ClientSession

from bot.main import running
from bot.settings import Settings
from storage.db import Database
from storage.state import RedisStateStore
from tests.bot.conftest import Harness, cxbot_settings, telegram_webhook
from tests.bot.delivery.fleet import delete_redis_keys
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import CUSTOMER, button_data, say, tap


class Restartable(Harness):
    """The Harness, and a way to lose the state store: everything cxbot kept outside SQL."""

    def __init__(
        self, settings: Settings, http: ClientSession, botapi: BotAPI, database: Database
    ) -> None:
        self.settings = settings
        self.stack = AsyncExitStack()
        self.http = http
        self.botapi = botapi
        self.database = database

    async def start(self) -> None:
        self.server = await self.stack.enter_async_context(running(self.settings))

    async def restart(self) -> None:
        await self.stack.aclose()
        self.stack = AsyncExitStack()
        await self.start()

    async def lose_every_key(self) -> None:
        """Redis emptied (its keys deleted under this run's prefix); the in-process store
        restarted, which is how it loses its keys."""
        state = self.server.services.state
        if isinstance(state, RedisStateStore):
            assert await delete_redis_keys(self.settings.redis_url or "", state.prefix) > 0
        else:
            await self.restart()


@pytest.fixture
async def cxbot(database: Database, redis_url: str, botapi: BotAPI) -> AsyncIterator[Restartable]:
    settings = cxbot_settings(database, redis_url, **telegram_webhook(botapi))
    async with ClientSession() as http:
        harness = Restartable(settings, http, botapi, database)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stack.aclose()


async def test_comment_lands_after_the_store_lost_every_key_between_score_and_comment(
    cxbot: Restartable,
) -> None:
    invitation_id = await cxbot.invite()
    await tap(cxbot, cxbot.botapi.sent()[0], "9")
    await cxbot.lose_every_key()

    await say(cxbot, "Ana fixed my invoice in minutes")

    assert "thank" in cxbot.botapi.texts(CUSTOMER)[-1].lower()
    stored = await cxbot.answers(invitation_id)
    assert [(a.question_id, a.score, a.text) for a in stored] == [
        ("score", 9, None),
        ("why", None, "Ana fixed my invoice in minutes"),
    ]
    assert (await cxbot.invitation(invitation_id)).status == "completed"


async def test_comment_lands_after_cxbot_restarted(cxbot: Restartable) -> None:
    invitation_id = await cxbot.invite()
    await tap(cxbot, cxbot.botapi.sent()[0], "3")
    await cxbot.restart()  # the embedded store starts empty; Redis keeps its keys

    await say(cxbot, "Too slow")

    stored = await cxbot.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(3, None), (None, "Too slow")]


async def test_start_shows_the_waiting_question_again_after_the_store_lost_it(
    cxbot: Restartable,
) -> None:
    await cxbot.invite()
    await tap(cxbot, cxbot.botapi.sent()[0], "10")
    asked = cxbot.botapi.sent()[-1]
    await cxbot.lose_every_key()

    await say(cxbot, "/start")

    again = cxbot.botapi.sent()[-1]
    assert again["text"] == asked["text"]  # the comment question, not the help text
    assert button_data(again, "Skip")


async def test_a_second_tap_after_the_loss_is_stale_and_the_comment_still_lands(
    cxbot: Restartable,
) -> None:
    invitation_id = await cxbot.invite()
    question = cxbot.botapi.sent()[0]
    await tap(cxbot, question, "8")
    await cxbot.lose_every_key()

    await tap(cxbot, question, "2")  # the old score button again: the survey moved on
    await say(cxbot, "fine")

    stored = await cxbot.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(8, None), (None, "fine")]


async def test_text_with_no_open_survey_still_gets_help_after_the_loss(
    cxbot: Restartable,
) -> None:
    invitation_id = await cxbot.invite()
    await tap(cxbot, cxbot.botapi.sent()[0], "9")
    await say(cxbot, "done")
    await cxbot.lose_every_key()

    await say(cxbot, "hello again")

    assert "no survey waiting" in cxbot.botapi.texts(CUSTOMER)[-1]
    assert len(await cxbot.answers(invitation_id)) == 2
