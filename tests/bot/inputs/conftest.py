"""A running cxbot with triggers, Telegram's webhook and Slack's /slack/events, for bad input."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlmodel import func, select

from bot.main import running
from storage.db import Database
from storage.tables import Answer, Decision, Invitation, Respondent
from tests.bot.conftest import WEBHOOK_SECRET
from tests.bot.slack.webapi import SlackAPI, signed_headers
from tests.bot.telegram.botapi import BotAPI
from tests.bot.triggers.conftest import RULES, TriggerHarness, trigger_settings


class InputHarness(TriggerHarness):
    """Triggers, Telegram's webhook and Slack's /slack/events on one running cxbot."""

    slackapi: SlackAPI

    async def send(
        self, path: str, data: bytes, headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str, bytes]:
        sent = io.BytesIO(data) if len(data) > 1024 * 1024 else data  # aiohttp warns otherwise
        async with self.http.request(
            method, f"{self.server.url}{path}", data=sent, headers=headers
        ) as response:
            return response.status, response.content_type, await response.read()

    async def stored(self) -> dict[str, int]:
        counts = {}
        async with self.database.session() as session:
            for table in (Decision, Invitation, Respondent, Answer):
                found = await session.exec(select(func.count()).select_from(table))
                counts[table.__tablename__] = int(found.one())
        return counts

    async def telegram(self, update: Any) -> tuple[int, str, bytes]:
        path = self.server.services.telegram.webhook_path  # type: ignore[union-attr]
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
            "Content-Type": "application/json",
        }
        raw = update if isinstance(update, bytes) else json.dumps(update).encode()
        return await self.send(str(path), raw, headers)

    async def slack(self, body: str, content_type: str) -> tuple[int, str, bytes]:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        return await self.send("/slack/events", body.encode(), headers)


@pytest.fixture
async def inputs(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, tmp_path: Path
) -> AsyncIterator[InputHarness]:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES, encoding="utf-8")
    settings = trigger_settings(
        database,
        redis_url,
        botapi,
        rules_path,
        **slackapi.settings(),
    )
    async with running(settings) as server, ClientSession() as http:
        harness = InputHarness(server, http, botapi, database)
        harness.rules_path = rules_path
        harness.slackapi = slackapi
        yield harness
