"""Slack while Redis is away: a DM is not acknowledged (Slack delivers it again), a tap,
which Slack never sends twice, is kept and saved once Redis is back."""

from __future__ import annotations

from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_survey_flow import CUSTOMER, FORM, action_payload, invite
from tests.bot.slack.webapi import as_json, message_event
from tests.own_redis import OwnRedis


async def test_a_dm_while_redis_is_down_is_refused_then_taken_on_slacks_retry(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id = await invite(harness)
    assert (
        await harness.slack_request(action_payload(CUSTOMER, harness.slackapi.sent()[0], "9"), FORM)
        == 200
    )
    comment = as_json(message_event(CUSTOMER, "Quick and kind", "EvOUT1"))

    await own_redis.stop()
    assert await harness.slack_request(comment, "application/json") == 500  # not acknowledged
    await own_redis.start()  # back, and empty
    # Slack's retry of the same event (same event_id), then one more: handled once.
    assert await harness.slack_request(comment, "application/json") == 200
    assert await harness.slack_request(comment, "application/json") == 200

    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "Quick and kind")]
    assert "thank" in harness.slackapi.sent()[-1]["text"].lower()


async def test_a_tap_while_redis_is_down_is_kept_and_saved_once_it_is_back(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id = await invite(harness)
    question = harness.slackapi.sent()[0]
    # The send ends after the question is posted (its conversation saved in Redis).
    await harness.wait_status(invitation_id, "sent")

    await own_redis.stop()
    assert await harness.slack_request(action_payload(CUSTOMER, question, "4"), FORM) == 200
    (kept,) = harness.slackapi.sent("chat.postEphemeral")
    assert "keeping it" in kept["text"] and kept["user"] == CUSTOMER
    assert await harness.answers(invitation_id) == []
    await own_redis.start()

    stored = await harness.wait_answers(invitation_id, 1)
    assert [(a.question_id, a.score) for a in stored] == [("score", 4)]
    await harness.slackapi.wait_for("chat.postMessage", 2)  # the comment question follows


async def test_a_tap_beyond_the_kept_limit_gets_slacks_error_and_no_promise(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id = await invite(harness)
    question = harness.slackapi.sent()[0]
    # The send ends after the question is posted (its conversation saved in Redis).
    await harness.wait_status(invitation_id, "sent")
    assert harness.server.services.slack is not None
    harness.server.services.slack.replays.limit = 0  # as many taps kept already as it keeps

    await own_redis.stop()
    # A 500: Slack shows the person its error; nobody is told the answer is kept.
    assert await harness.slack_request(action_payload(CUSTOMER, question, "4"), FORM) == 500
    assert harness.slackapi.sent("chat.postEphemeral") == []
    await own_redis.start()
    assert await harness.answers(invitation_id) == []
