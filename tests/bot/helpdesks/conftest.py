"""A running cxbot writing answers back to a local help desk API (Zendesk, Freshdesk, Chatwoot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select

from bot.helpdesks import writes
from bot.main import running
from storage.db import Database
from storage.tables import TicketWrite
from tests.bot.conftest import Harness, cxbot_settings, serve_local, telegram_webhook
from tests.bot.helpdesks.deskapi import DeskAPI
from tests.bot.telegram.botapi import BotAPI

ZENDESK_EMAIL = "cx@example.com"
ZENDESK_TOKEN = "zendesk-api-token"
ZENDESK_FIELD = 360001
FRESHDESK_KEY = "freshdesk-api-key"
CHATWOOT_TOKEN = "chatwoot-access-token"


class DeskHarness(Harness):
    deskapi: DeskAPI

    async def writes(self) -> list[TicketWrite]:
        async with self.database.session() as session:
            rows = await session.exec(select(TicketWrite).order_by(col(TicketWrite.id)))
            return list(rows.all())

    async def settled(self, count: int = 1) -> list[TicketWrite]:
        """The writes once `count` of them are there, none pending or under way."""
        for _ in range(400):
            found = await self.writes()
            if len(found) >= count and all(w.status in ("written", "failed") for w in found):
                return found
            await asyncio.sleep(0.025)
        raise AssertionError(f"the writes never settled: {found}")


@pytest.fixture
async def deskapi() -> AsyncIterator[DeskAPI]:
    api = DeskAPI()
    runner, api.url = await serve_local(api.app())
    yield api
    await runner.cleanup()


@pytest.fixture
async def desks(
    database: Database,
    redis_url: str,
    botapi: BotAPI,
    deskapi: DeskAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[DeskHarness]:
    monkeypatch.setattr(writes, "BACKOFF_S", 0.05)  # retries within the test, not in seconds
    settings = cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        ZENDESK_URL=deskapi.url,
        ZENDESK_EMAIL=ZENDESK_EMAIL,
        ZENDESK_API_TOKEN=ZENDESK_TOKEN,
        ZENDESK_SCORE_FIELD=ZENDESK_FIELD,
        FRESHDESK_URL=deskapi.url + "/",
        FRESHDESK_API_KEY=FRESHDESK_KEY,
        FRESHDESK_SCORE_FIELD="cf_cxbot_score",
        CHATWOOT_URL=deskapi.url,
        CHATWOOT_API_TOKEN=CHATWOOT_TOKEN,
    )
    async with running(settings) as server, ClientSession() as http:
        harness = DeskHarness(server, http, botapi, database)
        harness.deskapi = deskapi
        yield harness
