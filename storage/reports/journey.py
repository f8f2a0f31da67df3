"""The customer journey: each touchpoint's scores in the journey's order, and its friction point.

One grouped query counts the scores per touchpoint, kind and value; Python turns the counts
into scores and intervals (surveys.stats, surveys.intervals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.tables import Answer, Invitation
from surveys.definitions import QuestionKind
from surveys.intervals import Interval, interval
from surveys.report_query import SCALE_KINDS, ReportQuery
from surveys.scoring import Score
from surveys.stats import score_from_counts

__all__ = ["FRICTION_KINDS", "Journey", "Touchpoint", "journey"]

# The friction point is the worst effort (CES) with enough answers; failing that, the worst
# satisfaction (CSAT). NPS is a relationship score, not one step's friction.
FRICTION_KINDS = (QuestionKind.CES, QuestionKind.CSAT)


@dataclass(frozen=True)
class Touchpoint:
    """One step of the journey (None: invitations that name no touchpoint) and its scores."""

    name: str | None
    scores: dict[QuestionKind, Score]
    intervals: dict[QuestionKind, Interval | None]


@dataclass(frozen=True)
class Journey:
    """The touchpoints in order: the rules file's `journey` first, then the others by name."""

    query: ReportQuery
    steps: tuple[Touchpoint, ...]
    friction: Touchpoint | None
    friction_kind: QuestionKind | None
    min_n: int
    teams: tuple[str, ...] | None = None


async def journey(
    session: AsyncSession,
    query: ReportQuery,
    order: Sequence[str],
    *,
    teams: Collection[str] | None = None,
    min_n: int,
) -> Journey:
    """Every touchpoint's NPS, CSAT and CES in the query's period; those in `order` are listed
    even without answers, in that order."""
    statement = (
        select(col(Invitation.touchpoint), col(Answer.kind), col(Answer.score), func.count())
        .join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
        .where(
            col(Answer.kind).in_([kind.value for kind in SCALE_KINDS]),
            col(Answer.score).is_not(None),
            col(Answer.answered_at) >= query.start,
            col(Answer.answered_at) < query.end,
            *invitation_scope(query, teams),
        )
        .group_by(col(Invitation.touchpoint), col(Answer.kind), col(Answer.score))
    )
    counts: defaultdict[str | None, defaultdict[QuestionKind, dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for name, kind, value, count in (await session.exec(statement)).all():
        if value is not None:
            counts[name][QuestionKind(kind)][value] = count
    named = [name for name in order if query.touchpoint in (None, name)]
    others = sorted(name for name in counts if name is not None and name not in order)
    names: list[str | None] = [*named, *others]
    if None in counts:
        names.append(None)
    steps = tuple(_step(name, counts.get(name, {})) for name in names)
    friction, friction_kind = _friction(steps, min_n)
    return Journey(
        query=query,
        steps=steps,
        friction=friction,
        friction_kind=friction_kind,
        min_n=min_n,
        teams=tuple(sorted(teams)) if teams is not None else None,
    )


def _step(name: str | None, kinds: dict[QuestionKind, dict[int, int]]) -> Touchpoint:
    scores = {kind: score_from_counts(kind, kinds[kind]) for kind in SCALE_KINDS if kind in kinds}
    return Touchpoint(name, scores, {kind: interval(s) for kind, s in scores.items()})


def _friction(
    steps: Sequence[Touchpoint], min_n: int
) -> tuple[Touchpoint | None, QuestionKind | None]:
    for kind in FRICTION_KINDS:
        enough = [
            step
            for step in steps
            if step.name is not None and kind in step.scores and step.scores[kind].n >= min_n
        ]
        if enough:
            worst = min(enough, key=lambda step: (step.scores[kind].value or 0.0, step.name or ""))
            return worst, kind
    return None, None
