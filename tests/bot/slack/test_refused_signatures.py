"""A request to /slack/events that Slack did not sign is refused in cxbot's one error shape."""

from __future__ import annotations

import time

import pytest

from tests.bot.conftest import SlackHarness
from tests.bot.slack.test_survey_flow import CUSTOMER, FORM, action_payload, invite
from tests.bot.slack.webapi import SIGNING_SECRET, signed_headers


@pytest.mark.parametrize("fault", ["forged", "stale"])
async def test_an_unsigned_request_gets_the_unauthorized_error(
    slack_harness: SlackHarness, fault: str
) -> None:
    harness = slack_harness
    invitation_id = await invite(harness)
    body = action_payload(CUSTOMER, harness.slackapi.sent()[0], "9")
    if fault == "forged":
        headers = signed_headers(body, secret="not-" + SIGNING_SECRET)
    else:
        headers = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    async with harness.http.post(
        f"{harness.server.url}/slack/events",
        data=body.encode(),
        headers={"Content-Type": FORM, **headers},
    ) as response:
        assert response.status == 401
        refusal = await response.json()
    assert refusal["error"] == "unauthorized"
    assert "SLACK_SIGNING_SECRET" in refusal["message"]
    assert await harness.answers(invitation_id) == []
