"""A comment sent from the modal while Redis is away: Slack never sends a submission twice, so
it is kept, the customer told, and it is saved once Redis is back."""

from __future__ import annotations

from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_channel_surveys import (
    CUSTOMER,
    ephemerals,
    interact,
    invite,
    open_comment,
    scored,
    tap,
)
from tests.bot.slack.webapi import view_submission
from tests.own_redis import OwnRedis


async def test_a_comment_while_redis_is_down_is_kept_and_saved_once_it_is_back(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)

    await own_redis.stop()
    submitted = view_submission(CUSTOMER, view, {block: "Kept through the outage"})
    assert await interact(harness, submitted) == (200, "")  # the modal closes
    assert "keeping it" in ephemerals(harness, CUSTOMER)[-1]["text"]
    assert [a.text for a in await harness.answers(invitation_id)] == [None]
    await own_redis.start()  # back, and empty: the survey is rebuilt from SQL

    stored = await harness.wait_answers(invitation_id, 2)
    assert [a.text for a in stored] == [None, "Kept through the outage"]
    await harness.slackapi.wait_for("chat.postEphemeral", 3)
    assert "thank" in ephemerals(harness, CUSTOMER)[-1]["text"].lower()
    assert (await harness.invitation(invitation_id)).status == "completed"


async def test_a_tap_in_a_channel_while_redis_is_down_is_kept(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id, question = await invite(harness)
    # The send ends after the question is posted (its conversation saved in Redis): Redis
    # stopped before that failed the send (seen under load), and nothing could be kept.
    await harness.wait_status(invitation_id, "sent")

    await own_redis.stop()
    await tap(harness, question, "7")  # whose survey it is cannot be looked up: the runner decides
    assert "keeping it" in ephemerals(harness, CUSTOMER)[-1]["text"]
    await own_redis.start()

    assert [a.score for a in await harness.wait_answers(invitation_id, 1)] == [7]


async def test_a_comment_beyond_the_kept_limit_stays_in_the_box(
    slack_on_own_redis: SlackHarness, own_redis: OwnRedis
) -> None:
    harness = slack_on_own_redis
    invitation_id, follow_up = await scored(harness)
    view, block = await open_comment(harness, follow_up)
    assert harness.server.services.slack is not None
    harness.server.services.slack.replays.limit = 0  # as many kept already as it keeps

    await own_redis.stop()
    submitted = view_submission(CUSTOMER, view, {block: "Not lost silently"})
    # A 500: Slack says it failed and the modal stays open with the text in it.
    assert (await interact(harness, submitted))[0] == 500
    assert not any("keeping it" in notice["text"] for notice in ephemerals(harness, CUSTOMER))
    await own_redis.start()
    assert [a.text for a in await harness.answers(invitation_id)] == [None]
