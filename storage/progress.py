"""One answer and what it moves, written as one unit: the answer row, the invitation's status
and the respondent's language.

Unlike the repositories, this owns its transaction: it is the answer path's whole unit of
work, and the cheapest way to make it atomic depends on the database. On PostgreSQL it is a
single statement (data-modifying WITH), atomic by itself, sent on an autocommit connection:
one round trip instead of BEGIN, two or three statements and COMMIT. SQLite has no DML in WITH,
so there the same statements run in one transaction.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.answers import NewAnswer, answer_values, record_answer_statement
from storage.db import Database
from storage.invitations import answer_transition_statement, answer_transition_values
from storage.respondents import language_statement, language_values
from storage.tables import InvitationStatus


@dataclass(frozen=True)
class LearntLanguage:
    """The language a respondent's client reported with their first answer."""

    channel: str
    external_id: str
    language: str


@dataclass(frozen=True)
class Progress:
    """What one reply writes: an answer (None for a skipped question), the invitation's next
    status (STARTED with the first answer, COMPLETED with the last, else None) and a language
    to remember."""

    invitation_id: int
    answer: NewAnswer | None
    status: InvitationStatus | None
    at: datetime
    language: LearntLanguage | None = None

    @property
    def empty(self) -> bool:
        return self.answer is None and self.status is None and self.language is None


async def record_progress(database: Database, progress: Progress) -> bool:
    """Write `progress` atomically; True if its answer was new.

    False when there was no answer or this question had one already (a double tap, a
    redelivered update): then the answer row is left as it was, while the status and language
    writes, conditional on the row's current values, still apply.
    """
    if progress.empty:
        return False
    params = _params(progress)
    if database.dialect == "postgresql":
        statement = _postgresql_statement(
            progress.answer is not None, progress.status, progress.language is not None
        )
        # Every part is idempotent (the answer's ON CONFLICT DO NOTHING, the status and
        # language UPDATEs conditional on the row's values), so it may run twice.
        found = await database.run_idempotent(statement, params)
        return progress.answer is not None and found is not None
    async with database.engine.begin() as conn:
        return await _in_steps(conn, progress, params)


async def _in_steps(conn: AsyncConnection, progress: Progress, params: dict[str, object]) -> bool:
    created = False
    if progress.answer is not None:
        statement = record_answer_statement(conn.dialect.name)
        created = (await conn.execute(statement, params)).first() is not None
    if progress.status is not None:
        await conn.execute(answer_transition_statement(progress.status), params)
    if progress.language is not None:
        await conn.execute(language_statement(), params)
    return created


def _params(progress: Progress) -> dict[str, object]:
    params: dict[str, object] = {}
    if progress.answer is not None:
        params.update(answer_values(progress.answer))
    if progress.status is not None:
        params.update(
            answer_transition_values(progress.invitation_id, progress.status, progress.at)
        )
    if progress.language is not None:
        learnt = progress.language
        params.update(language_values(learnt.channel, learnt.external_id, learnt.language))
    return params


@cache
def _postgresql_statement(
    answer: bool, status: InvitationStatus | None, language: bool
) -> Select[tuple[int]]:
    # Every data-modifying part of a WITH runs exactly once and to completion, whether or not
    # the main SELECT reads it; all parts see the same snapshot and commit together.
    parts = []
    if answer:
        parts.append(record_answer_statement("postgresql").cte("new_answer"))
    if status is not None:
        parts.append(answer_transition_statement(status).returning(literal(1)).cte("moved"))
    if language:
        parts.append(language_statement().returning(literal(1)).cte("learnt"))
    # The answer's id when one was inserted; otherwise a row per other part that changed.
    return select(parts[0].c[0]).add_cte(*parts[1:])
