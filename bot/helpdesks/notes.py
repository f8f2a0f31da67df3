"""What an answer looks like on its case: the note's text, the score's band and tag."""

from __future__ import annotations

from bot.alerts.thresholds import Thresholds
from bot.helpdesks.base import TicketNote

# The bands of each scale; below the alert threshold (CXBOT_ALERT_*_MAX) is the lowest one.
_BANDS = {
    "nps": ("detractor", "passive", "promoter", 9),
    "csat": ("dissatisfied", "neutral", "satisfied", 4),
    "ces": ("difficult", "neutral", "easy", 5),
}
_SCALE_TOP = {"nps": 10, "csat": 5, "ces": 7}


def band(kind: str, score: int, thresholds: Thresholds) -> str | None:
    """ "detractor", "passive" or "promoter" for NPS (and the like for CSAT and CES)."""
    found = _BANDS.get(kind)
    limit = thresholds.limit(kind)
    if found is None or limit is None:
        return None
    low, middle, high, top_from = found
    if score <= limit:
        return low
    return high if score >= top_from else middle


def tag(kind: str, band_name: str) -> str:
    """The case's tag for a band: ``cxbot_nps_detractor``."""
    return f"cxbot_{kind}_{band_name}"


def marker(invitation_id: int, question_id: str) -> str:
    """The mark a note carries, unique per answer, for retries to look for."""
    return f"[cxbot {invitation_id}/{question_id}]"


def score_note(
    invitation_id: int,
    question_id: str,
    survey_id: str,
    kind: str,
    score: int,
    thresholds: Thresholds,
) -> TicketNote:
    """The note of a score: ``cxbot nps survey: 9/10 (promoter)``."""
    found = band(kind, score, thresholds)
    top = _SCALE_TOP.get(kind)
    value = f"{score}/{top}" if top else str(score)
    label = f" ({found})" if found else ""
    mark = marker(invitation_id, question_id)
    return TicketNote(
        marker=mark,
        text=f"cxbot {survey_id} survey: {kind.upper()} {value}{label} {mark}",
        survey_id=survey_id,
        kind=kind,
        score=score,
        band=found,
    )


def comment_note(invitation_id: int, question_id: str, survey_id: str, comment: str) -> TicketNote:
    """The note of a free-text answer: ``cxbot nps survey, comment: "..."``."""
    mark = marker(invitation_id, question_id)
    return TicketNote(
        marker=mark,
        text=f'cxbot {survey_id} survey, comment: "{comment}" {mark}',
        survey_id=survey_id,
        kind="text",
        comment=comment,
    )
