"""deliver: helpdesk_reply: the help desk's own reply carries the survey's link, and the
customer answers in Telegram."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from surveys.errors import InvalidRules
from surveys.ruleset import parse_rules
from tests.bot.helpdesks.conftest import REPLY_RULES, DeskHarness
from tests.bot.telegram.test_survey_flow import say, tap
from tests.bot.triggers.payloads import (
    CHATWOOT_EMAIL_RESOLVED,
    FRESHDESK_ADVANCED,
    ZENDESK_TRIGGER,
)

LINK = "https://t.me/cxbot_test_bot?start="
CUSTOMER = 3003


def without_chat_id(body: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    copied["ticket"]["requester"]["external_id"] = ""
    return copied


async def test_a_zendesk_customer_nobody_knows_gets_the_link_in_a_public_comment(
    replies: DeskHarness,
) -> None:
    status, body = await replies.hook("zendesk", without_chat_id(ZENDESK_TRIGGER))
    assert status == 202, body
    invitation = await replies.invitation(body["invitation_id"])
    assert invitation.status == "awaiting_link"
    (comment,) = await replies.deskapi.wait_for("PUT", "/35436.json")
    assert comment.path == "/api/v2/tickets/35436.json"
    assert comment.json == {
        "ticket": {
            "comment": {
                "body": "Thank you for contacting us! How did we do? Tell us in Telegram, it "
                f"takes a few seconds: {body['link']}",
                "public": True,
            }
        }
    }
    assert body["link"].startswith(LINK)
    assert replies.botapi.sent("sendMessage") == []  # cxbot sent nothing itself
    # The customer opens the link in Telegram and answers there; the score goes back as a note.
    await say(replies, f"/start {body['link'].removeprefix(LINK)}", CUSTOMER)
    question = await replies.botapi.wait_for("sendMessage", 1)
    await tap(replies, question[0], "9", CUSTOMER)
    _, note = await replies.deskapi.wait_for("PUT", "/35436.json", 2)
    assert note.json["ticket"]["comment"]["public"] is False
    assert note.json["ticket"]["additional_tags"] == ["cxbot_nps_promoter"]
    written = await replies.settled(2)
    assert [w.question_id for w in written] == ["_reply", "score"]
    why = await replies.server.services.triggers.why_text("35436")
    assert "zendesk · the survey's link as the reply" in why


async def test_the_same_event_twice_posts_one_reply(replies: DeskHarness) -> None:
    for _ in range(2):
        status, _ = await replies.hook("zendesk", without_chat_id(ZENDESK_TRIGGER))
        assert status in (200, 202)
    await replies.settled(1)
    assert len(replies.deskapi.sent("PUT")) == 1


async def test_a_freshdesk_reply_carries_the_link(replies: DeskHarness) -> None:
    ticket = copy.deepcopy(FRESHDESK_ADVANCED)
    del ticket["ticket"]["recipient"]
    status, body = await replies.hook("freshdesk", ticket)
    assert status == 202, body
    (reply,) = await replies.deskapi.wait_for("POST", "/tickets/4711/reply")
    assert reply.json == {
        "body": "Thank you for contacting us! How did we do? Tell us in Telegram, it takes a "
        f"few seconds: {body['link']}"
    }


async def test_chatwoot_posts_the_link_as_an_outgoing_message(replies: DeskHarness) -> None:
    status, body = await replies.hook("chatwoot", CHATWOOT_EMAIL_RESOLVED)
    assert status == 202, body
    (sent,) = await replies.deskapi.wait_for("POST", "/conversations/513/messages")
    assert sent.path == "/api/v1/accounts/3/conversations/513/messages"
    assert sent.json["private"] is False and sent.json["message_type"] == "outgoing"
    assert body["link"] in sent.json["content"]


async def test_a_case_from_no_help_desk_is_sent_in_its_chat_as_usual(replies: DeskHarness) -> None:
    status, body = await replies.event(
        {"type": "case.closed", "case_id": "T-5", "channel": "telegram", "recipient": "1001"}
    )
    assert status == 202, body
    await replies.botapi.wait_for("sendMessage", 1)
    assert replies.deskapi.calls == []


def test_deliver_takes_chat_or_helpdesk_reply_only() -> None:
    rules = parse_rules(REPLY_RULES, "rules.yaml")
    assert rules.get("reply").deliver == "helpdesk_reply"
    assert (
        parse_rules(REPLY_RULES.replace("    deliver: helpdesk_reply\n", ""), "r")
        .get("reply")
        .deliver
        == "chat"
    )
    with pytest.raises(InvalidRules) as raised:
        parse_rules(REPLY_RULES.replace("helpdesk_reply", "email"), "rules.yaml")
    assert raised.value.line == 6 and "deliver" in str(raised.value)
