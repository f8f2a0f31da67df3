"""The comments behind a score: latest first, with the score, case and agent, paged."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased, join
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.tables import Answer, Invitation
from surveys.definitions import QuestionKind
from surveys.report_query import ReportQuery

__all__ = ["DETRACTOR_MAX", "Comment", "CommentsPage", "comments_page"]

# The highest score that makes a detractor, per kind (CXBOT_ALERT_*_MAX's defaults).
DETRACTOR_MAX = {QuestionKind.NPS: 6, QuestionKind.CSAT: 2, QuestionKind.CES: 3}


@dataclass(frozen=True)
class Comment:
    """One comment with the score its writer gave in the same invitation (if any)."""

    answered_at: datetime
    kind: QuestionKind | None
    score: int | None
    text: str
    case_id: str
    agent: str | None
    team: str | None


@dataclass(frozen=True)
class CommentsPage:
    """One page of comments; `pages` is 0 when there are none."""

    query: ReportQuery
    items: tuple[Comment, ...]
    page: int
    pages: int
    total: int
    page_size: int


async def comments_page(
    session: AsyncSession,
    query: ReportQuery,
    *,
    teams: Collection[str] | None = None,
    page_size: int = 5,
    nps_max: int = DETRACTOR_MAX[QuestionKind.NPS],
    csat_max: int = DETRACTOR_MAX[QuestionKind.CSAT],
    ces_max: int = DETRACTOR_MAX[QuestionKind.CES],
) -> CommentsPage:
    """Page `query.page` of the comments written in the period, latest first.

    A comment is a non-empty `text` answer; its score is the first score answer of
    `query.kinds` in the same invitation. `query.detractors_only` keeps comments whose score
    is at or below the kind's maximum (`nps_max`, `csat_max`, `ces_max`).
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    comment = aliased(Answer, name="comment")
    scored = aliased(Answer, name="scored")
    first_score = aliased(Answer, name="first_score")
    kinds = [kind.value for kind in query.kinds]
    # The invitation's first score answer (a custom survey may ask two scales).
    first_score_id = (
        select(func.min(col(first_score.id)))
        .where(
            col(first_score.invitation_id) == col(comment.invitation_id),
            col(first_score.kind).in_(kinds),
            col(first_score.score).is_not(None),
        )
        .scalar_subquery()
    )
    conditions: list[ColumnElement[bool]] = [
        col(comment.kind) == QuestionKind.TEXT.value,
        col(comment.text).is_not(None),
        col(comment.text) != "",
        col(comment.answered_at) >= query.start,
        col(comment.answered_at) < query.end,
        *invitation_scope(query, teams),
    ]
    if query.detractors_only:
        limits = {QuestionKind.NPS: nps_max, QuestionKind.CSAT: csat_max, QuestionKind.CES: ces_max}
        conditions.append(
            or_(
                *(
                    and_(col(scored.kind) == kind.value, col(scored.score) <= limits[kind])
                    for kind in query.kinds
                )
            )
        )

    source = join(comment, Invitation, col(Invitation.id) == col(comment.invitation_id)).outerjoin(
        scored, col(scored.id) == first_score_id
    )
    total = (await session.exec(select(func.count()).select_from(source).where(*conditions))).one()
    offset = (query.page - 1) * page_size
    if offset >= total:
        # Past the last page: nothing to read, and an offset beyond the database's 64-bit
        # integer (page=99999999999999999999) would make PostgreSQL and SQLite refuse the query.
        return CommentsPage(query, (), query.page, math.ceil(total / page_size), total, page_size)
    # Seven columns are more than sqlmodel's select() types; SQLAlchemy's runs on the
    # session's own connection, in the same transaction.
    connection = await session.connection()
    rows = await connection.execute(
        sa_select(
            col(comment.answered_at),
            col(scored.kind),
            col(scored.score),
            col(comment.text),
            col(Invitation.case_id),
            col(Invitation.agent),
            col(Invitation.team),
        )
        .select_from(source)
        .where(*conditions)
        .order_by(col(comment.answered_at).desc(), col(comment.id).desc())
        .offset(offset)
        .limit(page_size)
    )
    items = tuple(
        Comment(
            answered_at=answered_at,
            kind=QuestionKind(kind) if kind is not None else None,
            score=score,
            text=text or "",
            case_id=case_id,
            agent=agent,
            team=team,
        )
        for answered_at, kind, score, text, case_id, agent, team in rows.all()
    )
    return CommentsPage(
        query=query,
        items=items,
        page=query.page,
        pages=math.ceil(total / page_size),
        total=total,
        page_size=page_size,
    )
