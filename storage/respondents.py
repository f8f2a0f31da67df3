"""Respondents repository: find or create the person behind a channel user id."""

from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.sql.dml import Update
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.db import insert_ignoring_conflicts
from storage.tables import Respondent


async def upsert_respondent(
    session: AsyncSession, channel: str, external_id: str, language: str | None = None
) -> Respondent:
    """Return the respondent for (channel, external_id), creating it if new.

    A given `language` replaces the stored one. Two sessions racing on the same user get one
    row: the unique constraint decides, not a prior SELECT.
    """
    now = utcnow()
    await session.exec(
        insert_ignoring_conflicts(
            session,
            Respondent,
            {
                "channel": channel,
                "external_id": external_id,
                "language": language,
                "created_at": now,
                "updated_at": now,
            },
            ("channel", "external_id"),
        )
    )
    respondent = await find_respondent(session, channel, external_id)
    if respondent is None:  # pragma: no cover - the row was just inserted or already there
        raise LookupError(f"respondent {channel}:{external_id} vanished after insert")
    if language is not None and respondent.language != language:
        respondent.language = language
        respondent.updated_at = utcnow()
        session.add(respondent)
        await session.flush()
    return respondent


async def remember_language(
    session: AsyncSession, channel: str, external_id: str, language: str
) -> bool:
    """Store `language` for a known respondent; True if it changed.

    One UPDATE, no SELECT: the runner calls it on the first answer of every survey. A
    Respondent this session already loaded is not refreshed.
    """
    result = await session.exec(
        language_statement(), params=language_values(channel, external_id, language)
    )
    return result.rowcount > 0


def language_values(channel: str, external_id: str, language: str) -> dict[str, object]:
    """The parameters of `language_statement`."""
    return {
        "the_channel": channel,
        "the_external_id": external_id,
        "new_language": language,
        "new_updated_at": utcnow(),
    }


@cache
def language_statement() -> Update:
    """The UPDATE that `remember_language` runs, built once (`language_values` binds it)."""
    respondents = Respondent.metadata.tables["respondents"]
    return (
        update(respondents)
        .where(
            respondents.c.channel == bindparam("the_channel"),
            respondents.c.external_id == bindparam("the_external_id"),
            respondents.c.language.is_distinct_from(bindparam("new_language")),
        )
        .values(language=bindparam("new_language"), updated_at=bindparam("new_updated_at"))
    )


async def get_respondent(session: AsyncSession, respondent_id: int) -> Respondent | None:
    """The respondent with this id, or None."""
    return await session.get(Respondent, respondent_id)


async def find_respondent(
    session: AsyncSession, channel: str, external_id: str
) -> Respondent | None:
    """The respondent known on `channel` as `external_id`, or None."""
    statement = (
        select(Respondent)
        .where(col(Respondent.channel) == channel, col(Respondent.external_id) == external_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()
