"""Zendesk and Freshdesk hooks through the running app: authenticated, decided, delivered."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.helpdesks.zendesk import zendesk_event, zendesk_signature
from bot.triggers.errors import InvalidEvent
from bot.triggers.routes import with_default_channel
from storage.clock import utcnow
from tests.bot.triggers.conftest import ZENDESK_SECRET, TriggerHarness
from tests.bot.triggers.payloads import (
    FRESHDESK_ADVANCED,
    FRESHDESK_SIMPLE,
    ZENDESK_STATUS_CHANGED,
    ZENDESK_TRIGGER,
)


def zendesk_headers(body: bytes, *, age: timedelta = timedelta(0)) -> dict[str, str]:
    stamp = (utcnow() - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": zendesk_signature(body, stamp, ZENDESK_SECRET),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


async def test_a_zendesk_trigger_signed_by_zendesk_gets_its_survey(
    triggers: TriggerHarness,
) -> None:
    raw = json.dumps(ZENDESK_TRIGGER).encode()
    status, body = await triggers.hook(
        "zendesk", None, raw=raw, auth=None, headers=zendesk_headers(raw)
    )
    assert status == 202, body
    # Tagged vip: the first rule, vip-closed, wants case.closed only; Solved goes to nps-closed.
    assert body["rule"] == "nps-closed"
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.case_id) == ("nps", "35436")
    assert (invitation.team, invitation.agent, invitation.tags) == (
        "Billing",
        "Ana Novak",
        ",renewal,vip,",
    )
    assert invitation.attributes["priority"] == "high"
    await triggers.botapi.wait_for("sendMessage", 1)
    (decision,) = await triggers.decisions("35436")
    assert (decision.source, decision.event_type) == ("zendesk", "case.solved")


async def test_a_stale_zendesk_signature_is_refused(triggers: TriggerHarness) -> None:
    raw = json.dumps(ZENDESK_TRIGGER).encode()
    headers = zendesk_headers(raw, age=timedelta(minutes=6))
    status, body = await triggers.hook("zendesk", None, raw=raw, auth=None, headers=headers)
    assert status == 401
    assert "minutes" in body["message"]
    assert await triggers.invitations() == []


async def test_a_zendesk_signature_of_another_body_is_refused(triggers: TriggerHarness) -> None:
    raw = json.dumps(ZENDESK_TRIGGER).encode()
    headers = zendesk_headers(b'{"ticket": {}}')
    status, body = await triggers.hook("zendesk", None, raw=raw, auth=None, headers=headers)
    assert status == 401 and "does not match" in body["message"]


async def test_zendesk_signatures_are_not_accepted_on_the_generic_endpoint(
    triggers: TriggerHarness,
) -> None:
    raw = json.dumps({"type": "case.closed"}).encode()
    status, _ = await triggers.event(None, raw=raw, auth=None, headers=zendesk_headers(raw))
    assert status == 401


async def test_a_zendesk_ticket_event_with_bearer_auth(triggers: TriggerHarness) -> None:
    status, body = await triggers.hook("zendesk", ZENDESK_STATUS_CHANGED)
    assert status == 202, body
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.case_id, invitation.team) == (
        "nps",
        "35437",
        "8447320466078",
    )
    assert invitation.tags == ",eu,refund,"


async def test_a_zendesk_payload_without_chat_identity_is_a_422(
    triggers: TriggerHarness,
) -> None:
    body = json.loads(json.dumps(ZENDESK_TRIGGER))
    body["ticket"]["requester"] = {"external_id": "", "email": ""}
    status, answer = await triggers.hook("zendesk", body)
    assert status == 422
    assert (answer["error"], answer["field"]) == (
        "missing_identity",
        "ticket.requester.external_id",
    )
    assert await triggers.invitations() == []
    # The support lead asking why the customer got nothing learns what to fix in Zendesk.
    (refused,) = await triggers.decisions("35436")
    assert (refused.source, refused.event_type, refused.outcome, refused.reason) == (
        "zendesk",
        "case.solved",
        "rejected",
        "missing_identity",
    )
    assert refused.event == {
        "case_id": "35436",
        "type": "case.solved",
        "channel": "telegram",
        "team": "Billing",
        "error": "missing_identity",
        "excerpt": json.dumps(body),
    }
    why = await triggers.server.services.triggers.why_text("35436")
    assert "UTC · zendesk · case.solved · refused, no survey (missing_identity): " in why
    assert "fill ticket.requester.external_id with their telegram id" in why


async def test_without_channel_in_the_url_the_only_configured_channel_is_assumed(
    triggers: TriggerHarness,
) -> None:
    status, answer = await triggers.hook("zendesk", ZENDESK_TRIGGER, query={})
    assert status == 202, answer
    invitation = await triggers.invitation(answer["invitation_id"])
    assert (invitation.channel, invitation.address) == ("telegram", "1001")


def test_with_several_channels_the_hook_url_must_name_one() -> None:
    assert with_default_channel({}, ["telegram", "slack"]) == {}
    assert with_default_channel({"channel": "slack"}, ["telegram"]) == {"channel": "slack"}
    assert with_default_channel({"timezone": "UTC"}, ["slack"]) == {
        "timezone": "UTC",
        "channel": "slack",
    }
    with pytest.raises(InvalidEvent, match=r"\?channel=telegram"):
        zendesk_event(ZENDESK_TRIGGER, with_default_channel({}, ["telegram", "slack"]))


async def test_a_freshdesk_resolved_ticket_gets_its_survey(triggers: TriggerHarness) -> None:
    status, body = await triggers.hook("freshdesk", FRESHDESK_ADVANCED, auth="hmac")
    assert status == 202, body
    invitation = await triggers.invitation(body["invitation_id"])
    assert (invitation.survey_id, invitation.case_id, invitation.rule_id) == (
        "nps",
        "4711",
        "nps-closed",
    )
    assert (invitation.team, invitation.agent, invitation.tags) == (
        "Logistics",
        "Piotr Zieliński",
        ",late delivery,vip,",
    )
    (decision,) = await triggers.decisions("4711")
    assert (decision.source, decision.event_type) == ("freshdesk", "case.solved")


async def test_a_freshdesk_closed_vip_ticket_matches_the_vip_rule(
    triggers: TriggerHarness,
) -> None:
    body = json.loads(json.dumps(FRESHDESK_ADVANCED))
    body["ticket"]["status"] = "5"
    status, answer = await triggers.hook("freshdesk", body)
    assert status == 202, answer
    assert answer["rule"] == "vip-closed"
    assert (await triggers.invitation(answer["invitation_id"])).survey_id == "csat"


async def test_freshdesk_simple_content_without_email_says_what_is_missing(
    triggers: TriggerHarness,
) -> None:
    simple = json.loads(json.dumps(FRESHDESK_SIMPLE))
    del simple["freshdesk_webhook"]["ticket_contact_email"]
    status, body = await triggers.hook("freshdesk", simple)
    assert status == 422
    assert (body["error"], body["field"]) == ("missing_identity", "ticket.recipient")
    assert body["message"] == (
        "the Freshdesk payload has no chat identity for the customer: fill ticket.recipient "
        "with their telegram id, or send their email; for Slack (?channel=slack) the email "
        "is enough"
    )
    (refused,) = await triggers.decisions("4712")
    assert (refused.source, refused.event_type, refused.reason) == (
        "freshdesk",
        "case.closed",
        "missing_identity",
    )


async def test_hooks_require_authentication(triggers: TriggerHarness) -> None:
    status, body = await triggers.hook("freshdesk", FRESHDESK_ADVANCED, auth=None)
    assert status == 401 and "Authorization: Bearer" in body["message"]
    status, body = await triggers.hook("zendesk", ZENDESK_TRIGGER, auth=None)
    assert status == 401 and "X-Zendesk-Webhook-Signature" in body["message"]
