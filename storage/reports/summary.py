"""A score with its context: counts, response rate, previous period, best and worst groups.

Every figure is counted in SQL, in three grouped queries: the score distribution of this
period and the previous one (conditional counts), the invitations sent, failed and answered,
and the distribution per team and agent. Python only turns counts into scores, intervals and
tests (surveys.stats, surveys.intervals, surveys.significance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.tables import Answer, Invitation, InvitationStatus
from surveys.definitions import QuestionKind
from surveys.intervals import Interval, interval
from surveys.report_query import ReportQuery
from surveys.scoring import Score
from surveys.significance import Change, compare
from surveys.stats import score_from_counts, trustworthy

__all__ = ["DEFAULT_MIN_N", "GroupScore", "ScoreSummary", "score_summary", "scored_answers"]

DEFAULT_MIN_N = 30  # CXBOT_REPORT_MIN_N's default
TOP = 3  # best and worst groups shown


@dataclass(frozen=True)
class GroupScore:
    """The score of one team or agent in the period; `change` is it against everyone else."""

    name: str
    value: float
    n: int
    change: Change | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ScoreSummary:
    """One kind's score for a query, with everything a report says about it.

    `sent` counts invitations whose `sent_at` falls in the period (same filters; only those of
    `surveys` when given); `answered` how many of those have an answer of this kind, whenever
    given. `failed` counts invitations due in the period that never reached the customer
    (`blocked` of them because the customer blocked the bot). `n` (in `score`) counts answers
    *given* in the period, so n and answered differ when invitations sent before the period
    are answered in it. `change` tests the difference from the previous period; best and worst
    list only groups whose score differs from everyone else's by more than the noise.
    """

    kind: QuestionKind
    query: ReportQuery
    score: Score
    sent: int
    answered: int
    response_rate: float | None
    previous: Score | None
    delta: float | None
    interval: Interval | None
    min_n: int
    trustworthy: bool
    best_teams: tuple[GroupScore, ...] = ()
    worst_teams: tuple[GroupScore, ...] = ()
    best_agents: tuple[GroupScore, ...] = ()
    worst_agents: tuple[GroupScore, ...] = ()
    teams: tuple[str, ...] | None = None
    failed: int = 0
    blocked: int = 0
    change: Change | None = None
    # The distinct people who gave the `n` answers (storage.reports.people); None: not asked.
    people: int | None = None


def scored_answers(
    kind: QuestionKind, query: ReportQuery, teams: Collection[str] | None
) -> list[ColumnElement[bool]]:
    """Conditions for the scores of `kind` under the query's filters (any period)."""
    return [
        col(Answer.kind) == kind.value,
        col(Answer.score).is_not(None),
        *invitation_scope(query, teams),
    ]


async def score_summary(
    session: AsyncSession,
    query: ReportQuery,
    kind: QuestionKind,
    *,
    teams: Collection[str] | None = None,
    min_n: int = DEFAULT_MIN_N,
    surveys: Collection[str] | None = None,
) -> ScoreSummary:
    """The `kind` score for `query` (restricted to `teams` for a team lead).

    `min_n` is CXBOT_REPORT_MIN_N: fewer answers mark the score as indicative, and teams or
    agents with fewer are left out of best and worst, as are those within the noise of the
    rest. `surveys` names the surveys that ask
    `kind` (surveys.report_query.surveys_asking): only their invitations count as sent.
    """
    previous_query = query.previous()
    current, earlier = await _distributions(session, query, previous_query, kind, teams)
    score = score_from_counts(kind, current)
    previous = score_from_counts(kind, earlier)
    sent, answered = await _sent_and_answered(session, query, kind, teams, surveys)
    failed, blocked = await _failed(session, query, teams, surveys)
    teams_scores, agents_scores = await _groups(session, query, kind, teams, min_n, current)
    best_teams, worst_teams = _best_and_worst(teams_scores)
    best_agents, worst_agents = _best_and_worst(agents_scores)
    delta = (
        score.value - previous.value
        if score.value is not None and previous.value is not None
        else None
    )
    return ScoreSummary(
        kind=kind,
        query=query,
        score=score,
        sent=sent,
        answered=answered,
        response_rate=answered / sent if sent else None,
        previous=previous if previous.n else None,
        delta=delta,
        interval=interval(score),
        min_n=min_n,
        trustworthy=trustworthy(score.n, min_n),
        best_teams=best_teams,
        worst_teams=worst_teams,
        best_agents=best_agents,
        worst_agents=worst_agents,
        teams=tuple(sorted(teams)) if teams is not None else None,
        failed=failed,
        blocked=blocked,
        change=compare(score, previous) if previous.n else None,
    )


async def _distributions(
    session: AsyncSession,
    query: ReportQuery,
    previous: ReportQuery,
    kind: QuestionKind,
    teams: Collection[str] | None,
) -> tuple[dict[int, int], dict[int, int]]:
    # The previous period ends where this one starts: one range, split by a conditional count.
    in_current = col(Answer.answered_at) >= query.start
    statement = (
        select(
            col(Answer.score),
            func.count().filter(in_current),
            func.count().filter(col(Answer.answered_at) < query.start),
        )
        .where(
            *scored_answers(kind, query, teams),
            col(Answer.answered_at) >= previous.start,
            col(Answer.answered_at) < query.end,
        )
        .group_by(col(Answer.score))
    )
    if invitation_scope(query, teams):
        # Without filters the scores index alone answers; the join is only for filtering.
        statement = statement.join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
    current: dict[int, int] = {}
    earlier: dict[int, int] = {}
    for value, now, before in (await session.exec(statement)).all():
        if value is not None:
            current[value], earlier[value] = now, before
    return current, earlier


async def _sent_and_answered(
    session: AsyncSession,
    query: ReportQuery,
    kind: QuestionKind,
    teams: Collection[str] | None,
    surveys: Collection[str] | None,
) -> tuple[int, int]:
    has_answer = exists().where(
        col(Answer.invitation_id) == col(Invitation.id),
        col(Answer.kind) == kind.value,
        col(Answer.score).is_not(None),
    )
    conditions = [
        col(Invitation.sent_at) >= query.start,
        col(Invitation.sent_at) < query.end,
        *invitation_scope(query, teams),
    ]
    if surveys is not None:
        conditions.append(col(Invitation.survey_id).in_(sorted(surveys)))
    statement = select(func.count(), func.count().filter(has_answer)).where(and_(*conditions))
    sent, answered = (await session.exec(statement)).one()
    return int(sent), int(answered)


async def _failed(
    session: AsyncSession,
    query: ReportQuery,
    teams: Collection[str] | None,
    surveys: Collection[str] | None,
) -> tuple[int, int]:
    # Never sent, so counted by when they were due (the status index serves it).
    blocked = col(Invitation.failure_reason).like("%blocked%")
    conditions = [
        col(Invitation.status) == InvitationStatus.FAILED.value,
        col(Invitation.sent_at).is_(None),
        col(Invitation.scheduled_at) >= query.start,
        col(Invitation.scheduled_at) < query.end,
        *invitation_scope(query, teams),
    ]
    if surveys is not None:
        conditions.append(col(Invitation.survey_id).in_(sorted(surveys)))
    statement = select(func.count(), func.count().filter(blocked)).where(and_(*conditions))
    failed, blocked_count = (await session.exec(statement)).one()
    return int(failed), int(blocked_count)


async def _groups(
    session: AsyncSession,
    query: ReportQuery,
    kind: QuestionKind,
    teams: Collection[str] | None,
    min_n: int,
    everyone: dict[int, int],
) -> tuple[list[GroupScore], list[GroupScore]]:
    statement = (
        select(col(Invitation.team), col(Invitation.agent), col(Answer.score), func.count())
        .join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
        .where(
            *scored_answers(kind, query, teams),
            col(Answer.answered_at) >= query.start,
            col(Answer.answered_at) < query.end,
        )
        .group_by(col(Invitation.team), col(Invitation.agent), col(Answer.score))
    )
    by_team: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    by_agent: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    for team, agent, value, count in (await session.exec(statement)).all():
        if value is None:
            continue
        if team is not None:
            by_team[team][value] += count
        if agent is not None:
            by_agent[agent][value] += count
    return (
        _scores(kind, by_team, min_n, everyone),
        _scores(kind, by_agent, min_n, everyone),
    )


def _scores(
    kind: QuestionKind,
    groups: dict[str, defaultdict[int, int]],
    min_n: int,
    everyone: dict[int, int],
) -> list[GroupScore]:
    """Groups with `min_n` answers, each with its change against the rest of the answers."""
    found = []
    for name, distribution in groups.items():
        score = score_from_counts(kind, distribution)
        if score.value is None or score.n < min_n:
            continue
        rest = {point: everyone.get(point, 0) - distribution.get(point, 0) for point in everyone}
        others = score_from_counts(kind, {point: count for point, count in rest.items() if count})
        change = compare(score, others) if others.n else None
        found.append(GroupScore(name, score.value, score.n, change))
    return found


def _best_and_worst(
    groups: Iterable[GroupScore],
) -> tuple[tuple[GroupScore, ...], tuple[GroupScore, ...]]:
    """Up to TOP best (highest first) and TOP worst (lowest first): groups significantly above
    or below everyone else; those within the noise are in neither.

    Ties go to the group with more answers, then by name, so the order is stable.
    """
    ranked = sorted(groups, key=lambda group: (-group.value, -group.n, group.name))
    above = [g for g in ranked if g.change is not None and g.change.low > 0]
    below = [g for g in reversed(ranked) if g.change is not None and g.change.high < 0]
    return tuple(above[:TOP]), tuple(below[:TOP])
