"""Slack's own fixtures: cxbot on a Redis of its own, so that a test can stop it and start it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from bot.main import running
from bot.slack import replay
from storage.db import Database
from tests.bot.conftest import SlackHarness, cxbot_settings, telegram_webhook
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI
from tests.own_redis import OwnRedis


@pytest.fixture
async def slack_on_own_redis(
    postgres_database: Database,
    own_redis: OwnRedis,
    botapi: BotAPI,
    slackapi: SlackAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[SlackHarness]:
    monkeypatch.setattr(replay, "FIRST_DELAY_S", 0.05)  # the outage lasts a moment here
    monkeypatch.setattr(replay, "MOST_DELAY_S", 0.2)
    settings = cxbot_settings(
        postgres_database,
        own_redis.url,
        **telegram_webhook(botapi),
        **slackapi.settings(),
    )
    async with running(settings) as server, ClientSession() as http:
        yield SlackHarness(server, http, botapi, postgres_database, slackapi)
