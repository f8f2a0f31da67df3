"""Test data builders for the storage tests."""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.invitations import NewInvitation, create_invitation
from storage.respondents import upsert_respondent
from storage.tables import Invitation

NOON = datetime(2026, 11, 22, 12, 0, 0)


def new_invitation(respondent_id: int, case_id: str = "T-1", **overrides: Any) -> NewInvitation:
    """A NewInvitation for the NPS survey on Telegram, due at NOON unless overridden."""
    values: dict[str, Any] = {
        "survey_id": "nps",
        "case_id": case_id,
        "channel": "telegram",
        "address": "1001",
        "respondent_id": respondent_id,
        "language": None,
        "attributes": {},
        "scheduled_at": NOON,
    }
    values.update(overrides)
    return NewInvitation(**values)


async def scheduled_invitation(
    session: AsyncSession, case_id: str = "T-1", **overrides: Any
) -> Invitation:
    """Create a respondent and one scheduled invitation for it (the caller commits)."""
    respondent = await upsert_respondent(session, "telegram", "1001")
    assert respondent.id is not None
    invitation, created = await create_invitation(
        session, new_invitation(respondent.id, case_id, **overrides)
    )
    assert created
    return invitation
