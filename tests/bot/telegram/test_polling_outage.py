"""Polling loses nothing: an update whose handling failed while a store was away is handled
again once it is back, and the offset never moves past an update not yet handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiogram.utils.backoff import BackoffConfig
from aiohttp import ClientSession
from sqlmodel import select

from bot.main import Server, running
from bot.telegram import polling
from storage.db import Database
from storage.tables import Answer
from tests.bot.conftest import API_TOKEN, cxbot_settings
from tests.bot.telegram.botapi import TOKEN, BotAPI, callback_update, message_update
from tests.own_redis import OwnRedis

CUSTOMER = 1001


@pytest.fixture
async def polling_on_own_redis(
    postgres_database: Database,
    own_redis: OwnRedis,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Server]:
    # Tried again soon: the outage below lasts a fraction of a second, not minutes.
    monkeypatch.setattr(
        polling, "RETRY_BACKOFF", BackoffConfig(min_delay=0.05, max_delay=0.2, factor=2, jitter=0)
    )
    monkeypatch.setattr(polling, "REFETCH_S", 0.1)
    settings = cxbot_settings(
        postgres_database, own_redis.url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=botapi.url
    )
    async with running(settings) as server:
        yield server


async def invite(server: Server, botapi: BotAPI) -> tuple[int, dict[str, object]]:
    async with (
        ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/invitations",
            json={"survey": "nps", "channel": "telegram", "recipient": CUSTOMER, "case_id": "O-1"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response,
    ):
        assert response.status == 202
        invitation_id = int((await response.json())["id"])
    return invitation_id, (await botapi.wait_for("sendMessage", 1))[0]


async def answers(database: Database, invitation_id: int) -> list[tuple[int | None, str | None]]:
    async with database.session() as session:
        rows = await session.exec(
            select(Answer).where(Answer.invitation_id == invitation_id).order_by(Answer.id)
        )
        return [(a.score, a.text) for a in rows.all()]


async def test_a_comment_sent_while_redis_was_down_is_stored_once_it_is_back(
    polling_on_own_redis: Server,
    postgres_database: Database,
    own_redis: OwnRedis,
    botapi: BotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.polling")
    invitation_id, question = await invite(polling_on_own_redis, botapi)
    botapi.push(
        callback_update(
            botapi.next_update_id(),
            CUSTOMER,
            f"cx:{invitation_id}:score:9",
            message_id=int(str(question["_message_id"])),
        )
    )
    await botapi.wait_for("sendMessage", 2)  # the comment question
    # The question goes out before the tap's handling ends (its state written to Redis) and
    # before the poll confirms it: stop Redis only once the tap's update is confirmed.
    for _ in range(250):
        if not botapi.updates:
            break
        await asyncio.sleep(0.02)
    assert not botapi.updates

    await own_redis.stop()  # it comes back empty: no persistence
    comment = message_update(botapi.next_update_id(), CUSTOMER, "Came back")
    botapi.push(comment)
    polls = botapi.polls
    for _ in range(250):  # fetched, failed, and asked for again (getUpdates after it)
        if botapi.polls >= polls + 2:
            break
        await asyncio.sleep(0.02)
    assert botapi.updates and botapi.updates[0]["update_id"] == comment["update_id"]  # unconfirmed
    assert any(f"update {comment['update_id']} failed" in r.message for r in caplog.records)
    assert await answers(postgres_database, invitation_id) == [(9, None)]

    await own_redis.start()

    await botapi.wait_for("sendMessage", 3)
    assert "thank" in botapi.texts(CUSTOMER)[-1].lower()
    assert await answers(postgres_database, invitation_id) == [(9, None), (None, "Came back")]
