"""Polling mode (the default): updates fetched with getUpdates reach the same flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from bot.main import Server, running
from storage.db import Database
from tests.bot.conftest import API_TOKEN, cxbot_settings
from tests.bot.telegram.botapi import TOKEN, BotAPI, callback_update, message_update


@pytest.fixture
async def polling(database: Database, redis_url: str, botapi: BotAPI) -> AsyncIterator[Server]:
    settings = cxbot_settings(
        database, redis_url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=botapi.url
    )
    async with running(settings) as server:
        yield server


async def test_survey_answered_over_polling(polling: Server, botapi: BotAPI) -> None:
    assert botapi.sent("deleteWebhook")  # getUpdates needs the webhook gone
    async with (
        ClientSession() as http,
        http.post(
            f"{polling.url}/api/v1/invitations",
            json={"survey": "ces", "channel": "telegram", "recipient": 1001, "case_id": "P-1"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response,
    ):
        assert response.status == 202
        invitation_id = (await response.json())["id"]
    question = (await botapi.wait_for("sendMessage", 1))[0]
    rows = question["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[0]] == [str(i) for i in range(1, 8)]  # CES 1-7, one row
    assert "1 = " in question["text"] and "7 = " in question["text"]  # end labels
    botapi.push(
        callback_update(
            botapi.next_update_id(),
            1001,
            f"cx:{invitation_id}:score:6",
            message_id=int(question["_message_id"]),
        )
    )
    await botapi.wait_for("sendMessage", 2)
    botapi.push(message_update(botapi.next_update_id(), 1001, "Easy enough"))
    await botapi.wait_for("sendMessage", 3)
    for _ in range(100):
        async with (
            ClientSession() as http,
            http.get(
                f"{polling.url}/api/v1/invitations/{invitation_id}",
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            ) as response,
        ):
            body = await response.json()
        if body["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert body["status"] == "completed"
    assert [(a["score"], a["text"]) for a in body["answers"]] == [(6, None), (None, "Easy enough")]
