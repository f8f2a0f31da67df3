"""Admin commands under Slack's /cx, end to end: customers answer in DMs, an admin asks
``/cx nps 30d team=billing`` and gets an ephemeral reply and files uploaded the v2 way."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.admin.replies import NOT_ALLOWED
from storage.db import Database
from storage.respondents import find_respondent
from tests.bot.conftest import API_TOKEN, SlackHarness, running_with_slack
from tests.bot.slack.test_survey_flow import FORM, tap
from tests.bot.slack.webapi import (
    SlackAPI,
    as_json,
    dm_channel,
    message_event,
)
from tests.bot.telegram.botapi import BotAPI

ADMIN = "U0ADMIN"
LEAD = "U0LEAD"  # team lead of billing
CHANNEL = "C0SUPPORTLEADS"
PNG = b"\x89PNG\r\n\x1a\n"
RULES = """\
rules:
  - id: closed-cases
    match:
      type: case.closed
    survey: nps
"""
_events = itertools.count(1)


@pytest.fixture
async def harness(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, tmp_path: Path
) -> AsyncIterator[SlackHarness]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    for user in (ADMIN, LEAD):
        slackapi.add_user(user, f"{user.lower()}@example.test")
    async with running_with_slack(
        database,
        redis_url,
        botapi,
        slackapi,
        CXBOT_ADMINS=f"slack:{ADMIN} slack:{LEAD}@billing",
        CXBOT_RULES=str(rules),
        CXBOT_REPORT_MIN_N=2,
    ) as harness:
        yield harness


async def cx(harness: SlackHarness, user: str, text: str, channel: str = CHANNEL) -> None:
    """``/cx text`` typed by ``user`` in ``channel``; returns once it is answered."""
    assert await post_cx(harness, user, text, channel) == 200
    slack = harness.server.services.slack
    assert slack is not None and slack.admin is not None
    await slack.admin.drain()  # admin commands are answered after Slack's acknowledgement


async def post_cx(harness: SlackHarness, user: str, text: str, channel: str = CHANNEL) -> int:
    """The signed slash command request alone; its HTTP status."""
    body = urlencode(
        {
            "command": "/cx",
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "team_id": "T0001",
            "response_url": "https://hooks.example.test/x",
            "trigger_id": "1.2.3",
        }
    )
    return await harness.slack_request(body, FORM)


def ephemerals(harness: SlackHarness, user: str) -> list[str]:
    return [p["text"] for p in harness.slackapi.sent("chat.postEphemeral") if p["user"] == user]


async def answer(
    harness: SlackHarness, user: str, case_id: str, team: str, score: int, comment: str | None
) -> int:
    harness.slackapi.add_user(user, f"{user.lower()}@example.test")
    status, body = await harness.post_invitation(
        survey="nps",
        channel="slack",
        recipient=user,
        case_id=case_id,
        attributes={"team": team, "agent": f"agent-{team}"},
    )
    assert status == 202, body
    invitation_id = int(body["id"])
    await harness.wait_status(invitation_id, "sent")
    question = _last_to(harness, user)
    await tap(harness, question, str(score), user=user)
    if comment is None:
        await tap(harness, _last_to(harness, user), "Skip", user=user)
    else:
        event = as_json(message_event(user, comment, f"Ev{next(_events)}"))
        assert await harness.slack_request(event, "application/json") == 200
    await harness.wait_status(invitation_id, "completed")
    return invitation_id


def _last_to(harness: SlackHarness, user: str) -> dict[str, object]:
    return [p for p in harness.slackapi.sent() if p["channel"] == dm_channel(user)][-1]


async def seed(harness: SlackHarness) -> None:
    # Billing: 10, 9 and a detractor 3 (NPS +33, n=3); support: 0.
    await answer(harness, "U0C1", "S-1", "billing", 10, None)
    await answer(harness, "U0C2", "S-2", "billing", 9, None)
    await answer(harness, "U0C3", "S-3", "billing", 3, "the refund took weeks")
    await answer(harness, "U0C4", "S-4", "support", 0, "never again")


async def test_admin_gets_the_nps_of_a_team_and_its_chart(harness: SlackHarness) -> None:
    await seed(harness)
    await cx(harness, ADMIN, "nps 30d team=billing")
    (reply,) = harness.slackapi.sent("chat.postEphemeral")
    assert (reply["channel"], reply["user"]) == (CHANNEL, ADMIN)
    assert "NPS +33" in reply["text"] and "n=3" in reply["text"]
    assert reply["text"].endswith("The files are in your direct messages with cxbot.")
    # A file in a channel is seen by every member: the chart goes to the admin's DM.
    (chart,) = harness.slackapi.files()
    assert chart.channel == dm_channel(ADMIN) and chart.filename.endswith(".png")
    assert chart.data is not None and chart.data.startswith(PNG)
    assert chart.length == len(chart.data)


async def test_typed_in_the_apps_dm_everything_stays_there(harness: SlackHarness) -> None:
    await seed(harness)
    await cx(harness, ADMIN, "nps 30d", channel=dm_channel(ADMIN))
    (reply,) = ephemerals(harness, ADMIN)
    assert "n=4" in reply and "direct messages" not in reply
    (chart,) = harness.slackapi.files()
    assert chart.channel == dm_channel(ADMIN)


async def test_slack_acknowledges_before_a_slow_answer(harness: SlackHarness) -> None:
    await seed(harness)
    gate = harness.slackapi.hold("files.completeUploadExternal")
    try:
        # Slack shows an error after 3 s without the acknowledgement: it must not wait for
        # the export (or the chart) to reach Slack.
        status = await asyncio.wait_for(post_cx(harness, ADMIN, "export 30d"), 2.0)
        assert status == 200
        await harness.slackapi.wait_for("files.completeUploadExternal", 1)
        assert harness.slackapi.files() == []  # still uploading
    finally:
        gate.set()
    slack = harness.server.services.slack
    assert slack is not None and slack.admin is not None
    await slack.admin.drain()
    (export,) = harness.slackapi.files()
    assert export.filename.endswith(".csv") and export.channel == dm_channel(ADMIN)


async def test_a_failed_answer_tells_the_admin(harness: SlackHarness) -> None:
    await seed(harness)
    harness.slackapi.fail("files.getUploadURLExternal", "internal_error")
    await cx(harness, ADMIN, "nps 30d")
    report, failed = ephemerals(harness, ADMIN)
    assert "NPS 0" in report
    assert failed == (
        "cxbot could not answer /cx nps 30d: something went wrong on its side (logged)."
    )


async def test_customer_text_cannot_become_a_mention_or_a_link(harness: SlackHarness) -> None:
    await answer(harness, "U0C5", "S-5", "billing", 2, "<!channel> see <https://x.test|here> & me")
    await cx(harness, ADMIN, "comments")
    (reply,) = ephemerals(harness, ADMIN)
    assert "&lt;!channel&gt; see &lt;https://x.test|here&gt; &amp; me" in reply
    assert "<!channel>" not in reply and "<https://" not in reply


async def test_export_is_a_csv_file_of_the_answers(harness: SlackHarness) -> None:
    await seed(harness)
    await cx(harness, ADMIN, "export 30d")
    (export,) = harness.slackapi.files()
    assert export.channel == dm_channel(ADMIN) and export.filename.endswith(".csv")
    assert export.initial_comment is not None and "6" in export.initial_comment
    assert export.data is not None and export.length == len(export.data)
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8"))))
    stored = []
    for invitation_id in range(1, 5):
        stored += [
            (str(invitation_id), "" if a.score is None else str(a.score), a.text or "")
            for a in await harness.answers(invitation_id)
        ]
    assert sorted((r["invitation_id"], r["score"], r["comment"]) for r in rows) == sorted(stored)
    assert {r["channel"] for r in rows} == {"slack"}


async def test_a_customer_gets_not_allowed_and_no_data(harness: SlackHarness) -> None:
    await seed(harness)
    for line in ("nps 30d team=billing", "export", "comments detractors", "report"):
        await cx(harness, "U0C1", line, channel=dm_channel("U0C1"))
    assert ephemerals(harness, "U0C1") == [NOT_ALLOWED] * 4
    assert harness.slackapi.files() == []
    assert harness.slackapi.sent("files.getUploadURLExternal") == []


async def test_a_customers_bare_cx_still_shows_their_help(harness: SlackHarness) -> None:
    harness.slackapi.add_user("U0C9", "c9@example.test")
    await cx(harness, "U0C9", "", channel=dm_channel("U0C9"))
    await cx(harness, "U0C9", "help", channel=dm_channel("U0C9"))
    first, second = ephemerals(harness, "U0C9")
    assert "no survey waiting" in first and first == second


async def test_a_lead_is_limited_to_their_team(harness: SlackHarness) -> None:
    await seed(harness)
    await cx(harness, LEAD, "comments team=support")
    await cx(harness, LEAD, "comments")
    refused, mine = ephemerals(harness, LEAD)
    assert refused == NOT_ALLOWED
    assert "the refund took weeks" in mine and "never again" not in mine


async def test_a_customer_forgets_themselves(harness: SlackHarness) -> None:
    await seed(harness)
    await cx(harness, "U0C3", "forget", channel=dm_channel("U0C3"))
    (reply,) = ephemerals(harness, "U0C3")
    assert reply.startswith("Done. cxbot deleted your 1 comment(s) and your Slack account id")
    assert [(a.score, a.text) for a in await harness.answers(3)] == [(3, None)]
    async with harness.database.session() as session:
        assert await find_respondent(session, "slack", "U0C3") is None
    await cx(harness, ADMIN, "nps 30d team=billing")
    assert "n=3" in ephemerals(harness, ADMIN)[-1]


async def test_where_cxbot_is_not_in_the_channel_the_reply_goes_to_a_dm(
    harness: SlackHarness,
) -> None:
    await seed(harness)
    harness.slackapi.fail("chat.postEphemeral", "not_in_channel")
    await cx(harness, ADMIN, "nps 30d")
    (reply,) = [p for p in harness.slackapi.sent() if p["channel"] == dm_channel(ADMIN)]
    assert "n=4" in reply["text"]
    (chart,) = harness.slackapi.files()
    assert chart.channel == dm_channel(ADMIN)


async def test_triggers_and_why(harness: SlackHarness) -> None:
    harness.slackapi.add_user("U0C7", "c7@example.test")
    async with harness.http.post(
        f"{harness.server.url}/api/v1/events",
        json={"type": "case.closed", "case_id": "S-77", "channel": "slack", "recipient": "U0C7"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as response:
        assert response.status == 202
    await cx(harness, ADMIN, "triggers")
    await cx(harness, ADMIN, "why S-77")
    await cx(harness, ADMIN, "triggers pause closed-cases")
    rules, why, paused = ephemerals(harness, ADMIN)
    assert "closed-cases" in rules
    assert "Case S-77" in why and "rule closed-cases" in why and "scheduled" in why
    assert "rule closed-cases is paused" in paused


async def test_an_admins_mistyped_command_says_so(harness: SlackHarness) -> None:
    await cx(harness, ADMIN, "nsp 30d")
    await cx(harness, ADMIN, "nps channel=whatsapp")
    unknown, bad_channel = ephemerals(harness, ADMIN)
    assert unknown == "unknown command 'nsp'; /cx help lists the commands"
    assert bad_channel.startswith('"channel=whatsapp": channels are slack, telegram.')
    assert "Example: /cx nps 30d team=billing" in bad_channel
    assert harness.slackapi.files() == []


async def test_help_uses_the_slash_command(harness: SlackHarness) -> None:
    await cx(harness, ADMIN, "help")
    (text,) = ephemerals(harness, ADMIN)
    assert "e.g. /cx nps 30d team=billing" in text and "/cx forget CHANNEL ID" in text


async def test_whoami_tells_anyone_their_id_and_the_channel(harness: SlackHarness) -> None:
    await cx(harness, "U0NEW", "whoami")
    (stranger,) = ephemerals(harness, "U0NEW")
    assert "Your Slack user id: U0NEW" in stranger and "add slack:U0NEW to it" in stranger
    assert f"This channel's id: {CHANNEL}" in stranger
    await cx(harness, ADMIN, "whoami")
    assert f"You are admin (slack:{ADMIN} in CXBOT_ADMINS)" in ephemerals(harness, ADMIN)[-1]
