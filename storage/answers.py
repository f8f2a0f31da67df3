"""Answers repository: record each answer once, read them back, pull scores."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_ignoring_conflicts_statement
from storage.tables import Answer, Invitation


@dataclass(frozen=True)
class NewAnswer:
    """One answer as the conversation produced it."""

    invitation_id: int
    question_id: str
    kind: str
    score: int | None
    choice: str | None
    text: str | None
    answered_at: datetime


async def record_answer(session: AsyncSession, new: NewAnswer) -> bool:
    """Store `new`; False (and nothing stored) if this question already has an answer.

    A double tap or a redelivered update hits the unique (invitation_id, question_id).
    """
    insert = record_answer_statement(session.get_bind().dialect.name)
    result = await session.exec(insert, params=answer_values(new))
    return result.scalar_one_or_none() is not None


COLUMNS = ("invitation_id", "question_id", "kind", "score", "choice", "text", "answered_at")


def answer_values(new: NewAnswer) -> dict[str, object]:
    """The parameters of `record_answer_statement` for `new`."""
    return {f"answer_{name}": getattr(new, name) for name in COLUMNS}


@cache
def record_answer_statement(dialect: str) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING id` of one answer, its values bound as
    `answer_values` names them (explicit parameters: it can also be part of a WITH)."""
    # Built once: each answer only binds its values, and SQLAlchemy reuses the compiled SQL
    # (building the statement anew cost more than running it; this is one per answer).
    # On the table, not the model: a plain Core statement skips the ORM's bulk-insert machinery.
    answers = Answer.metadata.tables["answers"]
    return (
        insert_ignoring_conflicts_statement(dialect, answers, ("invitation_id", "question_id"))
        .values({name: bindparam(f"answer_{name}") for name in COLUMNS})
        .returning(answers.c.id)
    )


async def answers_for(session: AsyncSession, invitation_id: int) -> list[Answer]:
    """The answers of one invitation, in the order they were given."""
    statement = (
        select(Answer).where(col(Answer.invitation_id) == invitation_id).order_by(col(Answer.id))
    )
    return list((await session.exec(statement)).all())


async def scores(
    session: AsyncSession,
    kind: str,
    *,
    survey_id: str | None = None,
    since: datetime | None = None,
) -> list[int]:
    """Every non-null score of answers of `kind`, optionally of one survey and since a time."""
    statement = (
        select(Answer.score)
        .where(col(Answer.kind) == kind, col(Answer.score).is_not(None))
        .order_by(col(Answer.id))
    )
    if survey_id is not None:
        statement = statement.join(
            Invitation, col(Invitation.id) == col(Answer.invitation_id)
        ).where(col(Invitation.survey_id) == survey_id)
    if since is not None:
        statement = statement.where(col(Answer.answered_at) >= since)
    return [score for score in (await session.exec(statement)).all() if score is not None]
