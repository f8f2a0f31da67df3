"""Events for a person the help desk knows by email: a survey waiting for its link, and one
quarantine for all of a person's addresses, whatever the channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_links import LINK_PREFIX, open_link
from tests.bot.triggers.conftest import TriggerHarness, event, running_triggers

EMAIL = "ana@example.com"


def by_email(case_id: str, email: str = EMAIL, **fields: object) -> dict[str, object]:
    body = event(case_id, person={"email": email}, **fields)
    del body["recipient"]
    return body


@pytest.fixture
async def both(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, rules_path: Path
) -> AsyncIterator[TriggerHarness]:
    """Rules, Telegram and Slack together."""
    slackapi.add_user("U0ANA0001", email=EMAIL)
    slackapi.add_user("U0BOB0002", email="bo@example.com")
    async with running_triggers(
        database, redis_url, botapi, rules_path, **slackapi.settings()
    ) as harness:
        yield harness


async def test_an_event_by_email_hands_out_a_link_and_sends_nothing(
    triggers: TriggerHarness,
) -> None:
    status, body = await triggers.event(by_email("E-1"))
    assert (status, body["decision"], body["rule"]) == (202, "scheduled", "nps-closed")
    assert body["link"].startswith(LINK_PREFIX)
    [invitation] = await triggers.invitations()
    assert (invitation.status, invitation.address) == ("awaiting_link", "")
    assert invitation.expires_at is not None  # an unopened link closes too
    await asyncio.sleep(0.5)  # more than two delivery sweeps
    assert triggers.botapi.sent() == []

    await open_link(triggers, body["link"].removeprefix(LINK_PREFIX), 2002)

    [question] = triggers.botapi.sent()
    assert int(question["chat_id"]) == 2002
    [decision] = await triggers.decisions("E-1")
    assert decision.recipient == EMAIL  # /why names who the event was for


async def test_a_link_waiting_counts_for_the_quarantine(triggers: TriggerHarness) -> None:
    status, _ = await triggers.event(by_email("E-1"))
    assert status == 202
    status, body = await triggers.event(by_email("E-2", email=EMAIL.upper()))
    assert (status, body["reason"]) == (200, "quarantine")
    status, _ = await triggers.event(by_email("E-3", email="bo@example.com"))
    assert status == 202  # somebody else


async def test_the_quarantine_counts_every_channel_of_a_person(both: TriggerHarness) -> None:
    # The help desk names the Telegram customer and their email together once ...
    status, body = await both.event(event("T-1", person={"email": EMAIL}))
    assert status == 202 and body["link"].startswith(LINK_PREFIX)
    # ... so a Slack case of the same email (Slack finds user U0ANA0001 by it) is held back,
    status, body = await both.event(event("S-1", channel="slack", recipient=EMAIL))
    assert (status, body["reason"]) == (200, "quarantine")
    # and so is one by the Slack user id once that is linked to the email.
    status, body = await both.event(event("S-2", channel="slack", recipient="U0ANA0001"))
    assert (status, body["reason"]) == (200, "quarantine")
    # Another person on Slack is not.
    status, body = await both.event(event("S-3", channel="slack", recipient="U0BOB0002"))
    assert status == 202 and body["link"] is None  # no link outside Telegram


async def test_a_slack_event_for_a_person_finds_their_user_by_email(
    both: TriggerHarness,
) -> None:
    status, body = await both.event(by_email("S-1", channel="slack"))
    assert (status, body["decision"], body["link"]) == (202, "scheduled", None)
    [invitation] = await both.invitations()
    assert (invitation.channel, invitation.address) == ("slack", "U0ANA0001")
    # Due at once: the delivery may have picked it up already.
    assert invitation.status in {"scheduled", "sending", "sent"}
    status, body = await both.event(
        event("S-2", channel="slack", person={"requester": "zendesk:7"}, recipient=None)
    )
    assert status == 422 and body["field"] == "recipient"  # Slack needs the email


async def test_a_survey_sent_by_its_link_still_closes_on_time(triggers: TriggerHarness) -> None:
    quick = "rules:\n  - id: quick\n    survey: nps\n    expiry_hours: 0.0006\n"  # ~2 s
    status, _ = await triggers.put_rules(quick)
    assert status == 200
    status, body = await triggers.event(by_email("E-1"))
    assert status == 202
    await open_link(triggers, body["link"].removeprefix(LINK_PREFIX), 2002)
    assert (await triggers.status(body["invitation_id"]))["status"] == "sent"

    # Its expiry job was queued at the send, as a send job's is (not left to the sweep).
    await triggers.wait_status(body["invitation_id"], "expired")
    # The status is committed before the message is closed: wait for the edit too.
    [closed] = await triggers.botapi.wait_for("editMessageText", 1)
    assert "closed" in str(closed["text"])
