"""A running cxbot writing answers back to a local help desk API (Zendesk, Freshdesk, Chatwoot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select

from bot.helpdesks import writes
from bot.main import running
from storage.db import Database
from storage.tables import TicketWrite
from tests.bot.conftest import cxbot_settings, serve_local, telegram_webhook
from tests.bot.helpdesks.deskapi import DeskAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.triggers.conftest import TriggerHarness

ZENDESK_EMAIL = "cx@example.com"
ZENDESK_TOKEN = "zendesk-api-token"
ZENDESK_FIELD = 360001
FRESHDESK_KEY = "freshdesk-api-key"
CHATWOOT_TOKEN = "chatwoot-access-token"


# Closed cases get their NPS survey's link in the help desk's reply.
REPLY_RULES = """\
rules:
  - id: reply
    match:
      type: [case.solved, case.closed]
    survey: nps
    deliver: helpdesk_reply
"""


class DeskHarness(TriggerHarness):
    """Telegram, the events API and hooks, and the local help desk API cxbot writes to."""

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


def desk_settings(deskapi: DeskAPI) -> dict[str, Any]:
    return {
        "ZENDESK_URL": deskapi.url,
        "ZENDESK_EMAIL": ZENDESK_EMAIL,
        "ZENDESK_API_TOKEN": ZENDESK_TOKEN,
        "ZENDESK_SCORE_FIELD": ZENDESK_FIELD,
        "FRESHDESK_URL": deskapi.url + "/",
        "FRESHDESK_API_KEY": FRESHDESK_KEY,
        "FRESHDESK_SCORE_FIELD": "cf_cxbot_score",
        "CHATWOOT_URL": deskapi.url,
        "CHATWOOT_API_TOKEN": CHATWOOT_TOKEN,
    }


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
        database, redis_url, **telegram_webhook(botapi), **desk_settings(deskapi)
    )
    async with running(settings) as server, ClientSession() as http:
        harness = DeskHarness(server, http, botapi, database)
        harness.deskapi = deskapi
        yield harness


@pytest.fixture
async def replies(
    database: Database, redis_url: str, botapi: BotAPI, deskapi: DeskAPI, tmp_path: Path
) -> AsyncIterator[DeskHarness]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(REPLY_RULES, encoding="utf-8")
    settings = cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        **desk_settings(deskapi),
        CXBOT_RULES=rules,
    )
    async with running(settings) as server, ClientSession() as http:
        harness = DeskHarness(server, http, botapi, database)
        harness.deskapi, harness.rules_path = deskapi, rules
        yield harness
