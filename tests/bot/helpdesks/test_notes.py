"""The note, band and tag an answer gets on its case."""

from __future__ import annotations

import pytest

from bot.alerts.thresholds import Thresholds
from bot.helpdesks.notes import band, comment_note, score_note, tag


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    [
        ("nps", 0, "detractor"),
        ("nps", 6, "detractor"),
        ("nps", 7, "passive"),
        ("nps", 8, "passive"),
        ("nps", 9, "promoter"),
        ("csat", 2, "dissatisfied"),
        ("csat", 3, "neutral"),
        ("csat", 4, "satisfied"),
        ("ces", 3, "difficult"),
        ("ces", 4, "neutral"),
        ("ces", 7, "easy"),
        ("choice", 1, None),
    ],
)
def test_scores_fall_in_their_scales_bands(kind: str, score: int, expected: str | None) -> None:
    assert band(kind, score, Thresholds()) == expected


def test_the_alert_threshold_moves_the_lowest_band() -> None:
    assert band("nps", 7, Thresholds(nps=7)) == "detractor"
    assert tag("nps", "detractor") == "cxbot_nps_detractor"


def test_notes_carry_the_answers_marker() -> None:
    note = score_note(12, "score", "nps", "nps", 9, Thresholds())
    assert note.text == "cxbot nps survey: NPS 9/10 (promoter) [cxbot 12/score]"
    assert note.marker in note.text and note.band == "promoter"
    comment = comment_note(12, "why", "nps", "Quick and kind")
    assert comment.text == 'cxbot nps survey, comment: "Quick and kind" [cxbot 12/why]'
    assert (comment.score, comment.band) == (None, None)
