"""Chatwoot's hook through the running app: signed by Chatwoot, decided, delivered, or why not."""

from __future__ import annotations

import json
import time

from bot.helpdesks.chatwoot import chatwoot_signature
from tests.bot.triggers.conftest import CHATWOOT_SECRET, TriggerHarness
from tests.bot.triggers.payloads import CHATWOOT_EMAIL_RESOLVED, CHATWOOT_RESOLVED


def chatwoot_headers(body: bytes, *, age_s: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) - age_s)
    return {
        "X-Chatwoot-Signature": chatwoot_signature(body, stamp, CHATWOOT_SECRET),
        "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Delivery": "5f0c0a5e-0000-4000-8000-000000000001",
    }


async def test_a_resolved_telegram_conversation_signed_by_chatwoot_gets_its_survey(
    triggers: TriggerHarness,
) -> None:
    raw = json.dumps(CHATWOOT_RESOLVED).encode()
    status, body = await triggers.hook(
        "chatwoot", None, raw=raw, auth=None, headers=chatwoot_headers(raw), query={}
    )
    assert status == 202, body
    assert body["rule"] == "nps-closed"
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.case_id, invitation.channel, invitation.address) == (
        "nps",
        "512",
        "telegram",
        "1001",
    )
    assert (invitation.team, invitation.agent, invitation.tags) == (
        "Billing",
        "Ana Novak",
        ",refund,vip,",
    )
    assert invitation.attributes["account_id"] == "3"
    await triggers.botapi.wait_for("sendMessage", 1)
    (decision,) = await triggers.decisions("512")
    assert (decision.source, decision.event_type) == ("chatwoot", "case.solved")


async def test_a_stale_chatwoot_signature_is_refused(triggers: TriggerHarness) -> None:
    raw = json.dumps(CHATWOOT_RESOLVED).encode()
    headers = chatwoot_headers(raw, age_s=6 * 60)
    status, body = await triggers.hook("chatwoot", None, raw=raw, auth=None, headers=headers)
    assert status == 401 and "minutes" in body["message"]
    assert await triggers.invitations() == []


async def test_the_chatwoot_hook_takes_the_bearer_token_too(triggers: TriggerHarness) -> None:
    status, body = await triggers.hook("chatwoot", CHATWOOT_RESOLVED)
    assert status == 202, body


async def test_chatwoot_signatures_are_not_accepted_on_other_hooks(
    triggers: TriggerHarness,
) -> None:
    raw = json.dumps(CHATWOOT_RESOLVED).encode()
    headers = chatwoot_headers(raw)
    status, body = await triggers.hook("zendesk", None, raw=raw, auth=None, headers=headers)
    assert status == 401
    assert "X-Chatwoot-Signature" not in body["message"]


async def test_an_email_contact_to_telegram_waits_for_its_link(
    triggers: TriggerHarness,
) -> None:
    status, body = await triggers.hook("chatwoot", CHATWOOT_EMAIL_RESOLVED)
    assert status == 202, body
    assert body["link"].startswith("https://t.me/")
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.status, invitation.case_id) == ("awaiting_link", "513")
    assert triggers.botapi.sent("sendMessage") == []  # never sent blind


async def test_a_contact_nobody_knows_is_refused_and_kept_for_why(
    triggers: TriggerHarness,
) -> None:
    payload = json.loads(json.dumps(CHATWOOT_EMAIL_RESOLVED))
    payload["meta"]["sender"] = {"type": "contact"}
    status, body = await triggers.hook("chatwoot", payload)
    assert status == 422
    assert (body["error"], body["field"]) == ("missing_identity", "contact_inbox.source_id")
    (refused,) = await triggers.decisions("513")
    assert (refused.source, refused.reason) == ("chatwoot", "missing_identity")
    why = await triggers.server.services.triggers.why_text("513")
    assert "chatwoot · case.solved · refused" in why


async def test_a_timestamp_past_the_year_9999_is_refused_naming_it(
    triggers: TriggerHarness,
) -> None:
    # Once a 500: datetime.fromtimestamp raised on it.
    for stamp in (253402300800, 1e20):
        payload = {**CHATWOOT_RESOLVED, "timestamp": stamp}
        status, body = await triggers.hook("chatwoot", payload)
        assert status == 422, body
        assert (body["error"], body["field"]) == ("invalid_event", "timestamp")
        assert "years 1-9999" in body["message"]
    assert await triggers.invitations() == []
    (refused, _) = await triggers.decisions("512")
    assert (refused.source, refused.reason) == ("chatwoot", "invalid_event")
