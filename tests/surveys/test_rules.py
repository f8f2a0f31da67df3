"""Trigger rules: matching events, sampling, quarantine and deciding what to send when."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from surveys.rules import (
    Event,
    Rule,
    RuleSet,
    Scheduled,
    Suppressed,
    Suppression,
    decide,
    first_match,
    in_sample,
)

NOW = datetime(2026, 11, 20, 12, 0)  # the project's datetimes are naive UTC


def event(**fields: Any) -> Event:
    defaults: dict[str, Any] = {"type": "case.closed", "case_id": "T-1", "channel": "telegram"}
    return Event.model_validate({**defaults, "recipient": "42", **fields})


def rule(rule_id: str = "r", **fields: Any) -> Rule:
    return Rule.model_validate({"id": rule_id, "survey": "nps", **fields})


def rules(*items: Rule) -> RuleSet:
    return RuleSet(rules=items)


# --- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "fields", "matches"),
    [
        pytest.param({}, {}, True, id="empty-match-is-any"),
        pytest.param({"type": "case.closed"}, {}, True, id="type-single-string"),
        pytest.param({"type": ["case.solved", "case.closed"]}, {}, True, id="type-any-of"),
        pytest.param({"type": ["case.solved"]}, {}, False, id="type-other"),
        pytest.param({"type": []}, {}, True, id="type-empty-list-is-any"),
        pytest.param({"types": ["case.closed"]}, {}, True, id="plural-key"),
        pytest.param({"channel": "telegram"}, {}, True, id="channel"),
        pytest.param({"channel": ["slack"]}, {}, False, id="channel-other"),
        pytest.param({"team": ["billing"]}, {"team": "billing"}, True, id="team"),
        pytest.param({"team": ["billing"]}, {"team": "sales"}, False, id="team-other"),
        pytest.param({"team": ["billing"]}, {}, False, id="team-missing-on-event"),
        pytest.param({"agent": ["alice", "bob"]}, {"agent": "bob"}, True, id="agent-any-of"),
        pytest.param({"agent": ["alice"]}, {"agent": "carol"}, False, id="agent-other"),
        pytest.param({"priority": ["high", "urgent"]}, {"priority": "urgent"}, True, id="priority"),
        pytest.param({"priority": "high"}, {"priority": "low"}, False, id="priority-other"),
        pytest.param({"tags": ["vip", "refund"]}, {"tags": ["refund"]}, True, id="tags-any-of"),
        pytest.param({"tags": ["vip"]}, {"tags": ["new", "vip"]}, True, id="tags-one-of-many"),
        pytest.param({"tags": ["vip"]}, {"tags": ["new"]}, False, id="tags-none-shared"),
        pytest.param({"tags": ["vip"]}, {}, False, id="tags-event-has-none"),
        pytest.param({"type": "Case.Closed"}, {}, True, id="type-case-insensitive"),
        pytest.param({"channel": "TELEGRAM"}, {}, True, id="channel-case-insensitive"),
        pytest.param({"team": "Billing"}, {"team": "BILLING"}, True, id="team-case-insensitive"),
        pytest.param({"agent": "Alice"}, {"agent": "alice"}, True, id="agent-case-insensitive"),
        pytest.param({"tags": ["VIP"]}, {"tags": ["vip"]}, True, id="tags-case-insensitive"),
        pytest.param({"priority": "HIGH"}, {"priority": "high"}, True, id="priority-case"),
        pytest.param(
            {"team": "billing", "agent": "alice"},
            {"team": "billing", "agent": "bob"},
            False,
            id="every-field-must-match",
        ),
        pytest.param(
            {"type": "case.closed", "team": "billing", "tags": ["vip"], "priority": "high"},
            {"team": "billing", "tags": ["vip"], "priority": "high"},
            True,
            id="all-fields-match",
        ),
    ],
)
def test_matching(match: dict[str, Any], fields: dict[str, Any], matches: bool) -> None:
    only = rule(match=match)
    assert first_match(event(**fields), rules(only)) == (only if matches else None)


def test_first_matching_rule_wins_by_order() -> None:
    vip = rule("vip", match={"tags": ["vip"]}, survey="csat")
    billing = rule("billing", match={"team": "billing"}, survey="ces")
    anything = rule("anything")
    ordered = rules(vip, billing, anything)
    assert first_match(event(team="billing", tags=["vip"]), ordered) is vip
    assert first_match(event(team="billing"), ordered) is billing
    assert first_match(event(team="sales"), ordered) is anything


def test_no_matching_rule_is_suppressed_with_a_reason() -> None:
    only = rules(rule("slack-only", match={"channel": "slack"}))
    decision = decide(event(case_id="T-7"), only, now=NOW)
    assert decision == Suppressed(
        Suppression.NO_RULE,
        None,
        "no rule: case T-7 (case.closed on telegram) matches none of the rules (1 checked)",
    )


def test_no_rules_at_all() -> None:
    assert decide(event(), RuleSet(), now=NOW) == Suppressed(
        Suppression.NO_RULE,
        None,
        "no rule: case T-1 (case.closed on telegram) matches none of the rules (0 checked)",
    )


# --- deciding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "occurred_at", "send_at"),
    [
        pytest.param("30m", NOW, NOW + timedelta(minutes=30), id="delay-from-event"),
        pytest.param("1h30m", None, NOW + timedelta(hours=1, minutes=30), id="no-time-uses-now"),
        pytest.param(0, NOW, NOW, id="no-delay"),
        pytest.param(
            "30m",
            NOW - timedelta(minutes=10),
            NOW + timedelta(minutes=20),
            id="delay-counts-from-event-not-arrival",
        ),
        pytest.param("30m", NOW - timedelta(hours=2), NOW, id="overdue-sends-now"),
        pytest.param(
            "30m", NOW + timedelta(days=365), NOW + timedelta(minutes=30), id="future-event-is-now"
        ),
    ],
)
def test_delay(delay: object, occurred_at: datetime | None, send_at: datetime) -> None:
    only = rules(rule(delay=delay))
    decision = decide(event(occurred_at=occurred_at), only, now=NOW)
    assert isinstance(decision, Scheduled)
    assert decision.send_at == send_at


@pytest.mark.parametrize(
    ("event_zone", "rule_zone", "send_at"),
    [
        # 2026-07-15 19:00 UTC is 21:00 in Warsaw, 15:00 in New York.
        pytest.param(None, "Europe/Warsaw", datetime(2026, 7, 16, 7), id="rule-zone-outside"),
        pytest.param(
            "America/New_York",
            "Europe/Warsaw",
            datetime(2026, 7, 15, 19),
            id="event-zone-wins-inside",
        ),
        pytest.param(None, "UTC", datetime(2026, 7, 15, 19), id="default-utc"),
        pytest.param(
            "Asia/Tokyo", "America/New_York", datetime(2026, 7, 16, 0), id="event-zone-outside"
        ),
    ],
)
def test_window_uses_the_event_zone_before_the_rule_zone(
    event_zone: str | None, rule_zone: str, send_at: datetime
) -> None:
    only = rules(rule(window="09:00-20:00", timezone=rule_zone))
    at = datetime(2026, 7, 15, 19)
    decision = decide(event(timezone=event_zone, occurred_at=at), only, now=at)
    assert isinstance(decision, Scheduled)
    assert decision.send_at == send_at


def test_scheduled_carries_the_rule_settings() -> None:
    billing = rule(
        "billing",
        survey="csat",
        language="pl",
        expiry_hours=48,
        reminder_after_hours=12,
        delay="1h",
    )
    decision = decide(event(language="en", occurred_at=NOW), rules(billing), now=NOW)
    assert decision == Scheduled(
        rule=billing,
        send_at=NOW + timedelta(hours=1),
        expiry_hours=48,
        reminder_after_hours=12,
        language="pl",
    )


@pytest.mark.parametrize(
    ("rule_language", "event_language", "language"),
    [
        pytest.param("pl", "en", "pl", id="rule-wins"),
        pytest.param(None, "ro", "ro", id="event-language"),
        pytest.param(None, None, None, id="neither"),
    ],
)
def test_language(rule_language: str | None, event_language: str | None, language: str) -> None:
    only = rules(rule(language=rule_language))
    decision = decide(event(language=event_language), only, now=NOW)
    assert isinstance(decision, Scheduled)
    assert (decision.language, decision.expiry_hours, decision.reminder_after_hours) == (
        language,
        None,
        None,
    )


def test_paused_rule_suppresses_and_still_shadows_later_rules() -> None:
    paused = rule("billing", match={"team": "billing"}, paused=True)
    ordered = rules(paused, rule("anything"))
    decision = decide(event(team="billing"), ordered, now=NOW)
    assert decision == Suppressed(Suppression.PAUSED, paused, "paused: rule billing is paused")
    assert isinstance(decide(event(team="sales"), ordered, now=NOW), Scheduled)


@pytest.mark.parametrize(
    ("surveyed_at", "suppressed"),
    [
        pytest.param([], False, id="never-surveyed"),
        pytest.param([NOW - timedelta(days=30)], False, id="exactly-30-days-ago"),
        pytest.param([NOW - timedelta(days=30, seconds=-1)], True, id="a-second-short"),
        pytest.param([NOW - timedelta(days=1)], True, id="yesterday"),
        pytest.param([NOW - timedelta(days=31)], False, id="long-ago"),
        pytest.param([NOW - timedelta(days=90), NOW - timedelta(days=2)], True, id="any-of"),
        # A survey still waiting for its delay reaches the customer later: it counts too.
        pytest.param([NOW + timedelta(days=20)], True, id="one-due-later"),
        pytest.param([NOW + timedelta(days=30)], False, id="one-due-30-days-on"),
    ],
)
def test_quarantine_boundary(surveyed_at: list[datetime], suppressed: bool) -> None:
    quarantined = rule("billing-csat", quarantine_days=30)
    decision = decide(event(), rules(quarantined), now=NOW, surveyed_at=surveyed_at)
    if not suppressed:
        assert isinstance(decision, Scheduled)
        return
    assert isinstance(decision, Suppressed)
    assert (decision.reason, decision.rule) == (Suppression.QUARANTINE, quarantined)
    assert decision.detail.endswith("rule billing-csat allows one survey per 30 days")


def test_quarantine_detail_reads_naturally_for_one_day() -> None:
    decision = decide(
        event(),
        rules(rule("daily", quarantine_days=1)),
        now=NOW,
        surveyed_at=[datetime(2026, 11, 20, 8, 5)],
    )
    assert isinstance(decision, Suppressed)
    assert decision.detail == (
        "quarantine: customer was surveyed 2026-11-20 08:05 UTC, "
        "rule daily allows one survey per 1 day"
    )


def test_quarantine_names_a_survey_still_to_come() -> None:
    decision = decide(
        event(),
        rules(rule("weekly", quarantine_days=7)),
        now=NOW,
        surveyed_at=[NOW + timedelta(days=2, hours=3)],
    )
    assert isinstance(decision, Suppressed)
    assert decision.detail == (
        "quarantine: customer already has a survey due 2026-11-22 15:00 UTC, "
        "rule weekly allows one survey per 7 days"
    )


@pytest.mark.parametrize(
    ("fields", "suppressed"),
    [
        # Surveyed 23:30 UTC nine days ago; quarantine 10 days. Now (12:00 UTC) is inside it,
        # but a 20:00-22:00 window sends at 20:00, still inside; a 12h delay ends past it.
        pytest.param({}, True, id="now"),
        pytest.param({"window": "20:00-22:00"}, True, id="window-still-inside"),
        pytest.param({"delay": "12h"}, False, id="delay-past-the-quarantine"),
    ],
)
def test_quarantine_counts_from_the_send_time(fields: dict[str, Any], suppressed: bool) -> None:
    last = NOW - timedelta(days=9, hours=12, minutes=30)
    decision = decide(
        event(), rules(rule(quarantine_days=10, **fields)), now=NOW, surveyed_at=[last]
    )
    assert isinstance(decision, Suppressed) is suppressed, decision


def test_no_quarantine_when_off() -> None:
    recent = NOW - timedelta(minutes=1)
    decision = decide(event(), rules(rule()), now=NOW, surveyed_at=[recent])
    assert isinstance(decision, Scheduled)


# --- sampling -------------------------------------------------------------------------------


def test_sampling_is_sha256_of_rule_and_case() -> None:
    digest = hashlib.sha256(b"billing-csat:T-9").digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    assert round(fraction, 4) == 0.4763  # pinned: a new formula would re-sample every case
    assert in_sample("billing-csat", "T-9", 47.7) is True
    assert in_sample("billing-csat", "T-9", 47.6) is False
    assert in_sample("billing-csat", "T-9", 100) is True


def test_sampled_out_case_is_suppressed_the_same_way_every_time() -> None:
    sampled = rules(rule("billing-csat", sample=50))
    for _ in range(3):  # T-13 hashes to 0.59, T-9 to 0.48
        assert decide(event(case_id="T-13"), sampled, now=NOW) == Suppressed(
            Suppression.SAMPLING,
            sampled.get("billing-csat"),
            "sampled out: case T-13 falls outside the 50% sample of rule billing-csat",
        )
        assert isinstance(decide(event(case_id="T-9"), sampled, now=NOW), Scheduled)


@pytest.mark.parametrize("percent", [10, 50, 75])
def test_sample_takes_its_share_of_cases(percent: float) -> None:
    taken = sum(in_sample("billing-csat", f"T-{number}", percent) for number in range(10_000))
    assert abs(taken - percent * 100) <= 300


def test_other_rules_sample_other_cases() -> None:
    cases = [f"T-{number}" for number in range(1_000)]
    first = {case for case in cases if in_sample("a", case, 50)}
    second = {case for case in cases if in_sample("b", case, 50)}
    assert first != second


# --- events ---------------------------------------------------------------------------------


def test_event_times_become_naive_utc() -> None:
    warsaw = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Warsaw"))
    assert event(occurred_at=warsaw).occurred_at == datetime(2026, 3, 29, 1, 30)
    assert event(occurred_at="2026-10-25T02:30:00-04:00").occurred_at == datetime(
        2026, 10, 25, 6, 30
    )
    assert event(occurred_at=datetime(2026, 1, 1, 9)).occurred_at == datetime(2026, 1, 1, 9)
    assert event(occurred_at=datetime(2026, 1, 1, 9, tzinfo=UTC)).occurred_at == datetime(
        2026, 1, 1, 9
    )


def test_event_tidies_what_sources_send() -> None:
    tidy = event(
        recipient=123456789,
        case_id="  T-1 ",
        timezone="",
        team=" billing ",
        tags="vip",
        attributes={"subject": "Refund"},
    )
    assert (tidy.recipient, tidy.case_id, tidy.timezone, tidy.team, tidy.tags) == (
        "123456789",
        "T-1",
        None,
        "billing",
        ("vip",),
    )
    assert tidy.attributes == {"subject": "Refund"}


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        pytest.param(
            {"timezone": "Mars/Olympus"},
            ("timezone",),
            "Value error, 'Mars/Olympus' is not a time zone (use an IANA name such as "
            "Europe/Warsaw)",
            id="bad-zone",
        ),
        pytest.param({"type": ""}, ("type",), "String should have at least 1 character", id="type"),
        pytest.param(
            {"type": "x" * 65}, ("type",), "String should have at most 64 characters", id="long"
        ),
        pytest.param(
            {"case_id": "   "}, ("case_id",), "String should have at least 1 character", id="case"
        ),
        pytest.param({"subject": "x"}, ("subject",), "Extra inputs are not permitted", id="extra"),
        pytest.param(
            {"tags": ["a,b"]}, ("tags", 0), "Value error, tag 'a,b' contains a comma", id="comma"
        ),
    ],
)
def test_bad_events_are_refused(fields: dict[str, Any], loc: tuple[str], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        event(**fields)
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [(loc, message)]
