"""A score week by week (ISO weeks, starting Monday), counted in one grouped query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.reports.summary import scored_answers
from storage.tables import Answer, Invitation
from surveys.definitions import QuestionKind
from surveys.report_query import ReportQuery
from surveys.stats import score_from_counts

__all__ = ["TrendPoint", "weekly_trend"]


@dataclass(frozen=True)
class TrendPoint:
    """The score of the answers given in one week of the period (the first and last weeks
    may be partial: only their days inside the period count)."""

    week_start: date  # a Monday
    value: float | None
    n: int


async def weekly_trend(
    session: AsyncSession,
    query: ReportQuery,
    kind: QuestionKind,
    *,
    teams: Collection[str] | None = None,
) -> list[TrendPoint]:
    """The `kind` score per ISO week of the query's period, oldest first; weeks without
    answers are left out."""
    week = _week_start(session.get_bind().dialect.name)
    statement = (
        select(week, col(Answer.score), func.count())
        .where(
            *scored_answers(kind, query, teams),
            col(Answer.answered_at) >= query.start,
            col(Answer.answered_at) < query.end,
        )
        .group_by(week, col(Answer.score))
    )
    if invitation_scope(query, teams):  # joined only to filter
        statement = statement.join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
    weeks: defaultdict[date, dict[int, int]] = defaultdict(dict)
    for start, value, count in (await session.exec(statement)).all():
        if value is not None:
            weeks[_as_date(start)][value] = count
    points = []
    for start in sorted(weeks):
        score = score_from_counts(kind, weeks[start])
        points.append(TrendPoint(week_start=start, value=score.value, n=score.n))
    return points


def _week_start(dialect: str) -> ColumnElement[object]:
    if dialect == "postgresql":
        return func.date_trunc("week", col(Answer.answered_at))  # Monday 00:00
    # SQLite: move forward to Sunday (or stay on it), then back six days: that week's Monday.
    return func.date(col(Answer.answered_at), "weekday 0", "-6 days")


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
