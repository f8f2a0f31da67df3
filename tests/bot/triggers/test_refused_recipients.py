"""A help desk's hook whose customer the channel refuses: the 422 names the payload's field
that carried them, not the event's ``recipient``; nothing is sent, the refusal kept for /why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.triggers.conftest import TriggerHarness, event, running_triggers
from tests.bot.triggers.payloads import (
    CHATWOOT_RESOLVED,
    FRESHDESK_ADVANCED,
    ZENDESK_STATUS_CHANGED,
    ZENDESK_TRIGGER,
)
from tests.bot.triggers.test_chatwoot import chatwoot_headers

NOT_AN_ID = "12abc"


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the dotted ``path`` set to ``value`` (None: removed)."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    place = copy
    for name in parents:
        place = place[name]
    if value is None:
        del place[last]
    else:
        place[last] = value
    return copy


@pytest.mark.parametrize(
    ("helpdesk", "body", "field", "case_id"),
    [
        (
            "zendesk",
            changed(ZENDESK_TRIGGER, "ticket.requester.external_id", NOT_AN_ID),
            "ticket.requester.external_id",
            "35436",
        ),
        (
            "zendesk",
            # A group chat's id without a user: the chat id field is not what was used.
            changed(ZENDESK_TRIGGER, "ticket.recipient", "-100123"),
            "ticket.recipient",
            "35436",
        ),
        (
            "zendesk",
            changed(ZENDESK_STATUS_CHANGED, "detail.external_id", NOT_AN_ID),
            "detail.external_id",
            "35437",
        ),
        (
            "freshdesk",
            changed(FRESHDESK_ADVANCED, "ticket.recipient", NOT_AN_ID),
            "ticket.recipient",
            "4711",
        ),
    ],
    ids=["zendesk-external-id", "zendesk-recipient", "zendesk-event", "freshdesk"],
)
async def test_a_refused_recipient_is_named_as_the_help_desk_sent_it(
    triggers: TriggerHarness, helpdesk: str, body: dict[str, Any], field: str, case_id: str
) -> None:
    status, answer = await triggers.hook(helpdesk, body)

    assert status == 422, answer
    assert (answer["error"], answer["field"]) == ("invalid_event", field)
    assert [problem["field"] for problem in answer["fields"]] == [field]
    assert await triggers.invitations() == [] and triggers.botapi.sent() == []
    (refused,) = await triggers.decisions(case_id)
    assert (refused.source, refused.reason) == (helpdesk, "invalid_event")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            changed(CHATWOOT_RESOLVED, "contact_inbox.source_id", NOT_AN_ID),
            "contact_inbox.source_id",
        ),
        (
            changed(
                changed(CHATWOOT_RESOLVED, "contact_inbox.source_id", None),
                "additional_attributes.chat_id",
                NOT_AN_ID,
            ),
            "additional_attributes.chat_id",
        ),
    ],
    ids=["source-id", "chat-id"],
)
async def test_a_refused_chatwoot_contact_is_named_by_the_field_it_came_from(
    triggers: TriggerHarness, body: dict[str, Any], field: str
) -> None:
    raw = json.dumps(body).encode()
    status, answer = await triggers.hook(
        "chatwoot", None, raw=raw, auth=None, headers=chatwoot_headers(raw), query={}
    )

    assert status == 422, answer
    assert (answer["error"], answer["field"]) == ("invalid_event", field)
    assert await triggers.invitations() == []


async def test_an_email_slack_does_not_know_is_named_as_the_help_desk_sent_it(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, rules_path: Path
) -> None:
    body = changed(ZENDESK_TRIGGER, "ticket.requester.external_id", None)  # the email, then
    async with running_triggers(
        database, redis_url, botapi, rules_path, **slackapi.settings()
    ) as slack:
        status, answer = await slack.hook("zendesk", body, query={"channel": "slack"})
        assert await slack.invitations() == []

    assert status == 422, answer
    assert (answer["error"], answer["field"]) == ("invalid_event", "ticket.requester.email")
    assert "jan@example.com" in answer["message"]


async def test_the_events_api_still_names_recipient(triggers: TriggerHarness) -> None:
    status, answer = await triggers.event(event("E-9", recipient=NOT_AN_ID))
    assert status == 422 and answer["field"] == "recipient"
