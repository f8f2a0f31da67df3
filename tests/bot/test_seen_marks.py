"""The marks of updates and events already handled live in Redis only as long as Telegram or
Slack could send them again: 25 hours for Telegram (it keeps an update 24), one for Slack (its
last retry comes about five minutes after the event)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from storage.db import Database
from storage.state import RedisStateStore
from tests.bot.conftest import SlackHarness, running_with_slack
from tests.bot.slack.test_survey_flow import say as slack_say
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import say as telegram_say

HOUR = 3600 * 1000


@pytest.fixture
async def on_redis(
    postgres_database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> AsyncIterator[SlackHarness]:
    async with running_with_slack(postgres_database, redis_url, botapi, slackapi) as harness:
        yield harness


async def seen_ttls(harness: SlackHarness, redis_url: str) -> dict[str, int]:
    """Each seen-mark's time to live in milliseconds, by its key."""
    state = harness.server.services.state
    assert isinstance(state, RedisStateStore)
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        names = [name async for name in client.scan_iter(match=f"{state.prefix}:seen:*")]
        return {name: int(await client.pttl(name)) for name in names}
    finally:
        await client.aclose()


async def test_seen_marks_expire_once_no_redelivery_can_come(
    on_redis: SlackHarness, redis_url: str
) -> None:
    await telegram_say(on_redis, "hello")  # no survey: the help text, and the update's mark
    await slack_say(on_redis, "hello", "EvSEEN1")

    ttls = await seen_ttls(on_redis, redis_url)

    telegram = [ttl for name, ttl in ttls.items() if ":seen:telegram:" in name]
    slack = [ttl for name, ttl in ttls.items() if ":seen:slack:" in name]
    assert len(telegram) == 1 and 24 * HOUR < telegram[0] <= 25 * HOUR
    assert len(slack) == 1 and 0 < slack[0] <= HOUR
