"""What `/triggers` and `/why CASE` show a support lead (the texts the chat commands send)."""

from __future__ import annotations

from bot.triggers.service import Triggers
from tests.bot.triggers.conftest import TriggerHarness, event


def service(triggers: TriggerHarness) -> Triggers:
    return triggers.server.services.triggers


async def test_why_lists_every_decision_newest_first_with_the_invitation_status(
    triggers: TriggerHarness,
) -> None:
    status, first = await triggers.event(event("W-1", type="case.opened"))
    assert (status, first["reason"]) == (200, "no_rule")
    status, scheduled = await triggers.hook(
        "freshdesk",
        {"ticket": {"id": "W-1", "status": "Closed", "recipient": "1001", "group": "Support"}},
    )
    assert status == 202
    await triggers.wait_status(scheduled["invitation_id"], "sent")
    status, again = await triggers.event(event("W-1", team="support"))
    assert (status, again["reason"]) == (200, "duplicate_case")

    text = await service(triggers).why_text("W-1")
    lines = text.splitlines()
    assert lines[0] == "Case W-1: 3 event(s), newest first"
    invitation = scheduled["invitation_id"]
    # Newest first: the duplicate, the scheduled one (now sent), the unmatched opening.
    assert "· api · case.closed · rule nps-closed · suppressed (duplicate_case)" in lines[1]
    assert f"invitation {invitation} (sent)" in lines[1]
    assert "· freshdesk · case.closed · rule nps-closed · scheduled for " in lines[2]
    assert f"invitation {invitation} (sent)" in lines[2]
    assert "· api · case.opened · no rule · suppressed (no_rule): no rule: case W-1" in lines[3]
    assert lines[1].startswith("• 20") and " UTC · " in lines[1]


async def test_why_for_an_unknown_case_says_no_event_came(triggers: TriggerHarness) -> None:
    assert await service(triggers).why_text("NOPE-1") == "no event for case NOPE-1 was received"


async def test_triggers_lists_each_rule_with_what_it_does(triggers: TriggerHarness) -> None:
    text = await service(triggers).rules_text()
    lines = text.splitlines()
    assert lines[0] == f"Rules from {triggers.rules_path} (first match wins):"
    assert lines[1] == (
        "• vip-closed (▶ active): type case.closed; tags vip → csat · delay 0s"
        " · window any time · sample 100% · quarantine none · expiry 48h"
    )
    assert lines[2].startswith("• sales-half (▶ active): type case.closed; team sales → nps")
    assert "sample 50%" in lines[2]
    assert "delay 2h" in lines[3]
    assert lines[4].startswith("• escalations (⏸ paused)")
    assert lines[5].endswith("quarantine 30 days · reminder after 24h")
    assert "type case.closed|case.solved" in lines[5]


async def test_triggers_shows_language_window_zone_expiry_and_reminder(
    triggers: TriggerHarness,
) -> None:
    status, _ = await triggers.put_rules(
        "rules:\n  - id: billing\n    match: {team: billing}\n    survey: ces\n"
        "    language: pl\n    delay: 1h30m\n    window: '22:00-06:00'\n"
        "    timezone: Europe/Warsaw\n    expiry_hours: 72\n    reminder_after_hours: 24\n"
    )
    assert status == 200
    lines = (await service(triggers).rules_text()).splitlines()
    assert lines[1] == (
        "• billing (▶ active): team billing → ces in pl · delay 1h30m"
        " · window 22:00-06:00 Europe/Warsaw · sample 100% · quarantine none"
        " · expiry 72h · reminder after 24h"
    )


async def test_set_paused_confirms_and_every_process_sees_it(triggers: TriggerHarness) -> None:
    triggers_service = service(triggers)
    reply = await triggers_service.set_paused("nps-closed", True, "telegram:42 Ana")
    assert reply == "⏸ rule nps-closed is paused: its events are suppressed (paused_rule)"
    assert "• nps-closed (⏸ paused)" in await triggers_service.rules_text()
    status, body = await triggers.event(event())
    assert (status, body["reason"]) == (200, "paused_rule")
    reply = await triggers_service.set_paused("nps-closed", False, "telegram:42 Ana")
    assert reply == "▶ rule nps-closed is active again"
    entries = [(e.actor, e.action, e.target) for e in await triggers.audit()]
    assert entries == [
        ("telegram:42 Ana", "rule.pause", "nps-closed"),
        ("telegram:42 Ana", "rule.resume", "nps-closed"),
    ]


async def test_set_paused_on_an_unknown_rule_lists_the_rules(triggers: TriggerHarness) -> None:
    reply = await service(triggers).set_paused("nps", True, "telegram:42 Ana")
    assert reply == (
        "no rule 'nps'; rules: vip-closed, sales-half, billing-later, escalations, nps-closed"
    )
    assert await triggers.audit() == []
