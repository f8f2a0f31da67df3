"""A tap whose button value is not one of ours (forged, or from an older cxbot): the tapper is
told, privately where they tapped, and nothing is answered, closed or opened."""

from __future__ import annotations

import pytest

from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_channel_surveys import (
    CUSTOMER,
    SUPPORT,
    THREAD,
    button_value,
    ephemerals,
    interact,
    invite,
    scored,
)
from tests.bot.slack.webapi import block_actions

UNREADABLE = ["garbage", "0:score:9", "x9:score:9", "99999999999999999999:score:9"]


@pytest.mark.parametrize("value", UNREADABLE)
async def test_an_unreadable_answer_button_is_refused(
    slack_harness: SlackHarness, value: str
) -> None:
    harness = slack_harness
    invitation_id, question = await invite(harness)
    payload = block_actions(CUSTOMER, question, button_value(question, "9"))
    payload["actions"][0]["value"] = value

    assert (await interact(harness, payload))[0] == 200

    (notice,) = ephemerals(harness, CUSTOMER)
    assert notice["text"] == "Sorry, I couldn't read that button."
    assert (notice["channel"], notice["thread_ts"]) == (SUPPORT, THREAD)
    assert await harness.answers(invitation_id) == []
    assert harness.slackapi.sent("chat.update") == []


@pytest.mark.parametrize("value", UNREADABLE)
async def test_an_unreadable_comment_button_opens_no_modal(
    slack_harness: SlackHarness, value: str
) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness)
    payload = block_actions(CUSTOMER, follow_up, button_value(follow_up, "Add a comment"))
    payload["actions"][0]["value"] = value

    assert (await interact(harness, payload))[0] == 200

    notice = ephemerals(harness, CUSTOMER)[-1]
    assert notice["text"] == "Sorry, I couldn't read that button."
    assert (notice["channel"], notice["thread_ts"]) == (SUPPORT, THREAD)
    assert harness.slackapi.sent("views.open") == []
    assert [a.score for a in await harness.answers(invitation_id)] == [9]
