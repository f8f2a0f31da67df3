"""A customer answers a survey in Slack, end to end: API -> Web API -> /slack/events -> SQL."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from sqlmodel import select

from storage.tables import Answer
from surveys.scoring import nps
from tests.bot.conftest import SlackHarness
from tests.bot.slack.webapi import (
    SIGNING_SECRET,
    as_json,
    block_actions,
    dm_channel,
    message_event,
    signed_headers,
)
from tests.bot.telegram.botapi import callback_update

CUSTOMER = "U0CUSTOMER"
STRANGER = "U0STRANGER"
FORM = "application/x-www-form-urlencoded"


async def invite(
    harness: SlackHarness, recipient: str = CUSTOMER, case_id: str = "S-1", survey: str = "nps"
) -> int:
    harness.slackapi.add_user(CUSTOMER, "ana@example.test")
    harness.slackapi.add_user(STRANGER, "bob@example.test")
    before = len(harness.slackapi.sent())
    status, body = await harness.post_invitation(
        survey=survey, channel="slack", recipient=recipient, case_id=case_id
    )
    assert status == 202, body
    await harness.slackapi.wait_for("chat.postMessage", before + 1)
    return int(body["id"])


def button_value(message: dict[str, Any], label: str) -> str:
    for block in message["blocks"]:
        if block["type"] == "actions":
            for element in block["elements"]:
                if element["text"]["text"].split(" ")[0] == label:
                    return str(element["value"])
    raise AssertionError(f"no button {label!r} in {message['blocks']}")


def action_payload(user: str, message: dict[str, Any], label: str) -> str:
    payload = block_actions(user, message, button_value(message, label))
    return urlencode({"payload": json.dumps(payload)})


async def tap(
    harness: SlackHarness, message: dict[str, Any], label: str, user: str = CUSTOMER
) -> None:
    assert await harness.slack_request(action_payload(user, message, label), FORM) == 200


async def say(harness: SlackHarness, text: str, event_id: str, user: str = CUSTOMER) -> None:
    body = as_json(message_event(user, text, event_id))
    assert await harness.slack_request(body, "application/json") == 200


async def test_customer_answers_nps_in_slack(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    question = harness.slackapi.sent()[0]
    assert question["channel"] == dm_channel(CUSTOMER)
    assert "recommend" in question["text"]
    actions = [b for b in question["blocks"] if b["type"] == "actions"]
    assert [e["value"].split(":")[-1] for e in actions[0]["elements"]] == [
        str(i) for i in range(11)
    ]

    await tap(harness, question, "9")

    updated = harness.slackapi.sent("chat.update")
    assert len(updated) == 1 and "9" in updated[0]["text"]
    assert all(b["type"] != "actions" for b in updated[0]["blocks"])  # the buttons are gone
    follow_up = harness.slackapi.sent()[1]
    assert button_value(follow_up, "Skip").endswith(":-")
    assert [(a.question_id, a.score) for a in await harness.answers(invitation_id)] == [
        ("score", 9)
    ]

    await say(harness, "Ana fixed my invoice in minutes", "Ev001")

    assert "thank" in harness.slackapi.sent()[-1]["text"].lower()
    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [
        (9, None),
        (None, "Ana fixed my invoice in minutes"),
    ]
    assert (await harness.invitation(invitation_id)).status == "completed"


async def test_email_recipient_is_resolved_with_its_locale(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    harness.slackapi.add_user("U0POLISH", "ola@example.test", locale="pl-PL")
    status, body = await harness.post_invitation(
        survey="nps", channel="slack", recipient="ola@example.test", case_id="S-pl"
    )
    assert status == 202, body
    assert body["recipient"] == "U0POLISH"
    (question,) = await harness.slackapi.wait_for("chat.postMessage", 1)
    assert question["channel"] == dm_channel("U0POLISH")
    assert "poleci" in question["text"].lower()


async def test_bad_signature_is_refused_and_stores_nothing(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    body = action_payload(CUSTOMER, harness.slackapi.sent()[0], "9")
    forged = signed_headers(body, secret="not-" + SIGNING_SECRET)
    assert await harness.slack_request(body, FORM, forged) == 401
    assert await harness.answers(invitation_id) == []
    assert harness.slackapi.sent("chat.update") == []


async def test_old_timestamp_is_refused(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    body = action_payload(CUSTOMER, harness.slackapi.sent()[0], "9")
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    assert await harness.slack_request(body, FORM, stale) == 401
    assert await harness.answers(invitation_id) == []


async def test_url_verification_is_answered(slack_harness: SlackHarness) -> None:
    body = as_json({"type": "url_verification", "token": "legacy", "challenge": "c-123"})
    headers = signed_headers(body)
    async with slack_harness.http.post(
        f"{slack_harness.server.url}/slack/events",
        data=body.encode(),
        headers={"Content-Type": "application/json", **headers},
    ) as response:
        assert response.status == 200
        assert "c-123" in await response.text()


async def test_retried_event_records_once(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    body = as_json(message_event(CUSTOMER, "7", "Ev777"))
    for retry in ("0", "1"):
        headers = {**signed_headers(body), "X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "x"}
        if retry == "0":
            headers.pop("X-Slack-Retry-Num")
            headers.pop("X-Slack-Retry-Reason")
        assert await harness.slack_request(body, "application/json", headers) == 200
    assert [a.score for a in await harness.answers(invitation_id)] == [7]
    assert len(harness.slackapi.sent()) == 2  # the question and one follow-up


async def test_tap_by_another_user_is_refused(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    await tap(harness, harness.slackapi.sent()[0], "0", user=STRANGER)
    (notice,) = harness.slackapi.sent("chat.postEphemeral")
    assert notice["user"] == STRANGER
    assert "someone else" in notice["text"]
    assert await harness.answers(invitation_id) == []
    assert harness.slackapi.sent("chat.update") == []


async def test_rate_limited_post_is_retried(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    harness.slackapi.rate_limit("chat.postMessage", retry_after=1)
    invitation_id = await invite(harness, case_id="S-429")
    await harness.slackapi.wait_for("chat.postMessage", 2)  # the refused call, then the retry
    found = await harness.wait_status(invitation_id, "sent")
    assert found["status"] == "sent"


async def test_unknown_email_is_a_422(slack_harness: SlackHarness) -> None:
    status, body = await slack_harness.post_invitation(
        survey="nps", channel="slack", recipient="nobody@example.test", case_id="S-422"
    )
    assert status == 422
    assert body["field"] == "recipient"
    assert "nobody@example.test" in body["message"]


async def test_unknown_user_fails_the_invitation(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    status, body = await harness.post_invitation(
        survey="nps", channel="slack", recipient="U0GONE", case_id="S-gone"
    )
    assert status == 202, body
    failed = await harness.wait_status(int(body["id"]), "failed")
    assert "user_not_found" in failed["failure_reason"]


async def test_telegram_and_slack_answers_score_together(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    in_slack = await invite(harness, case_id="S-mix")
    await tap(harness, harness.slackapi.sent()[0], "10")
    in_telegram = await harness.invite(chat_id=1001, case_id="T-mix")
    question = harness.botapi.sent()[0]
    data = next(
        b["callback_data"]
        for row in question["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == "3"
    )
    update = callback_update(
        harness.botapi.next_update_id(), 1001, data, message_id=int(question["_message_id"])
    )
    assert await harness.update(update) == 200
    async with harness.database.session() as session:
        rows = await session.exec(
            select(Answer.score).where(
                Answer.invitation_id.in_([in_slack, in_telegram]),  # type: ignore[attr-defined]
                Answer.score.is_not(None),  # type: ignore[union-attr]
            )
        )
        scores = [s for s in rows.all() if s is not None]
    score = nps(scores)
    assert score.n == 2
    assert score.value == 0.0  # one promoter, one detractor


async def test_cx_command_shows_the_waiting_question_again(slack_harness: SlackHarness) -> None:
    harness = slack_harness
    await invite(harness)
    body = urlencode(
        {
            "command": "/cx",
            "text": "",
            "user_id": CUSTOMER,
            "channel_id": dm_channel(CUSTOMER),
            "team_id": "T0001",
            "response_url": "https://hooks.example.test/x",
            "trigger_id": "1.2.3",
        }
    )
    assert await harness.slack_request(body, FORM) == 200
    first, again = harness.slackapi.sent()
    assert again["text"] == first["text"]


async def test_message_with_no_survey_gets_help(slack_harness: SlackHarness) -> None:
    await say(slack_harness, "hello?", "Ev-help", user=STRANGER)
    (reply,) = slack_harness.slackapi.sent()
    assert reply["channel"] == dm_channel(STRANGER)
    assert "no survey" in reply["text"].lower()


async def test_tap_on_an_expired_invitation_says_closed(slack_harness: SlackHarness) -> None:
    from datetime import timedelta

    from storage.clock import utcnow

    harness = slack_harness
    invitation_id = await invite(harness)
    harness.server.services.runner.clock = lambda: utcnow() + timedelta(hours=73)
    await tap(harness, harness.slackapi.sent()[0], "9")
    (notice,) = harness.slackapi.sent("chat.postEphemeral")
    assert "closed" in notice["text"].lower()
    assert await harness.answers(invitation_id) == []
    assert (await harness.invitation(invitation_id)).status == "expired"
