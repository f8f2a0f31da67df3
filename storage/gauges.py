"""What SQL knows about the work at this moment, for /metrics: counts, not rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import Invitation, InvitationStatus


@dataclass(frozen=True)
class Backlog:
    """Invitations due to be sent and not sent yet: how many, and the oldest one's due time."""

    due: int
    oldest_due_at: datetime | None


async def invitations_by_status(session: AsyncSession) -> dict[tuple[str, str], int]:
    """``{(channel, status): count}`` over every invitation stored."""
    statement = select(Invitation.channel, Invitation.status, func.count()).group_by(
        col(Invitation.channel), col(Invitation.status)
    )
    rows = (await session.exec(statement)).all()
    return {(channel, status): count for channel, status, count in rows}


async def due_backlog(session: AsyncSession, now: datetime) -> Backlog:
    """Scheduled invitations whose time has come (``now`` naive UTC): the send queue's truth.

    Served by the (status, scheduled_at) index, as the senders' own scan is.
    """
    statement = select(func.count(), func.min(Invitation.scheduled_at)).where(
        col(Invitation.status) == InvitationStatus.SCHEDULED.value,
        col(Invitation.scheduled_at) <= now,
    )
    due, oldest = (await session.exec(statement)).one()
    return Backlog(int(due), oldest)
