"""The survey waiting for a person's next message, as SQL knows it."""

from datetime import timedelta

from storage.db import Database
from storage.invitations import mark_completed, mark_reminded, mark_sent
from storage.open_surveys import open_invitation
from storage.respondents import upsert_respondent
from tests.storage.builders import NOON, scheduled_invitation

DAY = timedelta(days=1)


async def sent(database: Database, case_id: str, at_hours: float) -> int:
    """An invitation to customer 1001 on Telegram, sent `at_hours` after NOON, open 3 days."""
    async with database.session() as session:
        invitation = await scheduled_invitation(session, case_id)
        assert invitation.id is not None
        at = NOON + timedelta(hours=at_hours)
        assert await mark_sent(session, invitation.id, "m1", at, at + 3 * DAY)
        await session.commit()
    return invitation.id


async def waiting(
    database: Database, external_id: str = "1001", *, now_days: float = 0
) -> int | None:
    async with database.session() as session:
        return await open_invitation(
            session, "telegram", external_id, NOON + now_days * DAY + timedelta(hours=5)
        )


async def test_the_survey_shown_last_waits(database: Database) -> None:
    first = await sent(database, "T-1", 0)
    second = await sent(database, "T-2", 1)
    assert await waiting(database) == second
    async with database.session() as session:  # reminded later: shown last again
        assert await mark_reminded(session, first, NOON + timedelta(hours=2))
        await session.commit()
    assert await waiting(database) == first


async def test_finished_expired_or_someone_elses_surveys_do_not_wait(database: Database) -> None:
    invitation_id = await sent(database, "T-1", 0)
    assert await waiting(database, "2002") is None  # another customer
    assert await waiting(database, now_days=4) is None  # past its expiry
    async with database.session() as session:
        await upsert_respondent(session, "slack", "1001")  # the same id on another channel
        assert await open_invitation(session, "slack", "1001", NOON) is None
        assert await mark_completed(session, invitation_id, NOON + timedelta(hours=1))
        await session.commit()
    assert await waiting(database) is None
