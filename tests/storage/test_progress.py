"""An answer and what it moves (status, language) land together, once, on both databases."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage.answers import NewAnswer, answers_for
from storage.db import Database
from storage.invitations import get_invitation, mark_sent
from storage.outages import unreachable
from storage.progress import LearntLanguage, Progress, record_progress
from storage.respondents import find_respondent
from storage.tables import InvitationStatus
from tests.storage.backends import backend_pid, terminate
from tests.storage.builders import NOON, scheduled_invitation

S = InvitationStatus


async def sent_invitation(database: Database) -> int:
    async with database.session() as session:
        invitation = await scheduled_invitation(session)
        assert invitation.id is not None
        await mark_sent(session, invitation.id, "100", NOON, NOON + timedelta(days=1))
        await session.commit()
    return invitation.id


def score(invitation_id: int, value: int = 9) -> NewAnswer:
    return NewAnswer(invitation_id, "score", "nps", value, None, None, NOON)


def comment(invitation_id: int, text: str = "quick and kind") -> NewAnswer:
    return NewAnswer(invitation_id, "why", "text", None, None, text, NOON)


async def status_and_answers(database: Database, invitation_id: int) -> tuple[str, list[str]]:
    async with database.session() as session:
        invitation = await get_invitation(session, invitation_id)
        stored = await answers_for(session, invitation_id)
    assert invitation is not None
    return invitation.status, [a.question_id for a in stored]


class TestProgress:
    async def test_first_answer_starts_the_survey_and_learns_the_language(
        self, database: Database
    ) -> None:
        invitation_id = await sent_invitation(database)
        learnt = LearntLanguage("telegram", "1001", "pl")
        first = Progress(invitation_id, score(invitation_id), S.STARTED, NOON, learnt)
        assert await record_progress(database, first)
        assert await status_and_answers(database, invitation_id) == ("started", ["score"])
        async with database.session() as session:
            respondent = await find_respondent(session, "telegram", "1001")
        assert respondent is not None and respondent.language == "pl"

    async def test_the_last_answer_completes_it(self, database: Database) -> None:
        invitation_id = await sent_invitation(database)
        await record_progress(
            database, Progress(invitation_id, score(invitation_id), S.STARTED, NOON)
        )
        last = Progress(invitation_id, comment(invitation_id), S.COMPLETED, NOON)
        assert await record_progress(database, last)
        assert await status_and_answers(database, invitation_id) == (
            "completed",
            ["score", "why"],
        )

    async def test_a_repeated_answer_stores_nothing_and_moves_nothing_back(
        self, database: Database
    ) -> None:
        invitation_id = await sent_invitation(database)
        await record_progress(
            database, Progress(invitation_id, score(invitation_id), S.STARTED, NOON)
        )
        await record_progress(database, Progress(invitation_id, None, S.COMPLETED, NOON))
        again = Progress(invitation_id, score(invitation_id, 2), S.STARTED, NOON)
        assert not await record_progress(database, again)
        assert await status_and_answers(database, invitation_id) == ("completed", ["score"])

    async def test_a_skip_only_moves_the_status(self, database: Database) -> None:
        invitation_id = await sent_invitation(database)
        skipped = Progress(invitation_id, None, S.COMPLETED, NOON)
        assert not await record_progress(database, skipped)
        assert await status_and_answers(database, invitation_id) == ("completed", [])

    async def test_nothing_to_write_writes_nothing(self, database: Database) -> None:
        invitation_id = await sent_invitation(database)
        assert not await record_progress(database, Progress(invitation_id, None, None, NOON))
        assert await status_and_answers(database, invitation_id) == ("sent", [])

    async def test_a_failed_answer_leaves_the_status_alone(self, database: Database) -> None:
        invitation_id = await sent_invitation(database)
        orphan = Progress(invitation_id, score(invitation_id + 1000), S.STARTED, NOON)
        with pytest.raises(IntegrityError):  # no such invitation: nothing lands, not half
            await record_progress(database, orphan)
        assert await status_and_answers(database, invitation_id) == ("sent", [])


async def test_an_answer_meeting_a_connection_broken_in_steady_use_is_stored_all_the_same(
    postgres_database: Database,
) -> None:
    # Whether the pool sees the hang-up at checkout (storage.db) or the statement meets it on
    # asyncpg (Database.run_idempotent drops that connection and runs it again), it is stored.
    invitation_id = await sent_invitation(postgres_database)
    broken = await backend_pid(postgres_database)  # the pool's one connection
    await terminate(postgres_database, broken)

    first = Progress(invitation_id, score(invitation_id), S.STARTED, NOON)
    assert await record_progress(postgres_database, first)
    assert await status_and_answers(postgres_database, invitation_id) == ("started", ["score"])
    assert await backend_pid(postgres_database) != broken


async def test_a_statement_whose_connection_breaks_under_it_fails_as_sqlalchemy_says(
    postgres_database: Database,
) -> None:
    # The statement ends its own backend, on asyncpg and again the ordinary way: the error is
    # SQLAlchemy's, saying the connection was dropped (a store away for now), not asyncpg's.
    suicide = select(func.pg_terminate_backend(func.pg_backend_pid()))
    with pytest.raises(DBAPIError) as caught:
        await postgres_database.run_idempotent(suicide, {})
    assert caught.value.connection_invalidated and unreachable(caught.value)
    assert await backend_pid(postgres_database) > 0  # the next one gets a fresh connection
