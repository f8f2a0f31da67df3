"""What an alert says and which scores raise one, without any chat platform."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.alerts import FollowupAction, Staff, Thresholds, pack_button, raises_alert, unpack_button
from bot.alerts.board import Posted, pack_posted, unpack_posted
from bot.alerts.view import render_alert, score_label
from storage.followups import FollowupCase
from storage.tables import Followup

DEFAULTS = Thresholds()


@pytest.mark.parametrize(
    ("kind", "highest_alerting", "top"), [("nps", 6, 10), ("csat", 2, 5), ("ces", 3, 7)]
)
def test_default_thresholds_alert_at_or_below_the_limit(
    kind: str, highest_alerting: int, top: int
) -> None:
    low = 0 if kind == "nps" else 1
    alerting = [s for s in range(low, top + 1) if raises_alert(kind, s, DEFAULTS)]
    assert alerting == list(range(low, highest_alerting + 1))


def test_other_answers_and_broken_scores_never_alert() -> None:
    assert not raises_alert("text", None, DEFAULTS)
    assert not raises_alert("choice", None, DEFAULTS)
    assert not raises_alert("nps", None, DEFAULTS)
    assert not raises_alert("nps", -1, DEFAULTS)
    assert raises_alert("nps", 8, Thresholds(nps=8))


def test_buttons_pack_and_unpack() -> None:
    assert pack_button(12, FollowupAction.CLAIM) == "fu:12:claim"
    assert unpack_button("fu:12:resolve") == (12, FollowupAction.RESOLVE)
    for junk in ("fu:12:reopen", "fu:x:claim", "cx:12:claim", "fu:12", "", "fu::claim"):
        assert unpack_button(junk) is None


def test_staff_record_round_trips_names_with_colons() -> None:
    staff = Staff("telegram", "777", "Ana: team lead")
    assert staff.record == "telegram:777:Ana: team lead"
    assert Staff.from_record(staff.record) == staff
    assert len(Staff("slack", "U1", "x" * 500).record) == 160


def test_posted_alerts_pack_and_unpack() -> None:
    posts = [Posted("telegram", "-100123", "55"), Posted("slack", "C0A", "1700000000.000100")]
    assert pack_posted(posts) == "telegram:-100123:55 slack:C0A:1700000000.000100"
    assert unpack_posted(pack_posted(posts)) == posts
    assert unpack_posted(None) == []


def test_score_labels_carry_the_band() -> None:
    assert score_label("nps", 0) == "NPS 0/10 (detractor)"
    assert score_label("csat", 3) == "CSAT 3/5 (neutral)"
    assert score_label("ces", 1) == "CES 1/7 (difficult)"
    assert score_label("nps", 42) == "NPS 42"


def test_a_long_comment_is_cut_and_a_resolved_alert_has_no_buttons() -> None:
    followup = Followup(
        id=5,
        invitation_id=1,
        kind="csat",
        score=1,
        comment="slow " * 1000,
        alert_channel="telegram",
        alert_address="-1",
        status="resolved",
        resolved_by="slack:U1:bo",
        created_at=datetime(2026, 11, 3, 14, 5, 59),
    )
    case = FollowupCase(followup, "T-9", "csat", None, None, "slack", "U0C")

    view = render_alert(case)

    assert view.actions == ()
    lines = view.text.splitlines()
    assert lines[:5] == [
        "🔴 Unhappy customer · CSAT 1/5 (dissatisfied)",
        "Case: T-9 · survey: csat",
        "Agent: — · team: —",
        "Customer: slack U0C",
        "Answered: 2026-11-03 14:05 UTC",
    ]
    assert lines[5].endswith("…”") and len(lines[5]) < 1600
    assert lines[6] == "✅ resolved by bo"
    assert len(view.text) < 3000
