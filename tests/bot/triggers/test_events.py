"""POST /api/v1/events: authenticated, decided, stored once, and the survey really goes out."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from storage.clock import utcnow
from tests.bot.triggers.conftest import TriggerHarness, event


def parsed(stamp: str) -> datetime:
    assert stamp.endswith("Z")
    return datetime.fromisoformat(stamp.removesuffix("Z"))


async def test_a_closed_case_is_scheduled_and_the_survey_goes_out(
    triggers: TriggerHarness,
) -> None:
    before = utcnow()
    status, body = await triggers.event(
        event(team="support", agent="Ana", tags=["Renewal"], priority="high")
    )
    assert status == 202, body
    assert body["decision"] == "scheduled" and body["rule"] == "nps-closed"
    assert before <= parsed(body["send_at"]) <= utcnow()
    sent = await triggers.botapi.wait_for("sendMessage", 1)
    assert int(sent[0]["chat_id"]) == 1001
    assert "recommend" in sent[0]["text"]
    await triggers.wait_status(body["invitation_id"], "sent")
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.case_id, invitation.rule_id) == (
        "nps",
        "T-1",
        "nps-closed",
    )
    assert (invitation.team, invitation.agent, invitation.tags) == ("support", "Ana", ",renewal,")
    assert invitation.attributes["priority"] == "high"
    assert invitation.remind_after_hours == 24
    assert invitation.touchpoint == "case.closed"  # no touchpoint on the rule: the event type
    (decision,) = await triggers.decisions("T-1")
    assert (decision.source, decision.outcome, decision.invitation_id) == (
        "api",
        "scheduled",
        body["invitation_id"],
    )


async def test_a_signed_body_is_accepted_without_a_token(triggers: TriggerHarness) -> None:
    status, body = await triggers.event(event(tags=["vip"]), auth="hmac")
    assert status == 202, body
    assert body["rule"] == "vip-closed"
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.expiry_hours) == ("csat", 48)
    assert invitation.touchpoint == "vip-support"  # the rule's


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "send one of"),
        ({"X-Cxbot-Signature": "t=1795348800,v1=" + "0" * 64}, "more than 5 minutes"),
        ({"X-Cxbot-Signature": "sha256=" + "0" * 64}, "CXBOT_HMAC_ALLOW_UNTIMED"),
        ({"Authorization": "Bearer wrong"}, "bearer token is wrong"),
    ],
    ids=["nothing", "old-signature", "untimed-signature", "wrong-token"],
)
async def test_unauthenticated_events_are_refused_and_leave_no_trace(
    triggers: TriggerHarness, headers: dict[str, str], expected: str
) -> None:
    status, body = await triggers.event(event(), auth=None, headers=headers)
    assert status == 401
    assert body["error"] == "unauthorized" and expected in body["message"]
    if not headers:  # says what would work
        assert "Authorization: Bearer" in body["message"]
        assert "X-Cxbot-Signature" in body["message"]
    assert await triggers.decisions("T-1") == []
    assert await triggers.invitations() == []


async def test_a_signature_of_another_body_is_refused(triggers: TriggerHarness) -> None:
    from bot.triggers.auth import sign
    from tests.bot.triggers.conftest import HMAC_SECRET

    signature = sign(b'{"case_id": "T-2"}', HMAC_SECRET)
    status, _ = await triggers.event(event(), auth=None, headers={"X-Cxbot-Signature": signature})
    assert status == 401
    assert await triggers.invitations() == []


async def test_a_delayed_rule_schedules_for_later_and_sends_nothing_yet(
    triggers: TriggerHarness,
) -> None:
    before = utcnow()
    status, body = await triggers.event(event("B-1", team="billing"))
    assert status == 202, body
    send_at = parsed(body["send_at"])
    assert before + timedelta(hours=2) <= send_at <= utcnow() + timedelta(hours=2)
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.status) == ("ces", "scheduled")
    assert invitation.scheduled_at == send_at
    assert triggers.botapi.sent() == []


async def test_the_same_event_twice_is_one_invitation_and_two_decisions(
    triggers: TriggerHarness,
) -> None:
    status, first = await triggers.event(event())
    assert status == 202
    status, again = await triggers.event(event())
    assert status == 200
    assert again["decision"] == "suppressed" and again["reason"] == "duplicate_case"
    assert again["invitation_id"] == first["invitation_id"]
    assert f"invitation {first['invitation_id']}" in again["detail"]
    assert len(await triggers.invitations()) == 1
    assert [d.reason for d in await triggers.decisions("T-1")] == [None, "duplicate_case"]
    await triggers.botapi.wait_for("sendMessage", 1)
    await triggers.wait_status(first["invitation_id"], "sent")
    assert len(triggers.botapi.sent()) == 1


async def test_the_same_event_ten_times_at_once_schedules_one_invitation(
    triggers: TriggerHarness,
) -> None:
    results = await asyncio.gather(*(triggers.event(event("RACE-1")) for _ in range(10)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [202], results
    scheduled = next(body for status, body in results if status == 202)
    reasons = {body["reason"] for status, body in results if status == 200}
    assert reasons == {"duplicate_case"}
    assert [i.id for i in await triggers.invitations()] == [scheduled["invitation_id"]]
    assert len(await triggers.decisions("RACE-1")) == 10
    await triggers.wait_status(scheduled["invitation_id"], "sent")
    assert len(triggers.botapi.sent()) == 1


async def test_malformed_json_is_a_400(triggers: TriggerHarness) -> None:
    status, body = await triggers.event(None, raw=b"{not json")
    assert status == 400 and body["error"] == "invalid_json"


async def test_missing_and_wrong_fields_are_listed(triggers: TriggerHarness) -> None:
    status, body = await triggers.event(
        {"type": "case.closed", "timezone": "Mars/Base", "colour": "red"}
    )
    assert status == 422
    fields = {f["field"]: f["message"] for f in body["fields"]}
    assert {"case_id", "channel", "recipient", "timezone", "colour"} <= set(fields)
    assert "Europe/Warsaw" in fields["timezone"]
    assert "the chat, or else the person (email, requester)" in fields["recipient"]
    assert await triggers.invitations() == []
    assert await triggers.decisions("T-1") == []  # no case id: nothing to keep it under


async def test_a_refused_event_of_a_known_case_is_kept_for_why(triggers: TriggerHarness) -> None:
    status, body = await triggers.event(event("R-1", timezone="Mars/Base", priority="high"))
    assert status == 422
    (refused,) = await triggers.decisions("R-1")
    assert (refused.outcome, refused.reason, refused.detail) == (
        "rejected",
        "invalid_event",
        body["message"],
    )
    # Enough to find it (and forget the customer), and the start of what was sent.
    assert refused.event == {
        "case_id": "R-1",
        "type": "case.closed",
        "channel": "telegram",
        "recipient": "1001",
        "error": "invalid_event",
        "excerpt": json.dumps(event("R-1", timezone="Mars/Base", priority="high")),
    }
    assert await triggers.invitations() == []


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"channel": "whatsapp"}, "invalid_event", "channel"),
        ({"channel": "slack"}, "channel_not_configured", "channel"),
        ({"recipient": "-1001"}, "invalid_event", "recipient"),
        ({"recipient": "@someone"}, "invalid_event", "recipient"),
    ],
)
async def test_an_event_cxbot_cannot_reach_is_a_422_kept_as_refused(
    triggers: TriggerHarness, change: dict[str, str], error: str, field: str
) -> None:
    status, body = await triggers.event(event(**change))
    assert status == 422, body
    assert (body["error"], body["field"]) == (error, field)
    assert body["message"]
    assert [(d.outcome, d.reason, d.detail) for d in await triggers.decisions("T-1")] == [
        ("rejected", error, body["message"])
    ]
    assert await triggers.invitations() == []
    assert triggers.botapi.sent() == []


async def test_the_invitation_keeps_the_window_and_zone_for_its_reminder(
    triggers: TriggerHarness,
) -> None:
    status, _ = await triggers.put_rules(
        "rules:\n  - id: daytime\n    survey: nps\n    window: '00:00-23:59'\n"
        "    timezone: Asia/Tokyo\n    reminder_after_hours: 24\n"
    )
    assert status == 200

    status, body = await triggers.event(event("T-5", timezone="Europe/Warsaw"))
    zoneless, _ = await triggers.event(event("T-6", recipient="1002"))

    assert status == 202 and zoneless == 202, body
    rows = {row.case_id: row for row in await triggers.invitations()}
    assert (rows["T-5"].send_window, rows["T-5"].timezone) == ("00:00-23:59", "Europe/Warsaw")
    assert (rows["T-6"].send_window, rows["T-6"].timezone) == ("00:00-23:59", "Asia/Tokyo")
