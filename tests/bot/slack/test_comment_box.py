"""The comment modal that Slack would not open (a trigger past its three seconds, an error):
the customer is told, privately, and can tap again; the comment is not lost."""

from __future__ import annotations

import logging

import pytest

from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_channel_surveys import (
    CUSTOMER,
    SUPPORT,
    THREAD,
    ephemerals,
    interact,
    scored,
    tap,
)
from tests.bot.slack.webapi import view_submission


@pytest.mark.parametrize(
    ("error", "locale", "said"),
    [
        (
            "expired_trigger_id",
            "en-US",
            "Sorry, the comment box didn't open. Please tap “Add a comment” again.",
        ),
        (
            "internal_error",
            "pl-PL",
            "Przepraszamy, okno komentarza się nie otworzyło. Naciśnij ponownie „Dodaj komentarz”.",
        ),
    ],
)
async def test_a_modal_slack_would_not_open_is_told_and_can_be_opened_again(
    slack_harness: SlackHarness,
    caplog: pytest.LogCaptureFixture,
    error: str,
    locale: str,
    said: str,
) -> None:
    harness = slack_harness
    invitation_id, follow_up = await scored(harness, locale=locale)
    told = len(ephemerals(harness, CUSTOMER))  # "Your answer: 9"
    harness.slackapi.fail("views.open", error)
    button = "Dodaj komentarz" if locale.startswith("pl") else "Add a comment"

    with caplog.at_level(logging.WARNING, logger="bot.slack.comments"):
        await tap(harness, follow_up, button)
        await harness.slackapi.wait_for("chat.postEphemeral", told + 1)

    notice = ephemerals(harness, CUSTOMER)[-1]
    assert (notice["text"], notice["channel"], notice["thread_ts"]) == (said, SUPPORT, THREAD)
    assert any(
        error in record.getMessage() and str(invitation_id) in record.getMessage()
        for record in caplog.records
    )

    # The button still works: the next tap opens the modal and the comment is stored.
    await tap(harness, follow_up, button)
    (_, opened) = await harness.slackapi.wait_for("views.open", 2)
    view = opened["view"]
    block = str(view["blocks"][0]["block_id"])
    status, _ = await interact(harness, view_submission(CUSTOMER, view, {block: "quick fix"}))
    assert status == 200
    stored = await harness.wait_answers(invitation_id, 2)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "quick fix")]
