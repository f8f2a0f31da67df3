"""How many people gave a report's answers: a person known on several channels counts once."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.summary import scored_answers
from storage.tables import Answer, Invitation, Respondent
from surveys.definitions import QuestionKind
from surveys.report_query import ReportQuery

__all__ = ["people_answering"]


async def people_answering(
    session: AsyncSession,
    query: ReportQuery,
    kind: QuestionKind,
    teams: Collection[str] | None = None,
) -> int:
    """The distinct people behind the `kind` scores given in the query's period: linked
    addresses (storage.people) count as one person, an unlinked address as its own."""
    statement = (
        select(
            func.count(func.distinct(col(Respondent.person_id))),
            func.count(func.distinct(col(Respondent.id))).filter(
                col(Respondent.person_id).is_(None)
            ),
        )
        .select_from(Answer)
        .join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
        .join(Respondent, col(Respondent.id) == col(Invitation.respondent_id))
        .where(
            *scored_answers(kind, query, teams),
            col(Answer.answered_at) >= query.start,
            col(Answer.answered_at) < query.end,
        )
    )
    linked, alone = (await session.exec(statement)).one()
    return int(linked) + int(alone)
