"""A burst through the real polling loop loses nothing, even with Redis stopped meanwhile.

The figures at a bench's size (5,000 customers, Redis stopped 10 s) come from bench/burst.py.
"""

from __future__ import annotations

import pytest
from aiogram.utils.backoff import BackoffConfig

from bot.telegram import polling
from storage.db import Database
from tests.bot.conftest import cxbot_settings
from tests.bot.telegram.botapi import TOKEN, BotAPI
from tests.bot.telegram.burst import Outage, run_burst
from tests.own_redis import OwnRedis

CUSTOMERS = 300


async def test_300_taps_and_150_comments_all_stored_with_redis_stopped_in_the_middle(
    postgres_database: Database,
    own_redis: OwnRedis,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The outage lasts half a second here: try again soon after it.
    monkeypatch.setattr(
        polling, "RETRY_BACKOFF", BackoffConfig(min_delay=0.1, max_delay=0.5, factor=2, jitter=0)
    )
    settings = cxbot_settings(
        postgres_database,
        own_redis.url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=botapi.url,
        CXBOT_HANDLING_CONCURRENCY=16,
        CXBOT_REDIS_MAX_CONNECTIONS=8,  # fewer than the updates handled at once: they wait
        CXBOT_EMBEDDED_WORKER=False,  # the surveys are sent by run_burst itself
    )
    outage = Outage(seconds=0.5, after=CUSTOMERS // 3)

    result = await run_burst(
        settings, botapi, own_redis, customers=CUSTOMERS, outage=outage, within=120
    )

    assert result.problems == []
    assert (result.stored, result.comments_stored) == (CUSTOMERS + CUSTOMERS // 2, CUSTOMERS // 2)
    assert outage.began > 0 and outage.ended > outage.began  # Redis did go away mid-burst
    # The state's pool bound, plus the shared limits' two callers of one connection each (the
    # replies' count, the late departures' report; bot/delivery/replies.py, bot/telegram/
    # retry.py), +1 for a sample's timing.
    assert 0 < result.peak_redis_clients <= 8 + 2 + 1
