"""A score week by week (ISO weeks, starting Monday at midnight in the reporting time zone),
counted in one grouped query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.reports.summary import scored_answers
from storage.tables import Answer, Invitation
from surveys.definitions import QuestionKind
from surveys.local_time import offset_changes
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
    week = _week_start(session.get_bind().dialect.name, query)
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


def _week_start(dialect: str, query: ReportQuery) -> ColumnElement[object]:
    answered = col(Answer.answered_at)
    zone = query.timezone
    if dialect == "postgresql":
        # naive UTC -> timestamptz -> the zone's wall time; then its Monday 00:00.
        local = func.timezone(zone, func.timezone("UTC", answered))
        return func.date_trunc("week", local)
    # SQLite has no time zones: shift by the zone's offset, which is constant between the
    # changes of the clocks inside the period (none for UTC, two a year for Europe/Warsaw).
    changes = offset_changes(query.start, query.end, zone)
    shifts = [_modifier(offset.total_seconds()) for _, offset in changes]
    shift: ColumnElement[str] | str = shifts[0]
    if len(changes) > 1:
        shift = case(
            *((answered < moment, shifts[i]) for i, (moment, _) in enumerate(changes[1:])),
            else_=shifts[-1],
        )
    # Move forward to Sunday (or stay on it), then back six days: that week's Monday.
    return func.date(answered, shift, "weekday 0", "-6 days")


def _modifier(seconds: float) -> str:
    return f"{int(seconds) // 60:+d} minutes"


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
