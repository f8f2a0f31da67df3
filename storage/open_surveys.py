"""Which survey waits for a person's next message: SQL's answer, when the cache has none."""

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import Invitation, InvitationStatus, Respondent

OPEN = (InvitationStatus.SENT.value, InvitationStatus.STARTED.value)


async def open_invitation(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> int | None:
    """The id of the person's open survey on `channel` that was shown to them last, or None.

    "Shown last" is the latest send or reminder, the survey the state store's pointer names
    while it lives (a later answer moves the pointer too; with two open surveys the cache,
    when it has one, is the better judge). One indexed query: respondents by (channel,
    external_id), their invitations by respondent.
    """
    statement = (
        select(Invitation.id)
        .join(Respondent, col(Respondent.id) == col(Invitation.respondent_id))
        .where(
            col(Respondent.channel) == channel,
            col(Respondent.external_id) == external_id,
            col(Invitation.channel) == channel,
            col(Invitation.status).in_(OPEN),
            col(Invitation.expires_at) > now,
        )
        .order_by(
            func.coalesce(col(Invitation.reminded_at), col(Invitation.sent_at)).desc(),
            col(Invitation.id).desc(),
        )
        .limit(1)
    )
    return (await session.exec(statement)).first()
