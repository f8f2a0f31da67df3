"""Detractor alerts in a Slack channel, end to end through signed requests and the Web API."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from storage.db import Database
from tests.bot.alerts.conftest import ALERT_CHANNEL, ALERT_CHAT, AlertHarness, alert_harness
from tests.bot.slack.test_survey_flow import CUSTOMER, FORM, say, tap
from tests.bot.slack.webapi import SlackAPI, block_actions, dm_channel
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import button_data

STAFF = "U0STAFF"
ADMIN = "U0ADMIN"


async def slack_detractor(harness: AlertHarness, score: str = "2", case_id: str = "S-1") -> int:
    """A Slack customer of ana's in billing answers ``score``; the invitation id."""
    harness.slackapi.add_user(CUSTOMER, "carla@example.test")
    status, body = await harness.post_invitation(
        survey="nps",
        channel="slack",
        recipient=CUSTOMER,
        case_id=case_id,
        attributes={"agent": "ana", "team": "billing"},
    )
    assert status == 202, body
    for _ in range(500):
        if dm_messages(harness):
            break
        await asyncio.sleep(0.02)
    await tap(harness, dm_messages(harness)[0], score)
    return int(body["id"])


def dm_messages(harness: AlertHarness) -> list[dict[str, Any]]:
    return [p for p in harness.slackapi.sent() if p["channel"] == dm_channel(CUSTOMER)]


def actions(message: dict[str, Any]) -> dict[str, str]:
    """Button label -> action_id of a Block Kit message."""
    return {
        element["text"]["text"]: element["action_id"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def shown(message: dict[str, Any]) -> str:
    (section,) = [b for b in message["blocks"] if b["type"] == "section"]
    return str(section["text"]["text"])


async def press(
    harness: AlertHarness,
    message: dict[str, Any],
    label: str,
    user: str = STAFF,
    name: str = "ana.k",
    channel: str | None = None,
) -> str:
    """A staff member presses a button of an alert in Slack; the ephemeral notice they get."""
    posted = {**message, "_ts": message.get("_ts") or message["ts"]}
    value = next(
        element["value"]
        for block in posted["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == label
    )
    payload = block_actions(user, posted, value)
    payload["user"].update(username=name, name=name)
    if channel is not None:
        payload["channel"] = {"id": channel}
        payload["container"]["channel_id"] = channel
    before = len(harness.slackapi.sent("chat.postEphemeral"))
    body = urlencode({"payload": json.dumps(payload)})
    assert await harness.slack_request(body, FORM) == 200
    notices = harness.slackapi.sent("chat.postEphemeral")
    assert len(notices) == before + 1
    assert notices[-1]["user"] == user
    return str(notices[-1]["text"])


async def test_slack_alert_comment_and_buttons(alerting_both: AlertHarness) -> None:
    harness = alerting_both
    await slack_detractor(harness)

    (alert,) = await harness.slack_alerts()
    assert alert["channel"] == ALERT_CHANNEL
    for line in (
        "NPS 2/10 (detractor)",
        "Case: S-1 · survey: nps",
        "Agent: ana · team: billing",
        f"Customer: slack {CUSTOMER}",
    ):
        assert line in shown(alert) and line in alert["text"]
    assert actions(alert) == {"I'll follow up": "cx_fu_claim", "Resolved": "cx_fu_resolve"}
    (telegram_copy,) = await harness.telegram_alerts()
    assert "Case: S-1" in telegram_copy["text"]
    (followup,) = await harness.followups()
    assert followup.alert_ref == (
        f"telegram:{ALERT_CHAT}:{telegram_copy['_message_id']} slack:{ALERT_CHANNEL}:{alert['_ts']}"
    )

    await say(harness, "I waited & waited <3 days>", "EvAlert1")

    (edit,) = await harness.slack_edits()
    assert edit["ts"] == alert["_ts"]
    assert "💬 “I waited & waited <3 days>”" in shown(edit)
    assert "I waited & waited" in (await harness.telegram_edits())[0]["text"]
    # The top-level text (notifications, fallback) is mrkdwn: escaped as the blocks are.
    assert "💬 “I waited &amp; waited &lt;3 days&gt;”" in edit["text"]

    notice = await press(harness, edit, "I'll follow up")

    assert notice == "You're following up on case S-1."
    (followup,) = await harness.followups()
    assert (followup.status, followup.claimed_by) == ("claimed", f"slack:{STAFF}:ana.k")
    claimed = (await harness.slack_edits())[-1]
    assert "🙋 ana.k is following up" in shown(claimed)
    assert actions(claimed) == {"Resolved": "cx_fu_resolve"}
    # The Telegram copy of the alert says the same.
    assert "🙋 ana.k is following up" in (await harness.telegram_edits())[-1]["text"]

    notice = await press(harness, claimed, "Resolved", user="U0BO", name="bo")

    assert notice == "Case S-1 is marked resolved."
    (followup,) = await harness.followups()
    assert (followup.status, followup.resolved_by) == ("resolved", "slack:U0BO:bo")
    resolved = (await harness.slack_edits())[-1]
    assert "✅ resolved by bo" in shown(resolved)
    assert actions(resolved) == {}


async def test_a_press_in_telegram_updates_the_slack_copy(alerting_both: AlertHarness) -> None:
    harness = alerting_both
    await slack_detractor(harness)
    (telegram_copy,) = await harness.telegram_alerts()

    notice = await harness.press(telegram_copy, button_data(telegram_copy, "Resolved"), 777, "Ana")

    assert notice == "Case S-1 is marked resolved."
    (edit,) = await harness.slack_edits()
    assert "✅ resolved by Ana" in shown(edit)
    assert actions(edit) == {}


async def test_a_press_from_another_slack_channel_is_refused(
    alerting_both: AlertHarness,
) -> None:
    harness = alerting_both
    await slack_detractor(harness)
    (alert,) = await harness.slack_alerts()

    notice = await press(harness, alert, "I'll follow up", channel="C0ELSEWHERE")

    assert notice == "This follow-up belongs to another chat."
    (followup,) = await harness.followups()
    assert (followup.status, followup.claimed_by) == ("open", None)
    assert await harness.slack_edits() == []


async def test_markup_in_a_comment_mentions_and_links_nobody(
    alerting_both: AlertHarness,
) -> None:
    harness = alerting_both
    await slack_detractor(harness)
    assert len(await harness.slack_alerts()) == 1
    await say(harness, "<!channel> ask <@U0BOSS> or <https://evil.example|your bank>", "EvMark1")

    (edit,) = await harness.slack_edits()
    # The blocks are plain_text (shown as typed); the top-level text is mrkdwn, so escaped.
    assert "<!channel> ask <@U0BOSS>" in shown(edit)
    text = edit["text"]
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "|your bank>" not in text
    assert (
        "&lt;!channel&gt; ask &lt;@U0BOSS&gt; or &lt;https://evil.example|your bank&gt;"
        in (edit["text"])
    )


async def test_slack_promoter_raises_no_alert(alerting_both: AlertHarness) -> None:
    harness = alerting_both
    await slack_detractor(harness, score="10")

    assert await harness.slack_alerts() == []
    assert await harness.telegram_alerts() == []
    assert await harness.followups() == []


async def test_an_admin_forgetting_the_customer_edits_every_copy(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> None:
    async with alert_harness(
        database, redis_url, botapi, slackapi, CXBOT_ADMINS=f"slack:{ADMIN}"
    ) as harness:
        await slack_detractor(harness)
        await say(harness, "my account is 4242-7", "Ev-forget-1")
        (slack_alert,) = await harness.slack_alerts()
        (telegram_alert,) = await harness.telegram_alerts()
        assert f"Customer: slack {CUSTOMER}" in shown(slack_alert)

        await slash(harness, ADMIN, f"forget slack {CUSTOMER}")

        assert harness.slackapi.sent("chat.postEphemeral")[-1]["text"].startswith(
            f"forgot slack {CUSTOMER}: 1 comment(s)"
        )
        slack_copy = (await harness.slack_edits())[-1]
        telegram_copy = (await harness.telegram_edits())[-1]
        assert slack_copy["ts"] == slack_alert["_ts"]
        assert telegram_copy["message_id"] == str(telegram_alert["_message_id"])
        for text in (shown(slack_copy), slack_copy["text"], telegram_copy["text"]):
            assert "Customer: slack (forgotten on request)" in text
            assert CUSTOMER not in text and "4242-7" not in text
            assert "Case: S-1" in text


async def slash(harness: AlertHarness, user: str, text: str) -> None:
    """``/cx text`` typed by ``user`` in the alert channel; waits until it is answered."""
    body = urlencode(
        {
            "command": "/cx",
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": ALERT_CHANNEL,
            "team_id": "T0001",
            "trigger_id": "1.2.3",
        }
    )
    assert await harness.slack_request(body, FORM) == 200
    slack = harness.server.services.slack
    assert slack is not None and slack.admin is not None
    await slack.admin.drain()
