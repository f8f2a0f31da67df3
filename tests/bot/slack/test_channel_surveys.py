"""Surveys posted in a Slack channel or thread for one user: taps, the comment modal, privacy."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import conversations
from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_survey_flow import FORM
from tests.bot.slack.webapi import (
    as_json,
    block_actions,
    message_event,
    signed_headers,
    view_submission,
)

CUSTOMER = "U0CUSTOMER"
STRANGER = "U0AGENT"
PARTNER = "W0PARTNER"  # a Slack Connect user of another organisation
SUPPORT = "C0SUPPORT"
THREAD = "1712345678.123456"


async def invite(
    harness: SlackHarness,
    recipient: str = f"{SUPPORT}/{THREAD}",
    user: str = CUSTOMER,
    *,
    case_id: str = "SC-1",
    survey: str = "nps",
    locale: str = "en-US",
) -> tuple[int, dict[str, Any]]:
    """Invite `user` in the support channel's thread; the invitation and its first question."""
    api = harness.slackapi
    api.add_user(CUSTOMER, "ana@example.test", locale=locale)
    api.add_user(STRANGER, "agent@example.test")
    api.add_channel(SUPPORT, CUSTOMER, STRANGER, PARTNER)
    before = len(api.sent())
    status, body = await harness.post_invitation(
        survey=survey, channel="slack", recipient=recipient, user=user, case_id=case_id
    )
    assert status == 202, body
    sent = await api.wait_for("chat.postMessage", before + 1)
    return int(body["id"]), sent[-1]


async def interact(harness: SlackHarness, payload: dict[str, Any]) -> tuple[int, str]:
    """POST an interaction to /slack/events, signed; the status and body of the answer."""
    body = urlencode({"payload": json.dumps(payload)})
    async with harness.http.post(
        f"{harness.server.url}/slack/events",
        data=body.encode(),
        headers={"Content-Type": FORM, **signed_headers(body)},
    ) as response:
        return response.status, await response.text()


async def tap(
    harness: SlackHarness, question: dict[str, Any], label: str, user: str = CUSTOMER
) -> None:
    payload = block_actions(user, question, button_value(question, label))
    status, _ = await interact(harness, payload)
    assert status == 200


def button_value(message: dict[str, Any], label: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["text"]["text"] == label:
                return str(element["value"])
    raise AssertionError(f"no button {label!r} in {message['blocks']}")


def ephemerals(harness: SlackHarness, user: str) -> list[dict[str, Any]]:
    return [call for call in harness.slackapi.sent("chat.postEphemeral") if call["user"] == user]


async def scored(harness: SlackHarness, *, locale: str = "en-US") -> tuple[int, dict[str, Any]]:
    """The customer, invited in the thread, tapped 9: the invitation and the comment question."""
    invitation_id, question = await invite(harness, locale=locale)
    await tap(harness, question, "9")
    return invitation_id, harness.slackapi.sent()[-1]


async def open_comment(
    harness: SlackHarness, follow_up: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """The customer taps Add a comment: the modal views.open opened, and its text box's block."""
    await tap(harness, follow_up, "Add a comment")
    (opened,) = harness.slackapi.sent("views.open")
    return opened["view"], str(opened["view"]["blocks"][0]["block_id"])


async def test_survey_in_a_thread_is_answered_with_private_confirmations(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    invitation_id, question = await invite(harness)
    assert (question["channel"], question["thread_ts"]) == (SUPPORT, THREAD)
    assert question["text"].startswith(f"<@{CUSTOMER}> ")
    assert question["blocks"][0]["text"]["text"].startswith(f"<@{CUSTOMER}> How likely")
    assert (await harness.invitation(invitation_id)).address == f"{SUPPORT}/{THREAD}:{CUSTOMER}"

    await tap(harness, question, "9")

    (closed,) = harness.slackapi.sent("chat.update")
    assert (closed["channel"], closed["ts"]) == (SUPPORT, question["_ts"])
    assert "9" not in closed["text"] and "Answered" in closed["text"]  # the channel sees no score
    assert all(block["type"] != "actions" for block in closed["blocks"])
    (confirmation,) = ephemerals(harness, CUSTOMER)
    assert confirmation["text"] == "Your answer: 9"
    assert (confirmation["channel"], confirmation["thread_ts"]) == (SUPPORT, THREAD)
    follow_up = harness.slackapi.sent()[-1]
    assert follow_up["thread_ts"] == THREAD
    labels = [
        element["text"]["text"]
        for block in follow_up["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert labels == ["Add a comment", "Skip"]
    assert "message" not in json.dumps(follow_up["blocks"])  # no "type your answer in a message"

    await tap(harness, follow_up, "Add a comment")

    (opened,) = harness.slackapi.sent("views.open")
    assert opened["trigger_id"] == "1.2.3"  # the tap's own trigger
    view = opened["view"]
    (field,) = view["blocks"]
    assert field["type"] == "input" and field["element"]["type"] == "plain_text_input"
    assert field["element"]["multiline"] is True
    assert field["label"]["text"] == "What's the main reason for your score?"
    assert [a.score for a in await harness.answers(invitation_id)] == [9]

    submitted = view_submission(CUSTOMER, view, {field["block_id"]: "Ana fixed it in minutes"})
    status, text = await interact(harness, submitted)

    assert (status, text) == (200, "")  # an empty 200 closes the modal
    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "Ana fixed it in minutes")]
    assert (await harness.invitation(invitation_id)).status == "completed"
    thanks = ephemerals(harness, CUSTOMER)[-1]
    assert "thank" in thanks["text"].lower() and thanks["thread_ts"] == THREAD
    # Everything else was said to the customer alone: the channel got two questions.
    assert len(harness.slackapi.sent()) == 2


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("en-US", "This survey is for <@U0CUSTOMER>"),
        ("pl-PL", "Ta ankieta jest przeznaczona dla innej osoby (<@U0CUSTOMER>)"),
        ("ro-RO", "Acest sondaj este pentru <@U0CUSTOMER>"),
    ],
)
async def test_someone_else_tapping_is_told_whose_survey_it_is(
    slack_harness: SlackHarness, locale: str, said: str
) -> None:
    harness = slack_harness
    invitation_id, question = await invite(harness, locale=locale)

    await tap(harness, question, "0", user=STRANGER)

    (notice,) = ephemerals(harness, STRANGER)
    assert notice["text"].startswith(said)
    assert (notice["channel"], notice["thread_ts"]) == (SUPPORT, THREAD)
    assert await harness.answers(invitation_id) == []
    assert harness.slackapi.sent("chat.update") == []
    await tap(harness, question, "10")  # the customer still can
    assert [a.score for a in await harness.answers(invitation_id)] == [10]


async def test_someone_else_cannot_open_or_submit_the_comment(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness)

    await tap(harness, follow_up, "Add a comment", user=STRANGER)

    assert harness.slackapi.sent("views.open") == []
    assert ephemerals(harness, STRANGER)[-1]["text"].startswith("This survey is for")
    # Nor does a modal's submission by them count (say, one opened from a forged payload).
    view, block = await open_comment(harness, follow_up)
    status, text = await interact(harness, view_submission(STRANGER, view, {block: "I am not Ana"}))
    assert status == 200
    assert json.loads(text)["response_action"] == "errors"
    assert [a.text for a in await harness.answers(invitation_id)] == [None]


async def test_empty_comment_is_refused_in_the_modal(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)

    status, text = await interact(harness, view_submission(CUSTOMER, view, {block: " "}))

    assert status == 200
    assert json.loads(text) == {
        "response_action": "errors",
        "errors": {block: "Please type a few words, or tap Skip."},
    }
    assert [a.text for a in await harness.answers(invitation_id)] == [None]
    assert (await harness.invitation(invitation_id)).status == "started"


async def test_comment_after_skipping_meanwhile_is_refused(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)
    await tap(harness, follow_up, "Skip")  # from another device, with the modal still open

    _, text = await interact(harness, view_submission(CUSTOMER, view, {block: "x"}))

    done = "You've already completed this survey. Thank you!"
    assert json.loads(text)["errors"] == {block: done}
    assert [a.text for a in await harness.answers(invitation_id)] == [None]


async def test_messages_in_the_channel_are_never_answers(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id, question = await invite(harness)
    await tap(harness, question, "9")
    posted = len(harness.slackapi.sent())
    event = message_event(CUSTOMER, "Ana fixed it", "Ev-channel", channel=SUPPORT)

    body = as_json(event)
    assert await harness.slack_request(body, "application/json") == 200

    assert [a.text for a in await harness.answers(invitation_id)] == [None]
    assert len(harness.slackapi.sent()) == posted  # and nobody was answered


async def test_slack_connect_user_of_another_organisation_answers(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    # The partner's profile is not ours to read (no users.info): the survey's default speaks.
    invitation_id, question = await invite(harness, recipient=SUPPORT, user=PARTNER)
    assert "thread_ts" not in question
    assert question["text"].startswith(f"<@{PARTNER}> ")

    status, _ = await interact(
        harness, block_actions(PARTNER, question, button_value(question, "3"), team="T0PARTNER")
    )

    assert status == 200
    assert [a.score for a in await harness.answers(invitation_id)] == [3]
    assert ephemerals(harness, PARTNER)[0]["text"] == "Your answer: 3"


async def test_message_link_names_the_thread(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    reply = "https://acme.slack.com/archives/C0SUPPORT/p1712345699000200"
    link = f"{reply}?thread_ts={THREAD}&cid={SUPPORT}"
    _, question = await invite(harness, recipient=link)
    assert (question["channel"], question["thread_ts"]) == (SUPPORT, THREAD)
    _, question = await invite(harness, recipient=reply, case_id="SC-2")
    assert question["thread_ts"] == "1712345699.000200"


async def test_bot_outside_the_channel_fails_the_invitation(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    harness.slackapi.add_user(CUSTOMER)
    harness.slackapi.outside.add("C0PRIVATE")
    status, body = await harness.post_invitation(
        survey="nps", channel="slack", recipient="C0PRIVATE", user=CUSTOMER, case_id="SC-out"
    )
    assert status == 202, body
    failed = await harness.wait_status(int(body["id"]), "failed")
    assert "not_in_channel" in failed["failure_reason"]


@pytest.mark.parametrize(
    ("recipient", "user", "field", "said"),
    [
        (SUPPORT, None, "user", 'add "user"'),
        (f"{SUPPORT}/yesterday", CUSTOMER, "recipient", "thread_ts"),
        (SUPPORT, "C0OTHER", "user", "user must be a Slack user id"),
        (SUPPORT, "nobody@example.test", "user", "no Slack user in this workspace has"),
        (
            "https://example.test/archives/C0SUPPORT/p1712345678123456",
            CUSTOMER,
            "recipient",
            "message link",
        ),
        (CUSTOMER, STRANGER, "user", "is a DM"),
    ],
)
async def test_unusable_channel_recipient_is_a_422_naming_the_field_at_fault(
    slack_harness: SlackHarness, recipient: str, user: str | None, field: str, said: str
) -> None:
    body: dict[str, Any] = {"survey": "nps", "channel": "slack", "recipient": recipient}
    if user is not None:
        body["user"] = user
    status, answer = await slack_harness.post_invitation(case_id="SC-422", **body)
    assert status == 422
    assert answer["field"] == field
    assert [f["field"] for f in answer["fields"]] == [field]
    assert said in answer["message"]
    assert slack_harness.slackapi.sent() == []


async def test_comment_answers_its_own_survey_when_a_newer_one_waits(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    in_channel, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)
    # Meanwhile another case closes and its survey goes to the customer's DM: their next DM
    # message would answer that one, but the modal was opened for the channel's.
    status, body = await harness.post_invitation(
        survey="csat", channel="slack", recipient=CUSTOMER, case_id="SC-dm"
    )
    assert status == 202, body
    await harness.slackapi.wait_for("chat.postMessage", 3)

    status, text = await interact(
        harness, view_submission(CUSTOMER, view, {block: "Quick and kind"})
    )

    assert (status, text) == (200, "")
    assert [a.text for a in await harness.answers(in_channel)] == [None, "Quick and kind"]
    assert await harness.answers(int(body["id"])) == []
    assert (await harness.invitation(int(body["id"]))).status == "sent"


async def test_expired_survey_says_so_to_the_channel(slack_harness: SlackHarness) -> None:
    from datetime import timedelta

    from storage.clock import utcnow

    harness = slack_harness
    invitation_id, question = await invite(harness)
    runner = harness.server.services.runner
    runner.clock = lambda: utcnow() + timedelta(hours=73)

    assert await runner.expire_invitation(invitation_id)

    (closed,) = harness.slackapi.sent("chat.update")
    assert closed["ts"] == question["_ts"]
    assert "This survey has closed" in closed["text"]
    assert all(block["type"] != "actions" for block in closed["blocks"])
    assert harness.slackapi.sent("chat.postEphemeral") == []


async def test_slow_slack_closes_the_modal_in_time_and_keeps_the_comment(
    slack_harness: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot.slack import comments

    harness = slack_harness
    monkeypatch.setattr(comments, "ACK_WITHIN_S", 0.2)  # Slack's 3 s, scaled down
    invitation_id, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)
    gate = harness.slackapi.hold("chat.postEphemeral")  # the thank-you hangs at Slack

    submitted = view_submission(CUSTOMER, view, {block: "Worth the wait"})
    status, text = await asyncio.wait_for(interact(harness, submitted), 2.0)

    assert (status, text) == (200, "")  # the modal closed while the thanks was still going
    stored = await harness.answers(invitation_id)
    assert [a.text for a in stored] == [None, "Worth the wait"]
    gate.set()
    await harness.slackapi.wait_for("chat.postEphemeral", 2)
    assert "thank" in ephemerals(harness, CUSTOMER)[-1]["text"].lower()
    assert (await harness.invitation(invitation_id)).status == "completed"


async def test_comment_modal_after_the_state_store_lost_the_survey(
    slack_harness: SlackHarness,
) -> None:
    # Redis flushed (or cxbot restarted on the in-process store) between score and comment:
    # the modal still asks the survey's question in the customer's language, and the comment
    # lands on the same invitation.
    harness = slack_harness
    invitation_id, follow_up = await scored(harness, locale="pl-PL")
    await harness.server.services.state.delete(conversations.conversation_key(invitation_id))

    await tap(harness, follow_up, "Dodaj komentarz")

    (opened,) = harness.slackapi.sent("views.open")
    view = opened["view"]
    (field,) = view["blocks"]
    assert field["label"]["text"] == "Co jest głównym powodem Twojej oceny?"
    assert view["title"]["text"] != "Your comment" and view["submit"]["text"] != "Send"
    submitted = view_submission(CUSTOMER, view, {field["block_id"]: "Szybko"})
    assert (await interact(harness, submitted))[0] == 200
    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "Szybko")]


async def test_someone_else_is_told_whose_survey_it_is_after_the_state_store_lost_it(
    slack_harness: SlackHarness,
) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness)
    await harness.server.services.state.delete(conversations.conversation_key(invitation_id))

    await tap(harness, follow_up, "Add a comment", user=STRANGER)

    assert harness.slackapi.sent("views.open") == []
    assert ephemerals(harness, STRANGER)[-1]["text"].startswith("This survey is for <@U0CUSTOMER>")
