"""Slack's own fixtures: cxbot on a Redis of its own, so that a test can stop it and start it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.slack import replay
from storage.db import Database
from tests.bot.conftest import SlackHarness, running_with_slack
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
    async with running_with_slack(postgres_database, own_redis.url, botapi, slackapi) as harness:
        yield harness
