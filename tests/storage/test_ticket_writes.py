"""Ticket writes: one per answer, claimed while open, settled once."""

from datetime import timedelta

from storage.db import Database
from storage.tables import TicketWriteStatus
from storage.ticket_writes import (
    add_ticket_write,
    claim_ticket_write,
    get_ticket_write,
    open_ticket_writes,
    settle_ticket_write,
    ticket_writes_for_case,
)
from tests.storage.builders import NOON, scheduled_invitation


async def test_each_answer_gets_one_write_however_often_it_is_added(database: Database) -> None:
    async with database.session() as session:
        invitation = await scheduled_invitation(session, "35436")
        assert invitation.id is not None
        first = await add_ticket_write(session, invitation.id, "score", "zendesk", "35436", NOON)
        again = await add_ticket_write(session, invitation.id, "score", "zendesk", "35436", NOON)
        other = await add_ticket_write(session, invitation.id, "why", "zendesk", "35436", NOON)
        await session.commit()
    assert first is not None and other is not None and first != other
    assert again is None


async def test_a_settled_write_is_not_claimed_again(database: Database) -> None:
    async with database.session() as session:
        invitation = await scheduled_invitation(session, "4711")
        assert invitation.id is not None
        write_id = await add_ticket_write(
            session, invitation.id, "score", "freshdesk", "4711", NOON
        )
        assert write_id is not None
        assert await claim_ticket_write(session, write_id, NOON) == "pending"
        assert await claim_ticket_write(session, write_id, NOON) == "writing"  # a dead claim
        later = NOON + timedelta(minutes=5)
        assert await open_ticket_writes(session, later) == [write_id]
        await settle_ticket_write(session, write_id, TicketWriteStatus.WRITTEN, later)
        assert await claim_ticket_write(session, write_id, later) is None
        assert await open_ticket_writes(session, later + timedelta(hours=1)) == []
        row = await get_ticket_write(session, write_id)
        await session.commit()
    assert row is not None and (row.status, row.attempts, row.written_at) == ("written", 2, later)
    async with database.session() as session:
        assert [w.id for w in await ticket_writes_for_case(session, "4711")] == [write_id]
