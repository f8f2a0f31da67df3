"""Events (POST /api/v1/events) that name a Slack channel or thread and the customer in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.triggers.conftest import RULES, TriggerHarness, event, running_triggers

SUPPORT = "C0SUPPORT"
THREAD = "1712345678.123456"


@pytest.fixture
async def slack_triggers(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, tmp_path: Path
) -> AsyncIterator[tuple[TriggerHarness, SlackAPI]]:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES, encoding="utf-8")
    async with running_triggers(
        database, redis_url, botapi, rules_path, **slackapi.settings()
    ) as harness:
        yield harness, slackapi


async def test_quarantine_counts_the_person_in_a_channel_not_the_channel(
    slack_triggers: tuple[TriggerHarness, SlackAPI],
) -> None:
    harness, api = slack_triggers
    for user in ("U0ANA", "U0BOB"):
        api.add_user(user)
    place = {"channel": "slack", "recipient": f"{SUPPORT}/{THREAD}"}

    status, ana = await harness.event(event("SC-1", **place, user="U0ANA"))
    assert (status, ana["decision"]) == (202, "scheduled"), ana
    status, bob = await harness.event(event("SC-2", **place, user="U0BOB"))
    assert (status, bob["decision"]) == (202, "scheduled"), bob
    status, again = await harness.event(event("SC-3", **place, user="U0ANA"))

    assert (status, again["reason"]) == (200, "quarantine"), again
    sent = await api.wait_for("chat.postMessage", 2)
    assert sorted(call["text"].split(" ")[0] for call in sent) == ["<@U0ANA>", "<@U0BOB>"]
    assert {(call["channel"], call["thread_ts"]) for call in sent} == {(SUPPORT, THREAD)}


async def test_channel_event_without_user_is_refused(
    slack_triggers: tuple[TriggerHarness, SlackAPI],
) -> None:
    harness, api = slack_triggers
    status, body = await harness.event(event("SC-9", channel="slack", recipient=SUPPORT))
    assert status == 422, body
    assert 'add "user"' in str(body)
    assert api.sent() == []
