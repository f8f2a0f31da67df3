"""Every way an event is held back answers why, stores the why, and sends nothing."""

from __future__ import annotations

import itertools

from storage.db import Database
from surveys.rules import in_sample
from tests.bot.telegram.botapi import BotAPI
from tests.bot.triggers.conftest import TriggerHarness, event, running_triggers


def sales_case(inside: bool) -> str:
    """A case id that falls inside (or outside) the 50% sample of rule sales-half."""
    return next(
        case for n in itertools.count() if in_sample("sales-half", case := f"S-{n}", 50) is inside
    )


async def test_an_event_no_rule_matches_is_suppressed_no_rule(triggers: TriggerHarness) -> None:
    status, body = await triggers.event(event(type="case.opened"))
    assert status == 200
    assert (body["decision"], body["reason"], body["rule"]) == ("suppressed", "no_rule", None)
    assert "matches none of the rules" in body["detail"]
    (decision,) = await triggers.decisions("T-1")
    assert (decision.outcome, decision.reason, decision.detail) == (
        "suppressed",
        "no_rule",
        body["detail"],
    )
    assert decision.event["type"] == "case.opened"
    assert await triggers.invitations() == []


async def test_a_case_outside_the_sample_is_suppressed_sampling(
    triggers: TriggerHarness,
) -> None:
    out = sales_case(inside=False)
    status, body = await triggers.event(event(out, team="sales"))
    assert status == 200
    assert (body["reason"], body["rule"]) == ("sampling", "sales-half")
    assert "50% sample" in body["detail"]
    # The same rule takes a case inside its sample.
    status, body = await triggers.event(event(sales_case(inside=True), team="Sales"))
    assert status == 202 and body["rule"] == "sales-half"


async def test_a_second_case_within_the_quarantine_is_suppressed(
    triggers: TriggerHarness,
) -> None:
    status, first = await triggers.event(event("Q-1"))
    assert (status, first["rule"]) == (202, "nps-closed")
    status, body = await triggers.event(event("Q-2", type="case.solved"))
    assert status == 200
    assert (body["reason"], body["rule"]) == ("quarantine", "nps-closed")
    assert "30 days" in body["detail"]
    # Another customer is not held back.
    status, other = await triggers.event(event("Q-3", recipient="2002"))
    assert status == 202, other
    assert {i.case_id for i in await triggers.invitations()} == {"Q-1", "Q-3"}


async def test_a_rule_paused_in_the_file_suppresses_paused_rule(
    triggers: TriggerHarness,
) -> None:
    status, body = await triggers.event(event(type="case.escalated"))
    assert status == 200
    assert (body["reason"], body["rule"]) == ("paused_rule", "escalations")
    assert await triggers.invitations() == []


async def test_without_a_rules_file_every_event_is_suppressed_saying_what_to_set(
    database: Database, redis_url: str, botapi: BotAPI
) -> None:
    async with running_triggers(database, redis_url, botapi, None) as harness:
        status, body = await harness.event(event())
        assert status == 200
        assert (body["reason"], body["rule"]) == ("no_rule", None)
        assert "CXBOT_RULES" in body["detail"]
        assert [d.reason for d in await harness.decisions("T-1")] == ["no_rule"]
        assert "CXBOT_RULES" in await harness.server.services.triggers.rules_text()
        status, body = await harness.put_rules("rules: []\n")
        assert status == 409 and "CXBOT_RULES" in body["message"]
    assert botapi.sent() == []


async def test_a_case_solved_then_closed_gets_one_survey_whichever_rule_matches(
    triggers: TriggerHarness,
) -> None:
    # Zendesk sends Solved, then Closed days later; the vip rule takes only case.closed.
    status, solved = await triggers.event(event("Z-1", type="case.solved", tags=["vip"]))
    assert (status, solved["rule"]) == (202, "nps-closed")
    status, closed = await triggers.event(event("Z-1", type="case.closed", tags=["vip"]))
    assert status == 200
    assert (closed["reason"], closed["rule"]) == ("duplicate_case", "vip-closed")
    assert closed["invitation_id"] == solved["invitation_id"]
    assert closed["detail"] == (
        f"duplicate: case Z-1 already has survey nps (invitation {solved['invitation_id']})"
    )
    await triggers.wait_status(solved["invitation_id"], "sent")
    assert [i.survey_id for i in await triggers.invitations()] == ["nps"]
    assert len(triggers.botapi.sent()) == 1


async def test_quarantine_holds_across_surveys(triggers: TriggerHarness) -> None:
    status, vip = await triggers.event(event("V-1", tags=["vip"]))
    assert (status, vip["rule"]) == (202, "vip-closed")  # csat, no quarantine of its own
    status, body = await triggers.event(event("V-2"))
    assert status == 200
    assert (body["reason"], body["rule"]) == ("quarantine", "nps-closed")
    assert body["detail"].startswith("quarantine: customer was surveyed ")
    assert [i.survey_id for i in await triggers.invitations()] == ["csat"]


async def test_quarantine_counts_a_survey_still_waiting_for_its_delay(
    triggers: TriggerHarness,
) -> None:
    status, later = await triggers.event(event("L-1", team="billing"))
    assert (status, later["rule"]) == (202, "billing-later")  # ces in 2 hours
    status, body = await triggers.event(event("L-2"))
    assert status == 200
    assert (body["reason"], body["rule"]) == ("quarantine", "nps-closed")
    due = later["send_at"].removesuffix("Z")[:16].replace("T", " ")
    assert body["detail"] == (
        f"quarantine: customer already has a survey due {due} UTC, "
        "rule nps-closed allows one survey per 30 days"
    )
    assert triggers.botapi.sent() == []
