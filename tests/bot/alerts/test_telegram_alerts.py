"""Detractor alerts in a Telegram team chat, end to end: a customer's tap -> the team's alert."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.alerts import AlertsNotConfigured
from bot.main import running
from storage.db import Database
from tests.bot.alerts.conftest import ALERT_CHAT, AlertHarness, alert_harness
from tests.bot.conftest import cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import CUSTOMER, button_data, buttons, say, tap

ANA = 777
BO = 778


async def detractor(
    harness: AlertHarness,
    score: str = "3",
    case_id: str = "T-1042",
    survey: str = "nps",
    customer: int = CUSTOMER,
) -> int:
    """A customer of ana's in billing answers ``score``; the invitation id."""
    before = len(harness.botapi.sent("sendMessage", customer))
    status, body = await harness.post_invitation(
        survey=survey,
        channel="telegram",
        recipient=customer,
        case_id=case_id,
        attributes={"agent": "ana", "team": "billing"},
    )
    assert status == 202, body
    for _ in range(500):
        if len(harness.botapi.sent("sendMessage", customer)) > before:
            break
        await asyncio.sleep(0.02)
    question = harness.botapi.sent("sendMessage", customer)[-1]
    await tap(harness, question, score, user_id=customer)
    return int(body["id"])


def labels(message: dict[str, Any]) -> list[str]:
    if "reply_markup" not in message:
        return []
    return [button["text"] for row in buttons(message) for button in row]


async def test_detractor_alert_shows_case_agent_score_and_buttons(
    alerting: AlertHarness,
) -> None:
    invitation_id = await detractor(alerting)

    (alert,) = await alerting.telegram_alerts()
    text = alert["text"]
    assert "NPS 3/10 (detractor)" in text
    assert "Case: T-1042 · survey: nps" in text
    assert "Agent: ana · team: billing" in text
    assert f"Customer: telegram {CUSTOMER}" in text
    assert "nobody is following up yet" in text
    assert labels(alert) == ["I'll follow up", "Resolved"]
    (followup,) = await alerting.followups()
    assert (followup.invitation_id, followup.kind, followup.score, followup.status) == (
        invitation_id,
        "nps",
        3,
        "open",
    )
    assert button_data(alert, "I'll follow up") == f"fu:{followup.id}:claim"
    assert button_data(alert, "Resolved") == f"fu:{followup.id}:resolve"
    assert followup.alert_ref == f"telegram:{ALERT_CHAT}:{alert['_message_id']}"
    # The customer's own conversation went on as usual: the "why?" question came.
    assert "Skip" in labels(alerting.botapi.sent("sendMessage", CUSTOMER)[-1])


async def test_the_comment_then_shows_up_in_the_alert(alerting: AlertHarness) -> None:
    await detractor(alerting)
    (alert,) = await alerting.telegram_alerts()

    await say(alerting, "Nobody called me back <again>")

    (edit,) = await alerting.telegram_edits()
    assert edit["message_id"] == str(alert["_message_id"])
    assert "💬 “Nobody called me back <again>”" in edit["text"]
    assert labels(edit) == ["I'll follow up", "Resolved"]
    (followup,) = await alerting.followups()
    assert followup.comment == "Nobody called me back <again>"


async def test_follow_up_button_records_who_and_the_alert_shows_it(
    alerting: AlertHarness,
) -> None:
    await detractor(alerting)
    (alert,) = await alerting.telegram_alerts()
    claim = button_data(alert, "I'll follow up")

    notice = await alerting.press(alert, claim, ANA, "Ana")

    assert notice == "You're following up on case T-1042."
    (followup,) = await alerting.followups()
    assert (followup.status, followup.claimed_by) == ("claimed", f"telegram:{ANA}:Ana")
    assert followup.claimed_at is not None
    (edit,) = await alerting.telegram_edits()
    assert "🙋 Ana is following up" in edit["text"]
    assert labels(edit) == ["Resolved"]

    # Bo pressed the old button too late: Ana keeps it, and Bo is told.
    assert (
        await alerting.press(alert, claim, BO, "Bo")
        == "Ana is already following up on case T-1042."
    )
    assert await alerting.press(alert, claim, ANA, "Ana") == (
        "You're already following up on case T-1042."
    )
    (followup,) = await alerting.followups()
    assert followup.claimed_by == f"telegram:{ANA}:Ana"
    assert len(await alerting.telegram_edits()) == 1

    resolved = await alerting.press(alert, button_data(edit, "Resolved"), BO, "Bo")

    assert resolved == "Case T-1042 is marked resolved."
    (followup,) = await alerting.followups()
    assert (followup.status, followup.resolved_by) == ("resolved", f"telegram:{BO}:Bo")
    last = (await alerting.telegram_edits())[-1]
    assert "✅ resolved by Bo" in last["text"]
    assert labels(last) == []
    assert await alerting.press(alert, claim, ANA, "Ana") == (
        "Case T-1042 was already resolved by Bo."
    )


async def test_promoter_raises_no_alert(alerting: AlertHarness) -> None:
    await detractor(alerting, score="9")
    await say(alerting, "Great help")

    assert await alerting.telegram_alerts() == []
    assert await alerting.followups() == []
    assert "thank" in alerting.botapi.texts(CUSTOMER)[-1].lower()


async def test_passive_raises_no_alert_and_six_does(alerting: AlertHarness) -> None:
    await detractor(alerting, score="7", case_id="T-7", customer=2001)
    await detractor(alerting, score="6", case_id="T-6", customer=2002)

    (alert,) = await alerting.telegram_alerts()
    assert "NPS 6/10 (detractor)" in alert["text"] and "Case: T-6" in alert["text"]


async def test_csat_and_ces_use_their_own_thresholds(alerting: AlertHarness) -> None:
    await detractor(alerting, score="3", case_id="C-3", survey="csat", customer=2001)
    await detractor(alerting, score="2", case_id="C-2", survey="csat", customer=2002)
    await detractor(alerting, score="4", case_id="E-4", survey="ces", customer=2003)
    await detractor(alerting, score="3", case_id="E-3", survey="ces", customer=2004)

    texts = [alert["text"] for alert in await alerting.telegram_alerts()]
    assert len(texts) == 2
    assert "CSAT 2/5 (dissatisfied)" in texts[0] and "Case: C-2" in texts[0]
    assert "CES 3/7 (difficult)" in texts[1] and "Case: E-3" in texts[1]


async def test_thresholds_come_from_the_settings(
    database: Database, redis_url: str, botapi: BotAPI
) -> None:
    async with alert_harness(
        database, redis_url, botapi, CXBOT_ALERT_NPS_MAX=8, CXBOT_ALERT_CSAT_MAX=1
    ) as harness:
        await detractor(harness, score="8", case_id="T-8", customer=2001)
        await detractor(harness, score="9", case_id="T-9", customer=2002)
        await detractor(harness, score="2", case_id="C-2", survey="csat", customer=2003)

        (alert,) = await harness.telegram_alerts()
    assert "NPS 8/10 (passive)" in alert["text"] and "Case: T-8" in alert["text"]


async def test_press_elsewhere_or_on_an_unknown_follow_up_gets_a_notice(
    alerting: AlertHarness,
) -> None:
    await detractor(alerting)
    (alert,) = await alerting.telegram_alerts()
    claim = button_data(alert, "I'll follow up")
    (followup,) = await alerting.followups()

    other_chat = await alerting.press(alert, claim, ANA, "Ana", chat_id=-1009999)
    unknown = await alerting.press(alert, f"fu:{followup.id + 100}:claim", ANA, "Ana")
    garbled = await alerting.press(alert, "fu:x:claim", ANA, "Ana")

    assert other_chat == "This follow-up belongs to another chat."
    assert unknown == "This follow-up no longer exists."
    assert garbled == "Sorry, I couldn't read that button."
    (followup,) = await alerting.followups()
    assert (followup.status, followup.claimed_by) == ("open", None)
    assert await alerting.telegram_edits() == []


async def test_a_team_chat_that_refuses_the_alert_does_not_touch_the_customer(
    alerting: AlertHarness,
) -> None:
    alerting.botapi.fail(
        "sendMessage",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        chat_id=ALERT_CHAT,
    )
    invitation_id = await detractor(alerting)
    await say(alerting, "Slow answers")

    assert len(await alerting.telegram_alerts()) == 1  # tried once, refused
    assert "thank" in alerting.botapi.texts(CUSTOMER)[-1].lower()
    assert [(a.score, a.text) for a in await alerting.answers(invitation_id)] == [
        (3, None),
        (None, "Slow answers"),
    ]
    # The follow-up is still recorded (and listed by /followups), with its comment.
    (followup,) = await alerting.followups()
    assert (followup.alert_ref, followup.comment) == (None, "Slow answers")


async def test_an_alert_chat_without_telegram_stops_the_start(
    database: Database, redis_url: str
) -> None:
    settings = cxbot_settings(database, redis_url, CXBOT_ALERT_TELEGRAM_CHAT="-100")
    with pytest.raises(AlertsNotConfigured, match="CXBOT_ALERT_TELEGRAM_CHAT is set but Telegram"):
        async with running(settings):
            pass


@pytest.mark.parametrize(
    ("chat", "says"),
    [
        ("team chat", "must be a Telegram chat id"),
        ("\u00b2", "must be a Telegram chat id"),  # a digit to str.isdigit(), not to int()
        ("-100" + "1" * 20, "is not a Telegram id: Telegram's ids have at most 52"),
    ],
)
async def test_an_alert_chat_that_is_no_chat_id_stops_the_start(
    database: Database, redis_url: str, botapi: BotAPI, chat: str, says: str
) -> None:
    settings = cxbot_settings(
        database, redis_url, **telegram_webhook(botapi), CXBOT_ALERT_TELEGRAM_CHAT=chat
    )
    with pytest.raises(AlertsNotConfigured, match=says):
        async with running(settings):
            pass


async def test_a_customer_who_forgets_themselves_leaves_the_alert(
    database: Database, redis_url: str, botapi: BotAPI
) -> None:
    async with alert_harness(database, redis_url, botapi) as harness:
        await detractor(harness)
        await say(harness, "call me on 555-0100")
        (alert,) = await harness.telegram_alerts()
        assert f"Customer: telegram {CUSTOMER}" in alert["text"]

        await say(harness, "/forget")

        last = (await harness.telegram_edits())[-1]
        assert last["message_id"] == str(alert["_message_id"])
        assert "Customer: telegram (forgotten on request)" in last["text"]
        assert "💬 deleted: the customer asked to be forgotten" in last["text"]
        assert str(CUSTOMER) not in last["text"] and "555-0100" not in last["text"]
        # The follow-up itself stays for the team, still open, with its case and score.
        assert labels(last) == ["I'll follow up", "Resolved"]
        assert "NPS 3/10 (detractor)" in last["text"] and "Case: T-1042" in last["text"]
