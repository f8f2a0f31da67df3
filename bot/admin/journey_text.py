"""/journey as plain text: each touchpoint's scores in the journey's order, the friction point."""

from __future__ import annotations

from bot.admin.report_text import context_parts, score_value, spread_text
from storage.reports import Journey, Touchpoint
from surveys.definitions import QuestionKind

__all__ = ["NO_TOUCHPOINT", "journey_text"]

NO_TOUCHPOINT = "(no touchpoint)"  # invitations sent by hand or before touchpoints existed


def journey_text(journey: Journey, *, prefix: str = "/") -> str:
    """'Journey · last 30 days · UTC time', a block per touchpoint, then the friction point."""
    head = " · ".join(["Journey", *context_parts(journey.query, journey.teams)])
    if not journey.steps:
        return (
            f"{head}\nno answers in this period, and the rules file lists no journey "
            "(journey: [signup, first-ticket, renewal])"
        )
    blocks = [_step(number, step, journey) for number, step in enumerate(journey.steps, 1)]
    return "\n\n".join([head, *blocks, _friction(journey, prefix)])


def _step(number: int, step: Touchpoint, journey: Journey) -> str:
    name = step.name if step.name is not None else NO_TOUCHPOINT
    marker = "  ⚠ friction point" if step is journey.friction else ""
    lines = [f"{number}. {name}{marker}"]
    if not step.scores:
        lines.append("   no answers in this period")
    for kind, score in step.scores.items():
        assert score.value is not None  # only kinds with answers are listed
        spread = spread_text(kind, score, step.intervals[kind])
        shown = f"{kind.value.upper()} {score_value(kind, score.value)} (n={score.n}"
        lines.append(f"   {shown}, {spread})" if spread else f"   {shown})")
    return "\n".join(lines)


def _friction(journey: Journey, prefix: str) -> str:
    step, kind = journey.friction, journey.friction_kind
    if step is None or kind is None:
        return f"friction point: none yet (no touchpoint has {journey.min_n} CES or CSAT answers)"
    score = step.scores[kind]
    assert score.value is not None
    worst = "effort" if kind is QuestionKind.CES else "satisfaction"
    return (
        f"friction point: {step.name}, the worst {worst} with {journey.min_n}+ answers "
        f"({kind.value.upper()} {score_value(kind, score.value)}, n={score.n}); "
        f"its comments: {prefix}comments touchpoint={step.name}"
    )
