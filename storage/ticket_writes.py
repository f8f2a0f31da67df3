"""Ticket writes repository: each answer's write to its help desk case, claimed and settled once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.tables import Answer, TicketWrite, TicketWriteStatus

OPEN = (TicketWriteStatus.PENDING.value, TicketWriteStatus.WRITING.value)
# The question id of an invitation's other write: its link posted as the help desk's reply.
REPLY_QUESTION = "_reply"


async def add_ticket_write(
    session: AsyncSession,
    invitation_id: int,
    question_id: str,
    helpdesk: str,
    case_id: str,
    now: datetime,
) -> int | None:
    """The write of this answer, pending; its id, or None when it was already there (the
    unique invitation + question keeps one write per answer)."""
    values = {
        "invitation_id": invitation_id,
        "question_id": question_id,
        "helpdesk": helpdesk,
        "case_id": case_id,
        "status": TicketWriteStatus.PENDING.value,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    insert = insert_ignoring_conflicts(
        session, TicketWrite, values, ("invitation_id", "question_id")
    ).returning(col(TicketWrite.id))
    result = await session.exec(insert)
    found: int | None = result.scalar_one_or_none()
    return found


async def get_ticket_write(session: AsyncSession, write_id: int) -> TicketWrite | None:
    return await session.get(TicketWrite, write_id, populate_existing=True)


async def claim_ticket_write(session: AsyncSession, write_id: int, now: datetime) -> str | None:
    """Mark the write `writing` (one more attempt); the status it had, or None when it is
    settled already (written or failed) and nothing is to be done."""
    found = await session.exec(
        select(col(TicketWrite.status))
        .where(col(TicketWrite.id) == write_id, col(TicketWrite.status).in_(OPEN))
        .with_for_update()
    )
    before = found.one_or_none()
    if before is None:
        return None
    await session.exec(
        update(TicketWrite)
        .where(col(TicketWrite.id) == write_id)
        .values(
            status=TicketWriteStatus.WRITING.value,
            attempts=col(TicketWrite.attempts) + 1,
            updated_at=now,
        )
    )
    return str(before)


async def settle_ticket_write(
    session: AsyncSession,
    write_id: int,
    status: TicketWriteStatus,
    now: datetime,
    error: str | None = None,
    *,
    refund: bool = False,
) -> None:
    """Written, failed for good, or back to pending (to try again) with the last error.

    ``refund`` gives the claimed attempt back: the help desk asked to wait (a 429), the
    write did not fail.
    """
    values: dict[str, object] = {"status": status.value, "updated_at": now, "error": error}
    if status == TicketWriteStatus.WRITTEN:
        values["written_at"] = now
    if refund:
        values["attempts"] = col(TicketWrite.attempts) - 1
    await session.exec(update(TicketWrite).where(col(TicketWrite.id) == write_id).values(values))


async def open_ticket_writes(
    session: AsyncSession, before: datetime, limit: int = 500
) -> list[int]:
    """Writes still pending (or claimed by a process that died) untouched since `before`."""
    found = await session.exec(
        select(col(TicketWrite.id))
        .where(col(TicketWrite.status).in_(OPEN), col(TicketWrite.updated_at) < before)
        .order_by(col(TicketWrite.id))
        .limit(limit)
    )
    return [write_id for write_id in found.all() if write_id is not None]


async def ticket_writes_for_case(session: AsyncSession, case_id: str) -> list[TicketWrite]:
    """Every write to the case, oldest first (for `/why`)."""
    found = await session.exec(
        select(TicketWrite).where(col(TicketWrite.case_id) == case_id).order_by(col(TicketWrite.id))
    )
    return list(found.all())


async def ticket_write_answer(session: AsyncSession, write: TicketWrite) -> Answer | None:
    """The answer the write is of (None if it is gone)."""
    found = await session.exec(
        select(Answer).where(
            col(Answer.invitation_id) == write.invitation_id,
            col(Answer.question_id) == write.question_id,
        )
    )
    return found.first()
